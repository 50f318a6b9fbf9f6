/**
 * README.md's "Use it from code" example runs as written: the code block is taken from the README, its
 * package import pointed at this checkout's sources (the one change), and run with node on the cpu device.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';

const s = suite('README example');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-readme-'));

s('the "Use it from code" block runs and prints entities, scores and a trace', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split('\n## Use it from code\n')[1];
  const code = /```js\n([\s\S]*?)```/.exec(section ?? '')?.[1];
  if (!code || !code.includes("from 'diffusionner-webgpu'")) throw new Error('README.md has no "Use it from code" js block importing diffusionner-webgpu');
  const file = join(dir, 'example.mjs');
  writeFileSync(file, code.replaceAll("'diffusionner-webgpu'", `'${pathToFileURL(join(root, 'src', 'index.ts')).href}'`));
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`the example failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
  // Kohl, Paris and Moscow are found in the first document, with offsets, a score and their sentence; the trace summary follows.
  if (!/^PER "Helmut Kohl" \[0, 11\) [01]\.\d\d sentence 0$/m.test(r.stdout) || !/^LOC "Paris" \[20, 25\)/m.test(r.stdout) || !/^LOC "Moscow" \[62, 68\) [01]\.\d\d sentence 1$/m.test(r.stdout)) throw new Error(`entities: ${r.stdout}`);
  // The sentence stream: each sentence of the paragraph with its index.
  if (!/^0 Kohl flew to Bonn \. \[/m.test(r.stdout) || !/^1 Yeltsin stayed in Moscow \. \[/m.test(r.stdout)) throw new Error(`sentences: ${r.stdout}`);
  if (!/^F1 \d/m.test(r.stdout) || !/How it was denoised/.test(r.stdout)) throw new Error(`output: ${r.stdout}`);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
