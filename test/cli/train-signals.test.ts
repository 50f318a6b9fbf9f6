/**
 * SIGINT and SIGTERM during `diffusionner train` stop it cleanly: the step under way finishes, a
 * checkpoint is written, where it stopped and the command that resumes are printed, metrics.json (and so
 * `progress`) says stopped by a signal, the exit status is 130 or 143, and the resumed run finishes with
 * exactly the losses of an uninterrupted one (cpu device, bit-reproducible). A second signal exits at once.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { readCheckpoint } from '../../src/ner/train/checkpoint.js';
import { resumeCommand, shellQuote, stopOnSignals } from '../../src/cli/signals.js';
import { RNG } from '../../src/tensor/random.js';
import { writeTinyTrainingConfig } from '../helpers.js';

const s = suite('train stops cleanly on SIGINT and SIGTERM');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'diffusionner.mjs');
const dir = mkdtempSync(join(tmpdir(), 'dner-signals-'));
const env = { ...process.env, DNER_DEVICE: 'cpu' };

const rng = new RNG(7);
const words = ['Paris', 'London', 'Alice', 'Bob'];
writeFileSync(join(dir, 'd.jsonl'), Array.from({ length: 40 }, () => JSON.stringify({
  tokens: [words[2 + rng.int(2)], 'met', 'them', 'in', words[rng.int(2)], 'today'], entities: [{ start: 0, end: 1, type: 'PER' }, { start: 4, end: 5, type: 'LOC' }],
})).join('\n') + '\n');
/** A config whose run takes a few seconds: 200 steps, a checkpoint every 7 (so a stop rarely falls on one), dev at each epoch's end. */
const config = (name: string) => writeTinyTrainingConfig(dir, name, 'd.jsonl', { epochs: 20, checkpointEvery: 7 });

function losses(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of readFileSync(join(out, 'steps.jsonl'), 'utf8').split('\n')) if (line) { const r = JSON.parse(line); m.set(r.step, r.loss); }
  return m;
}
const stepLines = (out: string) => (existsSync(join(out, 'steps.jsonl')) ? readFileSync(join(out, 'steps.jsonl'), 'utf8').split('\n').length - 1 : 0);

/** Starts `diffusionner ARGS`; once steps.jsonl has `after` more lines, `act` gets the child; resolves with its exit and output. */
async function runAndSignal(args: string[], out: string, after: number, act: (pid: number) => void): Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env });
  let stderr = '', stdout = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => { stdout += d; });
  const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, sig) => resolve([code, sig])));
  const target = stepLines(out) + after;
  let done = false;
  void exited.then(() => { done = true; });
  while (!done && stepLines(out) < target) await new Promise((r) => setTimeout(r, 5));
  if (done) throw new Error(`the run ended before ${after} steps: ${stderr}`);
  act(child.pid!);
  const [code, signal] = await exited;
  return { code, signal, stderr, stdout };
}

/** The arguments after `npx diffusionner` of the resume command a stopped run printed. */
function resumeArgs(stderr: string): string[] {
  const m = /; to resume: npx diffusionner (.*)$/m.exec(stderr);
  if (!m) throw new Error(`no resume command in ${JSON.stringify(stderr)}`);
  return m[1].split(' ');
}

s('SIGINT then SIGTERM: each stops after a step with a checkpoint, 130 and 143, and the resumed run matches the uninterrupted one', async () => {
  const ref = spawnSync(process.execPath, [bin, 'train', '--config', config('ref')], { env, encoding: 'utf8', timeout: 300_000 });
  if (ref.status !== 0) throw new Error(`reference run failed: ${ref.stderr}`);
  const cfg = config('stopped'), out = join(dir, 'stopped');
  const first = await runAndSignal(['train', '--config', cfg, '--out', out], out, 20, (pid) => process.kill(pid, 'SIGINT'));
  if (first.code !== 130) throw new Error(`exit after SIGINT: ${first.code} ${first.signal}: ${first.stderr}`);
  if (!first.stderr.includes('diffusionner: SIGINT: stopping training after the current step and writing a checkpoint (Ctrl-C again to exit at once)')) throw new Error(first.stderr);
  const where = /stopped by SIGINT at epoch (\d+), step (\d+); to resume: (.*)$/m.exec(first.stderr);
  if (!where || where[3] !== `npx diffusionner train --config ${cfg} --out ${out} --resume`) throw new Error(`the stop message: ${first.stderr}`);
  const { state } = readCheckpoint(out);
  if (state.step !== Number(where[2]) || state.epoch !== Number(where[1])) throw new Error(`checkpoint at epoch ${state.epoch}, step ${state.step}; printed ${where[1]}, ${where[2]}`);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  if (metrics.state !== 'stopped' || metrics.stoppedBy !== 'signal') throw new Error(`metrics.json: ${metrics.state} ${metrics.stoppedBy}`);
  const progress = spawnSync(process.execPath, [bin, 'progress', out], { env, encoding: 'utf8' });
  if (!/^state: stopped \(by a signal; train --resume continues it\); /m.test(progress.stdout)) throw new Error(`progress: ${progress.stdout} ${progress.stderr}`);

  const second = await runAndSignal(resumeArgs(first.stderr), out, 20, (pid) => process.kill(pid, 'SIGTERM'));
  if (second.code !== 143 || !/stopped by SIGTERM at epoch \d+, step \d+; to resume: npx diffusionner train --config \S+ --out \S+ --resume$/m.test(second.stderr)) {
    throw new Error(`exit after SIGTERM: ${second.code} ${second.signal}: ${second.stderr}`);
  }
  if (!second.stdout.includes(`resuming from ${join(out, 'checkpoints', `step-${where[2]}`)}`)) throw new Error(`the second run did not resume: ${second.stdout}`);
  const last = spawnSync(process.execPath, [bin, ...resumeArgs(second.stderr)], { env, encoding: 'utf8', timeout: 300_000 });
  if (last.status !== 0) throw new Error(`the final resumed run failed: ${last.stderr}`);
  if (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).state !== 'done') throw new Error('not done after the final resume');
  const want = losses(join(dir, 'ref')), got = losses(out);
  if (got.size !== want.size) throw new Error(`${got.size} steps after resuming, ${want.size} uninterrupted`);
  for (const [step, loss] of want) if (got.get(step) !== loss) throw new Error(`step ${step}: loss ${got.get(step)} after the stops, ${loss} uninterrupted`);
});

s('a second signal exits at once, keeping the last checkpoint', async () => {
  const cfg = config('twice'), out = join(dir, 'twice');
  // Stopped, the child holds both signals; on SIGCONT it receives both before its handlers run, so the
  // second always comes while the first stop is under way.
  const r = await runAndSignal(['train', '--config', cfg], out, 10, (pid) => {
    process.kill(pid, 'SIGSTOP'); process.kill(pid, 'SIGINT'); process.kill(pid, 'SIGTERM'); process.kill(pid, 'SIGCONT');
  });
  const again = /diffusionner: (SIGINT|SIGTERM) again: exiting now \(the last checkpoint is kept; --resume continues from it\)/.exec(r.stderr);
  if (!again || r.code !== (again[1] === 'SIGINT' ? 130 : 143) || r.stderr.includes('to resume:')) throw new Error(`exit ${r.code} ${r.signal}: ${r.stderr}`);
  readCheckpoint(out);
  if (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).state !== 'training') throw new Error('an immediate exit records no clean stop');
});

s('Ctrl-C twice in one process: the first aborts the stop signal, the second exits with 130', async () => {
  const lines: string[] = [], exits: number[] = [];
  const stop = stopOnSignals({ what: 'training', write: (l) => lines.push(l), exit: (code) => exits.push(code) });
  try {
    if (process.listenerCount('SIGINT') === 0) throw new Error('no SIGINT handler installed');
    process.kill(process.pid, 'SIGINT');
    process.kill(process.pid, 'SIGINT');
    for (let i = 0; i < 100 && exits.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  } finally {
    stop.dispose();
  }
  if (!stop.signal.aborted || stop.signal.reason !== 'SIGINT' || stop.exitCode() !== 130) throw new Error(`aborted ${stop.signal.aborted}, reason ${stop.signal.reason}, code ${stop.exitCode()}`);
  if (exits.join() !== '130' || lines.length !== 2 || !lines[1].startsWith('diffusionner: SIGINT again: exiting now')) throw new Error(`exits ${exits}: ${lines.join(' | ')}`);
});

s('the resume command quotes what a shell would split', () => {
  if (resumeCommand(['train', '--config', 'my cfg.json', '--out', "it's"]) !== `npx diffusionner train --config 'my cfg.json' --out 'it'\\''s' --resume`) throw new Error(resumeCommand(['train', '--config', 'my cfg.json', '--out', "it's"]));
  if (resumeCommand(['train', '--resume', '--config', 'c.json']) !== 'npx diffusionner train --resume --config c.json') throw new Error('--resume twice');
  if (shellQuote('runs/a-b_c.json') !== 'runs/a-b_c.json') throw new Error('a safe word is left bare');
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
