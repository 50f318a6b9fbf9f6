import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { candidateThresholds, chooseThreshold, formatSelection, readSelection } from '../../src/ner/selection.js';

const OFFICIAL_THRESHOLD = 2.5; // DiffusionNER's default: the preferred threshold on ties

const s = suite('threshold selection');
const dir = mkdtempSync(join(tmpdir(), 'dner-selection-'));

const candidate = fc.record({ threshold: fc.constantFrom(0, 1, 1.5, 2, 2.5, 3), micro: fc.record({ f1: fc.constantFrom(0, 40, 40, 55.5, 90) }) });

s('the choice has the highest F1, prefers the official φ then the smaller one on ties, and ignores the order', () => {
  fc.assert(fc.property(fc.uniqueArray(candidate, { minLength: 1, maxLength: 6, selector: (c) => c.threshold }), fc.nat(), (cands, seed) => {
    const best = chooseThreshold(cands, OFFICIAL_THRESHOLD);
    const top = Math.max(...cands.map((c) => c.micro.f1));
    if (best.micro.f1 !== top) throw new Error(`F1 ${best.micro.f1}, not the top ${top}`);
    const tied = cands.filter((c) => c.micro.f1 === top).map((c) => c.threshold);
    const want = tied.includes(OFFICIAL_THRESHOLD) ? OFFICIAL_THRESHOLD : Math.min(...tied);
    if (best.threshold !== want) throw new Error(`φ ${best.threshold} among tied ${tied}, want ${want}`);
    const shuffled = [...cands].sort((a, b) => ((a.threshold * 7919 + seed) % 13) - ((b.threshold * 7919 + seed) % 13));
    if (chooseThreshold(shuffled, OFFICIAL_THRESHOLD).threshold !== best.threshold) throw new Error('order changed the choice');
  }));
});

s('candidates: the configured φ first (the official one by default), the sweep after, no repeats', () => {
  const got = candidateThresholds(2, [1.5, 2, 3], OFFICIAL_THRESHOLD);
  if (got.join() !== '2,1.5,3') throw new Error(got.join());
  if (candidateThresholds(undefined, undefined, OFFICIAL_THRESHOLD).join() !== String(OFFICIAL_THRESHOLD)) throw new Error('default');
});

s('selection.json round-trips; a folder without one has no choice; malformed files are one-line errors', () => {
  if (readSelection(dir) !== undefined) throw new Error('no file, no selection');
  writeFileSync(join(dir, 'selection.json'), formatSelection({ threshold: 1.5, split: 'dev', f1ByThreshold: { '1.5': 70.1, '2.5': 60 } }));
  const r = readSelection(dir)!;
  if (r.threshold !== 1.5 || r.split !== 'dev' || r.f1ByThreshold['2.5'] !== 60 || r.mode !== undefined) throw new Error(JSON.stringify(r));
  writeFileSync(join(dir, 'selection.json'), formatSelection({ threshold: 2.5, split: 'dev', f1ByThreshold: {}, mode: 'nested' }));
  if (readSelection(dir)!.mode !== 'nested') throw new Error('mode round-trip');
  for (const [text, pattern] of [['{"threshold": -1}', /field 'threshold' must be a number >= 0, got -1/], ['{"threshold": "2"}', /field 'threshold'/], ['[1]', /must hold a JSON object/], ['{', /not valid JSON/], ['{"threshold": 2, "mode": "deep"}', /field 'mode' must be "flat" or "nested", got "deep"/]] as const) {
    writeFileSync(join(dir, 'selection.json'), text);
    try { readSelection(dir); } catch (e) {
      const m = (e as Error).message;
      if (!pattern.test(m) || !m.includes('selection.json') || m.includes('\n')) throw new Error(`${text}: ${m}`);
      continue;
    }
    throw new Error(`${text} was accepted`);
  }
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
