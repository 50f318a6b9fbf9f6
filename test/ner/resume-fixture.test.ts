/**
 * A checkpoint written by older code (test/fixtures/resume-v0, from before the toolkit restructure)
 * resumes with today's code and finishes exactly as the uninterrupted run did then: the same loss,
 * learning rate and gradient norm at every step, and bit-identical final weights.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { readCheckpoint } from '../../src/ner/train/checkpoint.js';
import { readTrainConfig } from '../../src/models/index.js';
import { train } from '../../src/models/index.js';

const s = suite('an older checkpoint resumes exactly');
const fixture = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'resume-v0');
const dir = mkdtempSync(join(tmpdir(), 'dner-resume-v0-'));

s('resume-v0 continues from step 2 to the uninterrupted run\'s steps 3..6 and final weights', async () => {
  cpSync(join(fixture, 'run'), join(dir, 'run'), { recursive: true });
  const cfg = readTrainConfig(join(fixture, 'config.json'));
  cfg.out = join(dir, 'run');
  await train(cfg, T.cpu, { log: () => {}, progress: false, resume: true });
  const lines = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const got = lines(join(dir, 'run', 'steps.jsonl')), want = lines(join(fixture, 'expected-steps.jsonl'));
  if (got.length !== want.length) throw new Error(`${got.length} step records, expected ${want.length}`);
  want.forEach((w, i) => {
    for (const k of ['step', 'loss', 'classification', 'boundary', 'lr', 'gradNorm']) {
      if (got[i][k] !== w[k]) throw new Error(`step ${w.step}: ${k} ${got[i][k]}, expected ${w[k]}`);
    }
  });
  const { dir: last } = readCheckpoint(join(dir, 'run'));
  const sha = createHash('sha256').update(readFileSync(join(last, 'model.safetensors'))).digest('hex');
  if (sha !== readFileSync(join(fixture, 'expected-final-weights.sha256'), 'utf8').trim()) throw new Error(`final weights differ (sha256 ${sha})`);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
