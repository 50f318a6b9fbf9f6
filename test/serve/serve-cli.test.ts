/**
 * `diffusionner serve` as a process: it prints where it listens, becomes ready, answers; SIGTERM while a
 * request is in flight answers that request, then exits 0. Bad flags are one-line usage errors.
 * And `device --list` numbers the adapters that --adapter takes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { servedModels } from '../../src/cli/commands/serve.js';
import { assertThrows } from '../helpers.js';
import { tinyModel } from './tiny-model.js';

const s = suite('serve: the command');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'diffusionner.mjs');
const env = { ...process.env, DNER_DEVICE: 'cpu' };

s('SIGTERM answers the request in flight, then exits 0', async () => {
  const modelDir = await tinyModel(mkdtempSync(join(tmpdir(), 'dner-serve-cli-')));
  const child = spawn(process.execPath, [bin, 'serve', '--model', `tiny=${modelDir}`, '--port', '0', '--max-wait-ms', '300'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 600 && !re.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
      if (!re.test(stderr)) throw new Error(`no ${re} in: ${stderr}`);
    };
    await waitFor(/ready in/);
    const url = /listening on (http:\/\/[\d.:]+)/.exec(stderr)![1];
    const inFlight = fetch(`${url}/v1/ner`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['x Paris y'], model: 'tiny' }) });
    await new Promise((r) => setTimeout(r, 100)); // it waits 300 ms for company
    child.kill('SIGTERM');
    const answer = await inFlight;
    const body = await answer.json();
    if (answer.status !== 200 || body.results[0].sentences[0].tokens.join(' ') !== 'x Paris y') throw new Error(`${answer.status} ${JSON.stringify(body)}`);
    const code = await exited;
    if (code !== 0 || !/SIGTERM: finishing the requests in flight/.test(stderr) || !/stopped/.test(stderr)) throw new Error(`exit ${code}: ${stderr}`);
  } finally {
    child.kill('SIGKILL');
  }
});

s('bad flags and model names are one-line errors', async () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  const none = run('serve');
  if (none.status !== 2 || !/serve needs --model \[NAME=\]DIR at least once/.test(none.stderr)) throw new Error(none.stderr);
  const port = run('serve', '--model', 'conll2003', '--port', '70000');
  if (port.status !== 2 || !/--port must be a whole number >= 0 and <= 65535, got '70000'/.test(port.stderr)) throw new Error(port.stderr);
  const missing = run('serve', '--model', 'x=/no/such/folder');
  if (missing.status !== 2 || !/\/no\/such\/folder: no such model folder/.test(missing.stderr)) throw new Error(missing.stderr);
  await assertThrows(async () => servedModels(['conll2003', 'conll2003']), /two models are named 'conll2003'; name them apart with --model NAME=DIR/);
  const named = servedModels(['news=conll2003', 'genia']);
  if (named.map((m) => m.name).join() !== 'news,genia' || !named[0].dir.endsWith(join('models', 'conll2003'))) throw new Error(JSON.stringify(named));
});

s('device --list numbers the adapters; --adapter takes a number or a name and refuses what matches none', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  const list = run('device', '--list', '--json');
  const adapters = JSON.parse(list.stdout) as { index: number; name: string; backend: string }[];
  if (list.status !== 0 || !adapters.length || adapters[0].index !== 0 || !adapters[0].name) throw new Error(list.stdout + list.stderr);
  const byNumber = run('device', '--adapter', '0', '--json');
  const byName = run('device', '--adapter', adapters[0].name.split(' ')[0], '--json');
  if (byNumber.status !== 0 || byName.status !== 0 || JSON.parse(byNumber.stdout).description !== JSON.parse(byName.stdout).description) throw new Error(byNumber.stderr + byName.stderr);
  const none = run('device', '--adapter', String(adapters.length));
  if (none.status !== 2 || !new RegExp(`there is no adapter ${adapters.length}; the adapters are 0: `).test(none.stderr)) throw new Error(none.stderr);
  const cpu = run('predict', '--model', 'conll2003', '--adapter', '0', '--device', 'cpu', 'x');
  if (cpu.status !== 2 || !/--adapter chooses a WebGPU adapter; it does not go with the cpu device/.test(cpu.stderr)) throw new Error(cpu.stderr);
});

s.run();
