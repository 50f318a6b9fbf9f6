/**
 * What makes `train --resume` continue the run it claims to: the checkpoint's epoch order indexes the
 * training set, its model fixes the types, and the config's model section was read when the run began,
 * so a resume over other data, other types or another model section is refused with what changed (use
 * --init to start a new run from the weights).
 */
import { createHash } from 'node:crypto';
import type { Sentence } from '../data.js';

export interface TrainDataFingerprint { sentences: number; sha256: string }

/** The training set as the trainer sees it (after long sentences are cut): its size and a hash of its tokens and entities. */
export function trainDataFingerprint(sentences: readonly Sentence[]): TrainDataFingerprint {
  const hash = createHash('sha256');
  for (const s of sentences) hash.update(JSON.stringify([s.tokens, s.entities.map((e) => [e.start, e.end, e.type])]) + '\n');
  return { sentences: sentences.length, sha256: hash.digest('hex') };
}

/** What a checkpoint records of the inputs its run began with. */
export interface RunInputs { trainData: TrainDataFingerprint; model: Record<string, unknown> }

export interface ResumeCheck {
  checkpoint: string;
  /** The checkpoint's model types and the data's. */
  modelTypes: string[]; types: string[];
  /** This invocation's inputs, and what the checkpoint recorded (older checkpoints: only their epoch order's length). */
  now: RunInputs; recorded?: RunInputs; orderLength: number;
}

export function checkResume(c: ResumeCheck): void {
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
}
