/**
 * Crash safety: a training process is SIGKILLed at random moments (20 times); each time the latest
 * checkpoint must load and verify, and the run resumed from it must produce exactly the losses of an
 * uninterrupted run with the same seed (cpu device, which is bit-reproducible).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { RNG } from '../../src/tensor/random.js';
import { readCheckpoint } from '../../src/ner/train/checkpoint.js';
import { writeTinyTrainingConfig } from '../helpers.js';

const s = suite('training survives SIGKILL');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'diffusionner.mjs');
const dir = mkdtempSync(join(tmpdir(), 'dner-kill-'));
const env = { ...process.env, DNER_DEVICE: 'cpu' };

function stepLines(out: string): number {
  const f = join(out, 'steps.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').length - 1 : 0;
}

function losses(out: string): Map<number, number> {
  const m = new Map<number, number>();
  if (!existsSync(join(out, 'steps.jsonl'))) return m;
  for (const line of readFileSync(join(out, 'steps.jsonl'), 'utf8').split('\n')) {
    // A kill can cut the last line short; a resumed run writes that step again.
    try { const r = JSON.parse(line); m.set(r.step, r.loss); } catch { /* partial line */ }
  }
  return m;
}

s('20 kills at random moments: no corrupt checkpoint, and the resumed run matches the uninterrupted losses', async () => {
  const rng = new RNG(7);
  const words = ['Paris', 'London', 'Alice', 'Bob', 'the', 'met', 'in', 'today'];
  const lines = Array.from({ length: 40 }, () => {
    const a = words[rng.int(2)], p = words[2 + rng.int(2)];
    return JSON.stringify({ tokens: [p, 'met', 'them', 'in', a, 'today'], entities: [{ start: 0, end: 1, type: 'PER' }, { start: 4, end: 5, type: 'LOC' }] });
  });
  writeFileSync(join(dir, 'd.jsonl'), lines.join('\n') + '\n');
  const cfg = (out: string) => writeTinyTrainingConfig(dir, out, 'd.jsonl', { epochs: 60, checkpointEvery: 1 });
  const ref = spawnSync(process.execPath, [bin, 'train', '--config', cfg('ref')], { env, encoding: 'utf8', timeout: 300_000 });
  if (ref.status !== 0) throw new Error(`reference run failed: ${ref.stderr}`);
  const want = losses(join(dir, 'ref'));
  const killedCfg = cfg('killed');
  let kills = 0, finished = false;
  while (!finished) {
    // --resume only where there is a checkpoint: a kill can come before the first one, and --resume with
    // nothing to resume is an error.
    const resume = existsSync(join(dir, 'killed', 'checkpoint.json')) ? ['--resume'] : [];
    const child = spawn(process.execPath, [bin, 'train', '--config', killedCfg, ...resume], { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    if (kills < 20) {
      // Kill after a random number (1..12) of new steps plus a random 0..150 ms, so kills land at every
      // phase (mid-step, mid-checkpoint) whatever the machine's speed, and 20 kills always fit in the run.
      const start = stepLines(join(dir, 'killed')), target = start + 1 + rng.int(12), extra = rng.int(150);
      let done = false;
      const poll = (async () => {
        while (!done && stepLines(join(dir, 'killed')) < target) await new Promise((r) => setTimeout(r, 10));
        if (!done) setTimeout(() => child.kill('SIGKILL'), extra);
      })();
      const code = await exited;
      done = true;
      await poll;
      if (code === 0) finished = true; else kills++;
    } else {
      const code = await exited;
      if (code !== 0) throw new Error(`the final resumed run failed with ${code}`);
      finished = true;
    }
    // Whatever moment the kill hit, the checkpoint on disk verifies.
    if (existsSync(join(dir, 'killed', 'checkpoint.json'))) readCheckpoint(join(dir, 'killed'));
  }
  const got = losses(join(dir, 'killed'));
  if (kills < 20) throw new Error(`the run finished after only ${kills} kills`);
  if (got.size !== want.size) throw new Error(`${got.size} steps after resuming, ${want.size} uninterrupted`);
  for (const [step, loss] of want) {
    if (got.get(step) !== loss) throw new Error(`step ${step}: loss ${got.get(step)} after kills, ${loss} uninterrupted`);
  }
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
