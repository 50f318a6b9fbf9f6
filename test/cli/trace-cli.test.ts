/**
 * `diffusionner trace` with the bundled conll2003 model on the cpu device: --start-t, --values for
 * chosen modules (and its size line), --compare with a second model folder (text, JSON and the page),
 * and JSON through a pipe arriving whole (it is larger than a pipe's 64 KB buffer).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import type { Trace } from '../../src/models/diffusionner/trace.js';
import { saveModelFolder } from '../../src/nn/folder.js';

const s = suite('diffusionner trace: --start-t, --values, --compare');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const SENTENCE = 'Peter Blackburn of Reuters reported from Brussels .';
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), 'trace', '--model', 'conll2003', ...args], {
  encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 120_000, maxBuffer: 64 << 20,
});
const fail = (what: string, r: ReturnType<typeof cli>) => new Error(`${what}: status ${r.status}, stderr ${JSON.stringify(r.stderr.slice(-600))}, stdout ${JSON.stringify(r.stdout.slice(0, 300))}`);

s('--start-t begins DDIM lower; --json through a pipe arrives whole', () => {
  const r = cli('--start-t', '200', '--json', SENTENCE);
  if (r.status !== 0) throw fail('trace --start-t 200 --json', r);
  if (r.stdout.length < 100_000) throw fail(`only ${r.stdout.length} characters of JSON`, r);
  const t = JSON.parse(r.stdout) as Trace;
  if (t.options.startT !== 200 || t.steps[0].t !== 200 || t.steps.at(-1)!.tNext !== -1) throw new Error(`start ${t.options.startT}, steps ${t.steps.map((x) => x.t)}`);
  // From lower down the noisy spans arrive: at the last step they lie within a word of the decoded spans.
  if (!(t.steps.at(-1)!.distance < 1 && t.steps.at(-1)!.distance < t.steps[0].distance)) throw new Error(`distances ${t.steps.map((x) => x.distance)}`);
  const text = cli('--start-t', '200', SENTENCE);
  if (text.status !== 0 || !text.stdout.includes('5 DDIM steps from t = 200') || !/never changed after step 1|decoded spans changed over steps/.test(text.stdout)) throw fail('trace --start-t 200', text);
  const bad = cli('--start-t', '1000', SENTENCE);
  if (bad.status !== 2 || !/start timestep must be a whole number in 0\.\.999/.test(bad.stderr)) throw fail('--start-t 1000', bad);
});

s('--values keeps the chosen modules\' values only, says the size, and needs --json and real module names', () => {
  const r = cli('--json', '--values', 'lstm,decoder.left_pointer', SENTENCE);
  if (r.status !== 0) throw fail('--values lstm,decoder.left_pointer', r);
  const t = JSON.parse(r.stdout) as Trace;
  const kept = new Set(t.modules.filter((m) => [...Object.values(m.inputs), ...Object.values(m.outputs)].some((x) => x.values)).map((m) => m.module));
  if ([...kept].sort().join() !== 'decoder.left_pointer,lstm') throw new Error(`values kept for ${[...kept]}`);
  if (!/^trace JSON with values: [\d.]+ MB$/m.test(r.stderr) || r.stdout.length > 20e6) throw fail(`size line, ${r.stdout.length} characters`, r);
  const noJson = cli('--values', 'lstm', SENTENCE);
  if (noJson.status !== 2 || !/--values goes with --json/.test(noJson.stderr)) throw fail('--values without --json', noJson);
  const typo = cli('--json', '--values', 'lstmm', SENTENCE);
  if (typo.status !== 2 || !/no module is called 'lstmm'; the modules are word_embed/.test(typo.stderr)) throw fail('--values lstmm', typo);
  // Output paths are checked before the model is traced: one line naming the path and the flag.
  const noFolder = cli('--html', join(tmpdir(), 'dner-no-such-dir', 'page.html'), SENTENCE);
  if (noFolder.status === 0 || noFolder.stderr.trim().split('\n').length !== 1 || !/page\.html: its folder .*dner-no-such-dir does not exist \(--html\)/.test(noFolder.stderr)) throw fail('--html into a missing folder', noFolder);
  const help = spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), 'trace', '--help'], { encoding: 'utf8' });
  if (!/--values MODULE,\.\.\.\|all/.test(help.stdout) || !/--start-t T/.test(help.stdout) || !/--compare DIR\|NAME/.test(help.stdout)) throw new Error(help.stdout);
});

s('--compare traces the same words with a second model, same seed and settings, beside the first (text, JSON, page)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dner-compare-'));
  try {
    // An untrained small model of another vocabulary and other types: the words are the first model's.
    const other = new DiffusionNER({ vocab: ['[PAD]', '[UNK]', 'Peter', 'Reuters'], types: ['PER', 'ORG'], hidden: 16, embedding: 8, lstmLayers: 1, proposals: 6, heads: 2, ffn: 16, dropout: 0 }, { device: T.cpu, rng: new T.RNG(2) });
    const f = other.folder();
    await saveModelFolder(join(dir, 'early'), other, f.config, f.files);
    other.dispose();
    const page = join(dir, 'page.html');
    const r = cli('--compare', join(dir, 'early'), '--json', '--html', page, '--gamma', '3', SENTENCE);
    if (r.status !== 0) throw fail('--compare --json --html', r);
    const j = JSON.parse(r.stdout) as { model: string; trace: Trace; compare: { model: string; trace: Trace } };
    if (j.model !== 'conll2003' || j.compare.model !== join(dir, 'early')) throw new Error(`labels ${j.model}, ${j.compare.model}`);
    const [a, b] = [j.trace, j.compare.trace];
    if (a.tokens.join(' ') !== SENTENCE || b.tokens.join(' ') !== SENTENCE) throw new Error('the words differ');
    for (const k of ['seed', 'threshold', 'mode', 'steps', 'startT', 'eta'] as const) if (a.options[k] !== b.options[k]) throw new Error(`${k}: ${a.options[k]} vs ${b.options[k]}`);
    if (a.options.proposals !== 60 || b.options.proposals !== 6 || b.steps.length !== 3) throw new Error('each model keeps its own K');
    const html = readFileSync(page, 'utf8');
    const data = JSON.parse(/<script type="application\/json" id="trace">([\s\S]*?)<\/script>/.exec(html)![1]) as { traces: { label: string }[] };
    if (data.traces.map((t) => t.label).join() !== `conll2003,${join(dir, 'early')}`) throw new Error(`page traces ${data.traces.map((t) => t.label)}`);
    const text = cli('--compare', join(dir, 'early'), '--gamma', '2', SENTENCE);
    if (text.status !== 0 || !text.stdout.startsWith('=== conll2003\n') || !text.stdout.includes(`=== ${join(dir, 'early')} (--compare, same words, seed and settings)`)) throw fail('--compare text', text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
