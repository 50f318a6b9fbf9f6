import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { formatProgress, readRunRecords, summariseEpochs, type EpochRecord, type StepRecord } from '../../src/ner/train/run-progress.js';

const s = suite('run progress');
const dir = mkdtempSync(join(tmpdir(), 'dner-progress-'));
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const record = (step: number, loss: number): StepRecord => ({ step, loss, classification: loss / 4, boundary: (3 * loss) / 4 });

s('each epoch gets its own steps and their mean losses; a resumed run\'s re-recorded steps count once, the later record winning', () => {
  // epochLengths: steps per finished epoch; then a partial epoch; stops: steps re-recorded after resumes.
  const shape = fc.record({
    epochLengths: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 5 }),
    partial: fc.integer({ min: 0, max: 6 }),
    resumes: fc.array(fc.record({ from: fc.nat(), back: fc.integer({ min: 1, max: 4 }) }), { maxLength: 3 }),
  });
  fc.assert(fc.property(shape, ({ epochLengths, partial, resumes }) => {
    const epochs: EpochRecord[] = [];
    let total = 0;
    epochLengths.forEach((n, i) => { total += n; epochs.push({ epoch: i + 1, steps: total, trainSeconds: 10 * n, trainSentencesPerSecond: 1 }); });
    const last = total + partial;
    const truth = new Map<number, number>();
    const records: StepRecord[] = [];
    for (let k = 1; k <= last; k++) { records.push(record(k, 1000 + k)); truth.set(k, 1000 + k); }
    // A resume replays steps (from - back, from] with new values: the file holds both, the later wins.
    for (const { from, back } of resumes) {
      if (last === 0) break;
      const end = 1 + (from % last);
      for (let k = Math.max(1, end - back + 1); k <= end; k++) { records.push(record(k, -k)); truth.set(k, -k); }
    }
    const rows = summariseEpochs(epochs, records);
    const bounds = [0, ...epochs.map((e) => e.steps), ...(partial ? [last] : [])];
    if (rows.length !== bounds.length - 1) throw new Error(`${rows.length} rows for ${bounds.length - 1} epochs`);
    rows.forEach((r, i) => {
      const losses = Array.from({ length: bounds[i + 1] - bounds[i] }, (_, j) => truth.get(bounds[i] + j + 1)!);
      const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
      if (r.epoch !== i + 1 || r.steps !== losses.length) throw new Error(`row ${i}: epoch ${r.epoch}, ${r.steps} steps; want ${i + 1}, ${losses.length}`);
      if (!close(r.loss, mean) || !close(r.classification, mean / 4) || !close(r.boundary, (3 * mean) / 4)) throw new Error(`row ${i}: loss ${r.loss}, want ${mean}`);
      if (!!r.current !== (i === epochs.length)) throw new Error(`row ${i}: current ${r.current}`);
    });
  }));
});

s('a run folder reads back: the table, a partial last line skipped, a bad line named by file and line', () => {
  const run = join(dir, 'run');
  mkdirSync(run);
  writeFileSync(join(run, 'metrics.json'), JSON.stringify({
    state: 'training',
    epochs: [{ epoch: 1, steps: 2, complete: true, trainSeconds: 61.4, trainSentencesPerSecond: 3.25, dev: { micro: { f1: 50.5 }, threshold: 1.5 } }],
  }));
  const lines = [record(1, 4), record(2, 2), record(3, 1)].map((r) => JSON.stringify(r));
  writeFileSync(join(run, 'steps.jsonl'), lines.join('\n') + '\n' + lines[2].slice(0, 9));
  const r = readRunRecords(run);
  if (r.steps.length !== 3) throw new Error(`${r.steps.length} steps read`);
  const text = formatProgress(r);
  for (const want of [/^1 +2 +61 +3\.3 +3\.000 +0\.750 +2\.250 +50\.50 \(1\.5\)$/m, /^2 \(now\) +1 +- +- +1\.000 /m, /state: training; 1 epoch\(s\) finished, 3 optimiser steps so far/]) {
    if (!want.test(text)) throw new Error(`${want} not in:\n${text}`);
  }
  writeFileSync(join(run, 'steps.jsonl'), [lines[0], '{"step": 2, "loss": "x"}', lines[2]].join('\n') + '\n');
  const err = (() => { try { readRunRecords(run); } catch (e) { return (e as Error).message; } return ''; })();
  if (err !== `${join(run, 'steps.jsonl')}:2: field "loss" is not a number`) throw new Error(`error: ${err}`);
  writeFileSync(join(run, 'steps.jsonl'), [lines[0], '{oops', lines[2]].join('\n') + '\n');
  const err2 = (() => { try { readRunRecords(run); } catch (e) { return (e as Error).message; } return ''; })();
  if (err2 !== `${join(run, 'steps.jsonl')}:2: not a JSON line`) throw new Error(`error: ${err2}`);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
