/**
 * A training run's progress from its records: metrics.json (one entry per finished epoch) and steps.jsonl
 * (one line per optimiser step). For `diffusionner progress RUN_DIR`, so a long background run can be
 * followed, and the per-epoch losses quoted in docs/RESULTS.md come from a command rather than by hand.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StepRecord { step: number; loss: number; classification: number; boundary: number }
/** What the trainer writes per epoch; `steps` is the cumulative step count at the epoch's end. */
export interface EpochRecord { epoch: number; steps: number; trainSeconds: number; trainSentencesPerSecond: number; complete?: boolean; dev?: { micro: { f1: number }; threshold: number } }
export interface RunRecords {
  state: string;
  /** Why a `stopped` run stopped: 'signal' (a stop request: SIGINT, SIGTERM) or 'maxSteps'; absent in runs written before it was recorded. */
  stoppedBy?: string;
  epochs: EpochRecord[]; steps: StepRecord[]; test?: { threshold: number; micro: { precision: number; recall: number; f1: number } };
}

export interface EpochSummary {
  epoch: number;
  /** Optimiser steps in this epoch (a batch without entities takes none, so epochs differ by a step or so). */
  steps: number;
  /** Means over the epoch's steps; NaN where steps.jsonl holds none of them. */
  loss: number; classification: number; boundary: number;
  seconds?: number; sentencesPerSecond?: number; devF1?: number; devThreshold?: number;
  /** The epoch the run is in now: after the last finished one, up to the last recorded step. */
  current?: true;
}

/**
 * Per-epoch step counts and mean losses. A resumed run appends steps again from its checkpoint, so a step
 * may be recorded twice: the later record is the one the run went on from.
 */
export function summariseEpochs(epochs: readonly EpochRecord[], steps: readonly StepRecord[]): EpochSummary[] {
  const byStep = new Map<number, StepRecord>();
  let lastStep = 0; // a loop, not Math.max(...keys): a long run's ~10^5 steps would overflow the argument list
  for (const s of steps) { byStep.set(s.step, s); lastStep = Math.max(lastStep, s.step); }
  const mean = (from: number, to: number) => {
    const sums = { loss: 0, classification: 0, boundary: 0 };
    let n = 0;
    for (let k = from + 1; k <= to; k++) {
      const s = byStep.get(k);
      if (!s) continue;
      sums.loss += s.loss; sums.classification += s.classification; sums.boundary += s.boundary; n++;
    }
    return { loss: sums.loss / n, classification: sums.classification / n, boundary: sums.boundary / n };
  };
  const out: EpochSummary[] = [];
  let before = 0;
  for (const e of epochs) {
    out.push({
      epoch: e.epoch, steps: e.steps - before, ...mean(before, e.steps), seconds: e.trainSeconds, sentencesPerSecond: e.trainSentencesPerSecond,
      ...(e.dev ? { devF1: e.dev.micro.f1, devThreshold: e.dev.threshold } : {}),
    });
    before = e.steps;
  }
  if (lastStep > before) out.push({ epoch: (epochs.at(-1)?.epoch ?? 0) + 1, steps: lastStep - before, ...mean(before, lastStep), current: true });
  return out;
}

/** Reads a run folder's records; a malformed line is an error naming the file and line. */
export function readRunRecords(dir: string): RunRecords {
  const metricsFile = join(dir, 'metrics.json'), stepsFile = join(dir, 'steps.jsonl');
  if (!existsSync(dir)) throw new Error(`${dir}: no such run folder`);
  if (!existsSync(metricsFile) && !existsSync(stepsFile)) throw new Error(`${dir}: not a training run folder (no metrics.json or steps.jsonl)`);
  let metrics: { state: string; stoppedBy?: string; epochs: EpochRecord[]; test?: RunRecords['test'] } = { state: 'training', epochs: [] };
  if (existsSync(metricsFile)) {
    try { metrics = JSON.parse(readFileSync(metricsFile, 'utf8')); } catch (e) { throw new Error(`${metricsFile}: not valid JSON (${(e as Error).message})`); }
    if (!Array.isArray(metrics.epochs)) throw new Error(`${metricsFile}: no "epochs" list`);
    metrics.epochs.forEach((e, i) => {
      for (const k of ['epoch', 'steps', 'trainSeconds'] as const) if (typeof e?.[k] !== 'number') throw new Error(`${metricsFile}: epochs[${i}].${k} is not a number`);
    });
  }
  const steps: StepRecord[] = [];
  if (existsSync(stepsFile)) {
    const lines = readFileSync(stepsFile, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let r: StepRecord;
      try { r = JSON.parse(line); } catch {
        // A run being written (or copied) mid-line leaves a partial last line: that step is simply not there yet.
        if (i === lines.length - 1) return;
        throw new Error(`${stepsFile}:${i + 1}: not a JSON line`);
      }
      for (const k of ['step', 'loss', 'classification', 'boundary'] as const) if (typeof r[k] !== 'number') throw new Error(`${stepsFile}:${i + 1}: field "${k}" is not a number`);
      steps.push(r);
    });
  }
  return { state: metrics.state, ...(metrics.stoppedBy ? { stoppedBy: metrics.stoppedBy } : {}), epochs: metrics.epochs, steps, ...(metrics.test ? { test: metrics.test } : {}) };
}

/** Why a stopped run stopped, in words (after its state). */
function stopReason(by: string | undefined): string {
  if (by === 'signal') return ' (by a signal; train --resume continues it)';
  if (by === 'maxSteps') return ' (at train.maxSteps)';
  return by ? ` (by ${by})` : '';
}

/** The table `diffusionner progress` prints. */
export function formatProgress(r: RunRecords): string {
  const rows = summariseEpochs(r.epochs, r.steps);
  const hasDev = rows.some((x) => x.devF1 !== undefined);
  const f = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
  const header = ['epoch', 'steps', 'seconds', 'sent/s', 'loss', 'classification', 'boundary', ...(hasDev ? ['dev F1 (φ)'] : [])];
  const cells = rows.map((x) => [
    x.current ? `${x.epoch} (now)` : String(x.epoch), String(x.steps), f(x.seconds, 0), f(x.sentencesPerSecond, 1),
    f(x.loss, 3), f(x.classification, 3), f(x.boundary, 3), ...(hasDev ? [x.devF1 === undefined ? '-' : `${x.devF1.toFixed(2)} (${x.devThreshold})`] : []),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...cells.map((c) => c[j].length)));
  const line = (c: string[]) => c.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ');
  const out = [line(header), ...cells.map(line)];
  const total = rows.reduce((s, x) => s + x.steps, 0);
  out.push(`state: ${r.state}${stopReason(r.stoppedBy)}; ${r.epochs.length} epoch(s) finished, ${total} optimiser steps so far`);
  if (r.test) out.push(`test (φ ${r.test.threshold}): P ${r.test.micro.precision.toFixed(2)} R ${r.test.micro.recall.toFixed(2)} F1 ${r.test.micro.f1.toFixed(2)}`);
  return out.join('\n');
}
