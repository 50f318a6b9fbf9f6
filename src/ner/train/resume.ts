/**
 * What makes `train --resume` continue the run it claims to: the checkpoint's epoch order indexes the
 * training set, its model fixes the types, and the config's model section was read when the run began,
 * so a resume over other data, other types or another model section is refused with what changed (use
 * --init to start a new run from the weights). epochs and maxSteps sized its learning-rate schedule: a
 * change is refused too, unless --reschedule accepts it. And there must be a checkpoint to resume.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Sentence } from '../data.js';
import { hasCheckpoint } from './checkpoint.js';

export interface TrainDataFingerprint { sentences: number; sha256: string }

/** The training set as the trainer sees it (after long sentences are cut): its size and a hash of its tokens and entities. */
export function trainDataFingerprint(sentences: readonly Sentence[]): TrainDataFingerprint {
  const hash = createHash('sha256');
  for (const s of sentences) hash.update(JSON.stringify([s.tokens, s.entities.map((e) => [e.start, e.end, e.type])]) + '\n');
  return { sentences: sentences.length, sha256: hash.digest('hex') };
}

/** What a checkpoint records of the inputs its run began with. */
export interface RunInputs { trainData: TrainDataFingerprint; model: Record<string, unknown> }

/** What the learning-rate schedule's length is computed from (train.epochs and train.maxSteps; null: unset). */
export interface Schedule { epochs: number; maxSteps: number | null }

/**
 * `--resume` where `out` holds no checkpoint is an error: starting afresh would hide a mistyped --out, or
 * a run that never reached its first checkpoint.
 */
export function checkResumable(out: string): void {
  if (hasCheckpoint(out)) return;
  const why = !existsSync(out) ? 'no such folder' : existsSync(join(out, 'train.log')) ? 'its run wrote no checkpoint' : 'no checkpoint.json';
  throw new Error(`${out}: nothing to resume (${why}); drop --resume to start a new run there`);
}

export interface ResumeCheck {
  checkpoint: string;
  /** The checkpoint's model types and the data's. */
  modelTypes: string[]; types: string[];
  /** This invocation's inputs, and what the checkpoint recorded (older checkpoints: only their epoch order's length). */
  now: RunInputs; recorded?: RunInputs; orderLength: number;
  /** The schedule now and as recorded (older checkpoints: unrecorded, so unchecked); `reschedule` accepts a change. */
  schedule?: { now: Schedule; recorded?: Schedule; reschedule?: boolean };
}

/** How the schedule changed, as `maxSteps 2 -> 4`; empty when it did not. */
function scheduleChanges(was: Schedule, now: Schedule): string[] {
  return (['epochs', 'maxSteps'] as const).filter((k) => was[k] !== now[k]).map((k) => `${k} ${was[k] ?? '(unset)'} -> ${now[k] ?? '(unset)'}`);
}

/** Refuses a resume that would not continue the run; returns the schedule changes `reschedule` accepted. */
export function checkResume(c: ResumeCheck): string[] {
  const refuse = (what: string) => {
    throw new Error(`${c.checkpoint}: cannot resume: ${what} (resume with the run's own config and data, or start a new run from its weights with --init)`);
  };
  if (c.modelTypes.join(' ') !== c.types.join(' ')) refuse(`the model's types (${c.modelTypes.join(' ')}) differ from the data's (${c.types.join(' ')})`);
  const { now, recorded } = c;
  if (recorded) {
    const keys = [...new Set([...Object.keys(recorded.model), ...Object.keys(now.model)])].sort();
    const changed = keys.filter((k) => JSON.stringify(recorded.model[k]) !== JSON.stringify(now.model[k]))
      .map((k) => `${k} ${JSON.stringify(recorded.model[k]) ?? '(unset)'} -> ${JSON.stringify(now.model[k]) ?? '(unset)'}`);
    if (changed.length) refuse(`the config's model section changed since the run began: ${changed.join(', ')}`);
    const [was, is] = [recorded.trainData, now.trainData];
    if (was.sentences !== is.sentences || was.sha256 !== is.sha256) {
      refuse(`the training set changed: ${is.sentences} sentences now, ${was.sentences} when the run began${was.sentences === is.sentences ? ' (same count, other content)' : ''}`);
    }
  } else if (c.orderLength > 0 && c.orderLength !== now.trainData.sentences) {
    refuse(`the training set changed: ${now.trainData.sentences} sentences now, ${c.orderLength} in the checkpoint's epoch order`);
  }
  // epochs and maxSteps size the warm-up and decay: a change would silently alter every later step's rate.
  const s = c.schedule, changed = s?.recorded ? scheduleChanges(s.recorded, s.now) : [];
  if (changed.length && !s?.reschedule) {
    throw new Error(`${c.checkpoint}: cannot resume: the learning-rate schedule would change: ${changed.join(', ')} (resume with the run's own --epochs and --max-steps, or add --reschedule to re-size the schedule)`);
  }
  return changed;
}
