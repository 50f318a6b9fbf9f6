/**
 * `diffusionner train` refuses, in one line and before any training: --resume with nothing to resume,
 * --reschedule without --resume, a resume whose --max-steps or --epochs would re-size the schedule (unless
 * --reschedule), and training data without a single entity.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';

const s = suite('train refuses what it cannot do well');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-train-checks-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 120_000 });
const oneLineError = (r: ReturnType<typeof cli>, pattern: RegExp, what: string) => {
  if (r.status === 0 || r.stderr.trim().split('\n').length !== 1 || !pattern.test(r.stderr.trim())) throw new Error(`${what}: status ${r.status}, stderr ${JSON.stringify(r.stderr)}`);
};
const sentence = (i: number, entities = true) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris'], entities: entities ? [{ start: 2, end: 3, type: 'LOC' }] : [] });
writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 6 }, (_, i) => sentence(i)).join('\n') + '\n');
writeFileSync(join(dir, 'empty.jsonl'), Array.from({ length: 6 }, (_, i) => sentence(i, false)).join('\n') + '\n');
const config = (train: string) => {
  const file = join(dir, `${train}.json`);
  writeFileSync(file, JSON.stringify({
    data: { train }, model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0 },
    train: { epochs: 2, batch: 3, lr: 1e-3, checkpointEvery: 1 }, eval: { mode: 'flat', proposals: 3 },
  }));
  return file;
};

s('--resume with nothing to resume, and --reschedule without --resume, are one-line errors', () => {
  const cfg = config('train.jsonl');
  oneLineError(cli('train', '--config', cfg, '--out', join(dir, 'nowhere'), '--resume'), /^diffusionner: \S*nowhere: nothing to resume \(no such folder\); drop --resume to start a new run there$/, 'nothing to resume');
  if (existsSync(join(dir, 'nowhere'))) throw new Error('the refused resume created its folder');
  oneLineError(cli('train', '--config', cfg, '--out', join(dir, 'run'), '--reschedule'), /^diffusionner: --reschedule goes with --resume .*\(diffusionner train --help shows its flags\)$/, '--reschedule alone');
});

s('a resume with another --max-steps is refused unless --reschedule, which re-sizes the schedule', () => {
  const cfg = config('train.jsonl'), out = join(dir, 'run');
  const first = cli('train', '--config', cfg, '--out', out, '--max-steps', '2');
  if (first.status !== 0) throw new Error(first.stderr);
  oneLineError(cli('train', '--config', cfg, '--out', out, '--resume', '--max-steps', '3'), /cannot resume: the learning-rate schedule would change: maxSteps 2 -> 3 \(resume with the run's own --epochs and --max-steps, or add --reschedule to re-size the schedule\)$/, 'a changed --max-steps');
  const more = cli('train', '--config', cfg, '--out', out, '--resume', '--max-steps', '3', '--reschedule');
  if (more.status !== 0 || !more.stdout.includes('the learning-rate schedule is re-sized (--reschedule): maxSteps 2 -> 3')) throw new Error(`${more.stdout} ${more.stderr}`);
  const steps = readFileSync(join(out, 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  if (steps.join() !== '1,2,3') throw new Error(`steps ${steps}`);
});

s('training data without a single entity is a one-line error naming the file', () => {
  oneLineError(cli('train', '--config', config('empty.jsonl'), '--out', join(dir, 'empty')), /^diffusionner: \S*empty\.jsonl: no entities in the training data \(6 sentences\), so there is nothing to train on \(data\.train\)$/, 'no entities');
  if (existsSync(join(dir, 'empty'))) throw new Error('a run folder was made');
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
