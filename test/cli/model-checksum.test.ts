/**
 * Model folder checksums from the command line: a folder whose weights no longer match
 * model.safetensors.sha256 is refused with one line by every command that loads a model, and loads with
 * --no-verify; `export --no-verify` writes a copy with a fresh checksum; a folder without the file loads
 * with one warning.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { saveModelFolder } from '../../src/nn/folder.js';

const s = suite('model folder checksums (command)');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-cli-checksum-'));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 120_000 });
const show = (r: ReturnType<typeof cli>) => `status ${r.status}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;

s('changed weights: one line and exit 2 from eval, predict, trace and export; --no-verify loads them', async () => {
  const intact = join(dir, 'intact'), damaged = join(dir, 'damaged');
  const m = new DiffusionNER({ vocab: ['[PAD]', '[UNK]', 'a', 'b'], types: ['A'], hidden: 4, embedding: 4, lstmLayers: 1, proposals: 2, heads: 2, ffn: 4, dropout: 0 }, { device: T.cpu, rng: new T.RNG(1) });
  await saveModelFolder(intact, m, m.folder().config, m.folder().files);
  m.dispose();
  cpSync(intact, damaged, { recursive: true });
  // A low mantissa bit of the first weight: the file stays valid safetensors with finite values.
  const b = readFileSync(join(damaged, 'model.safetensors'));
  b[8 + Number(b.readBigUInt64LE(0))] ^= 0x01;
  writeFileSync(join(damaged, 'model.safetensors'), b);
  writeFileSync(join(dir, 'data.jsonl'), '{"tokens": ["a", "b"], "entities": [{"start": 0, "end": 1, "type": "A"}]}\n');

  const refused = /^diffusionner: \S*damaged\/model\.safetensors: does not match model\.safetensors\.sha256: the weights are damaged or were changed .*\(--no-verify skips the check\)\n$/;
  const runs = {
    eval: ['eval', '--model', damaged, '--data', join(dir, 'data.jsonl')],
    predict: ['predict', '--model', damaged, 'a b'],
    trace: ['trace', '--model', damaged, 'a b'],
    export: ['export', '--model', damaged, '--out', join(dir, 'exported')],
  };
  for (const [name, args] of Object.entries(runs)) {
    const r = cli(...args);
    if (r.status !== 2 || !refused.test(r.stderr)) throw new Error(`${name} of changed weights: ${show(r)}`);
  }
  if (existsSync(join(dir, 'exported'))) throw new Error('export wrote a folder from weights that failed their check');
  for (const [name, args] of Object.entries(runs)) {
    const r = cli(...args, '--no-verify');
    if (r.status !== 0 || /sha256/.test(r.stderr)) throw new Error(`${name} --no-verify: ${show(r)}`);
  }
  // The exported copy carries a checksum of its own weights and loads checked.
  const again = cli('predict', '--model', join(dir, 'exported'), 'a b');
  if (again.status !== 0 || /sha256/.test(again.stderr)) throw new Error(`the exported copy: ${show(again)}`);
  const sumsOk = spawnSync('sha256sum', ['-c', 'model.safetensors.sha256'], { cwd: join(dir, 'exported'), encoding: 'utf8' });
  if (sumsOk.error === undefined && sumsOk.status !== 0) throw new Error(`sha256sum -c in the exported folder: ${sumsOk.stdout} ${sumsOk.stderr}`);

  // Without the file: the model loads, with one warning that says how to add it.
  const unchecked = join(dir, 'unchecked');
  cpSync(intact, unchecked, { recursive: true });
  rmSync(join(unchecked, 'model.safetensors.sha256'));
  const w = cli('predict', '--model', unchecked, 'a b');
  const warnings = w.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  if (w.status !== 0 || warnings.length !== 1 || !warnings[0].startsWith(`warning: ${unchecked} has no model.safetensors.sha256`) || !warnings[0].includes('sha256sum model.safetensors > model.safetensors.sha256')) {
    throw new Error(`a folder without a checksum: ${show(w)}`);
  }
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
