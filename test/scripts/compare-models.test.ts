/**
 * The three-model comparison table (scripts/compare-models.ts): a row's figures are read from its run
 * folder (metrics.json, train.log) and its test evaluation, summed and ranged over epochs; a row whose run
 * folder is absent is rebuilt from the figures stored in docs/comparison-runs.json; with neither, the
 * error names the missing file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { comparisonTable, figuresOf, type RowSpec } from '../../scripts/compare-models.js';

const s = suite('comparison table');

const scores = (f1: number) => ({ precision: f1 + 1, recall: f1 - 1, f1 });
function writeRun(dir: string): RowSpec {
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({
    epochs: [
      { trainSeconds: 100, trainSentencesPerSecond: 10, peakRssMiB: 2048, peakGpuLiveMiB: 300, matmulProbe: { gflops: 30 } },
      { trainSeconds: 300, trainSentencesPerSecond: 20, peakRssMiB: 3072, peakGpuLiveMiB: 500, matmulProbe: { gflops: 36 } },
    ],
    test: { sentencesPerSecond: 55.5 },
  }));
  writeFileSync(join(dir, 'train.log'), 'data: …\nmodel: 1,234,567 parameters, vocabulary 10\n');
  writeFileSync(join(dir, 'test-eval.json'), JSON.stringify({
    micro: scores(70), sentencesPerSecond: 40,
    byLength: { '1': scores(80), '2': scores(75), '3': scores(60), '4+': scores(50) },
    byNesting: { outermost: { ...scores(72), gold: 90 }, nested: { ...scores(40), gold: 10 } },
  }));
  return { model: 'M', dataset: 'D', run: dir, eval: join(dir, 'test-eval.json') };
}

s('a row is read from its run: sums over epochs, sentence-weighted speed, peaks, probe range, nesting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmp-'));
  try {
    const x = figuresOf(writeRun(dir));
    assert.equal(x.trainSeconds, 400);
    assert.equal(x.trainSentencesPerSecond, (100 * 10 + 300 * 20) / 400);
    assert.equal([x.peakRssMiB, x.peakGpuLiveMiB, x.parameters], [3072, 500, 1234567]);
    assert.equal(x.matmulProbeGflops, [30, 36]);
    assert.equal(x.nestedOutermostF1, [40, 72]);
    assert.equal(x.inferSentencesPerSecond, 55.5);
    const line = comparisonTable([{ ...writeRun(dir), note: 'shared host' }]).split('\n')[2];
    assert.is(line, '| M | D | 71.00 / 69.00 / **70.00** | 80.0 / 75.0 / 60.0 / 50.0 | 40.0 / 72.0 | 2 ep, 7 min [1] | 17.5 | 55.5 | 3.0 GiB | 500 | 1,234,567 | 30–36 |');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s('a row whose run is absent is rebuilt from its stored figures; the run, when present, wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmp-'));
  try {
    const stored = { ...figuresOf(writeRun(dir)), trainSeconds: 999 };
    const missing = { model: 'M', dataset: 'D', run: join(dir, 'gone'), eval: join(dir, 'gone', 'e.json'), figures: stored };
    assert.is(figuresOf(missing).trainSeconds, 999);
    assert.is(figuresOf({ ...writeRun(dir), figures: stored }).trainSeconds, 400);
    assert.throws(() => figuresOf({ ...missing, figures: undefined }), (e: Error) => e.message.includes(join(dir, 'gone', 'metrics.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
