import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';

const s = suite('diffusionner command');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-cli-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 120_000 });

s('train writes a model folder, metrics and a log; eval scores it; bad input is one line and a non-zero exit', () => {
  const sent = (i: number) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris', 'y'], entities: [{ start: 2, end: 3, type: 'LOC' }] });
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 6 }, (_, i) => sent(i)).join('\n') + '\n');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({
    data: { train: 'train.jsonl', dev: 'train.jsonl', test: 'train.jsonl' },
    model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0 },
    train: { epochs: 1, batch: 3, lr: 1e-3 }, eval: { mode: 'flat', proposals: 4 }, out: join(dir, 'run'),
  }));
  const t = cli('train', '--config', join(dir, 'cfg.json'));
  if (t.status !== 0) throw new Error(`train failed: ${t.stderr}`);
  for (const f of ['model/config.json', 'model/model.safetensors', 'model/vocab.txt', 'metrics.json', 'train.log']) {
    if (!existsSync(join(dir, 'run', f))) throw new Error(`missing ${f}`);
  }
  if (!readFileSync(join(dir, 'run', 'train.log'), 'utf8').includes('train: 6 sentences, 6 entities (LOC 6)')) throw new Error('log');
  const e = cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'train.jsonl'), '--json', join(dir, 'eval.json'));
  if (e.status !== 0 || !/^P [\d.]+ {2}R [\d.]+ {2}F1 [\d.]+/.test(e.stdout)) throw new Error(`eval: ${e.stdout} ${e.stderr}`);
  if (!('micro' in JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')))) throw new Error('eval json');
  writeFileSync(join(dir, 'bad.jsonl'), '{"tokens": ["a"], "entities": [{"start": 0, "end": 3, "type": "LOC"}]}\n');
  const bad = cli('eval', '--model', join(dir, 'run', 'model'), '--data', join(dir, 'bad.jsonl'));
  if (bad.status === 0 || bad.stderr.trim().split('\n').length !== 1 || !/bad\.jsonl:1: field 'entities\[0\]': span \[0, 3\) is outside the 1 tokens/.test(bad.stderr)) {
    throw new Error(`bad input: status ${bad.status}, stderr ${JSON.stringify(bad.stderr)}`);
  }
  const none = cli('frobnicate');
  if (none.status === 0 || !/unknown command 'frobnicate'/.test(none.stderr)) throw new Error(none.stderr);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
