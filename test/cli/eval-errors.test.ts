/**
 * Error analysis through `eval`, for every model kind alike (the shared task layer): tiny BOPN and
 * DiffusionNER models trained on a small nested data set, then `eval --predictions` (one JSON line per
 * sentence, whose false positives and false negatives add up to the P/R counts printed and in --json),
 * `--errors-only`, the tables by length (1, 2, 3, 4+ words) and by nesting, a φ sweep's predictions at the
 * reported φ, and the output folder checked before the work.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { writeTinyTrainingConfig } from '../helpers.js';

const s = suite('eval: error analysis (--predictions, by length, by nesting)');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-cli-errors-'));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 120_000 });
const show = (r: ReturnType<typeof cli>) => `status ${r.status}, stdout ${JSON.stringify(r.stdout.slice(0, 3000))}, stderr ${JSON.stringify(r.stderr.slice(-2000))}`;
const ok = (r: ReturnType<typeof cli>, what: string) => { if (r.status !== 0) throw new Error(`${what}: ${show(r)}`); return r; };
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

// Entities of 1, 2, 3 and 5 words; "University of Paris" holds the nested LOC "Paris".
const sentences = [
  { tokens: ['the', 'University', 'of', 'Paris', 'said'], entities: [{ start: 1, end: 4, type: 'ORG' }, { start: 3, end: 4, type: 'LOC' }] },
  { tokens: ['John', 'Smith', 'met', 'Mary'], entities: [{ start: 0, end: 2, type: 'PER' }, { start: 3, end: 4, type: 'PER' }] },
  { tokens: ['the', 'Bank', 'of', 'New', 'York', 'Mellon', 'fell'], entities: [{ start: 1, end: 6, type: 'ORG' }, { start: 3, end: 5, type: 'LOC' }] },
  { tokens: ['nothing', 'here'], entities: [] },
  { tokens: ['Paris', 'is', 'big'], entities: [{ start: 0, end: 1, type: 'LOC' }] },
];
const data = join(dir, 'data.jsonl');
writeFileSync(data, [...sentences, ...sentences].map((x) => JSON.stringify(x)).join('\n') + '\n');
const N = 2 * sentences.length;
const bopn = join(dir, 'bopn', 'model'), dner = join(dir, 'dner', 'model');

interface Ent { start: number; end: number; type: string; text: string; score?: number }
interface Line { origin: string; tokens: string[]; gold: Ent[]; predicted: Ent[]; falsePositives: Ent[]; falseNegatives: Ent[] }
const key = (e: Ent) => `${e.start}:${e.end}:${e.type}`;

/** The file's lines, each checked against its sentence, and the FP/FN/TP totals. */
function readPredictions(file: string): { lines: Line[]; tp: number; fp: number; fn: number } {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  let tp = 0, fp = 0, fn = 0;
  for (const x of lines) {
    const g = new Set(x.gold.map(key)), p = new Set(x.predicted.map(key));
    const wantFp = x.predicted.filter((e) => !g.has(key(e))).map(key).join(), wantFn = x.gold.filter((e) => !p.has(key(e))).map(key).join();
    if (x.falsePositives.map(key).join() !== wantFp || x.falseNegatives.map(key).join() !== wantFn) throw new Error(`errors do not match gold and predicted: ${JSON.stringify(x)}`);
    for (const e of [...x.gold, ...x.predicted]) {
      if (!(e.start >= 0 && e.end > e.start && e.end <= x.tokens.length) || e.text !== x.tokens.slice(e.start, e.end).join(' ')) throw new Error(`entity ${JSON.stringify(e)} of ${JSON.stringify(x)}`);
    }
    for (const e of x.predicted) if (typeof e.score !== 'number' || e.score < 0 || e.score > 1) throw new Error(`score ${JSON.stringify(e)}`);
    tp += x.predicted.length - x.falsePositives.length; fp += x.falsePositives.length; fn += x.falseNegatives.length;
  }
  return { lines, tp, fp, fn };
}

/** A table's rows as printed: name -> P, R and the counts. */
function table(stdout: string, title: RegExp): Map<string, { p: number; r: number; tp: number; predicted: number; found: number; gold: number }> {
  const lines = stdout.split('\n'), at = lines.findIndex((l) => title.test(l));
  if (at < 0) throw new Error(`no table ${title}: ${stdout}`);
  const rows = new Map();
  for (const l of lines.slice(at + 1)) {
    const m = /^ {2}(\S+(?: words?)?) +P ([\d.]+) {2}R ([\d.]+) {2}F1 [\d.]+ {2}\((\d+) of (\d+) predicted correct, (\d+) of (\d+) gold found\)$/.exec(l);
    if (!m) break;
    rows.set(m[1], { p: Number(m[2]), r: Number(m[3]), tp: Number(m[4]), predicted: Number(m[5]), found: Number(m[6]), gold: Number(m[7]) });
  }
  return rows;
}

s('train tiny BOPN and DiffusionNER models on the nested data', () => {
  const cfg = join(dir, 'bopn.json');
  writeFileSync(cfg, JSON.stringify({
    data: { train: data, dev: data },
    model: { kind: 'bopn', hidden: 16, embedding: 8, charEmbedding: 4, charFilters: 4, lstmLayers: 1, biaffine: 16, gridEmbedding: 4, dropout: 0, embeddingDropout: 0, outDropout: 0 },
    train: { epochs: 4, batch: 5, lr: 2e-2, checkpointEvery: 100, seed: 3 }, eval: { mode: 'nested' }, out: join(dir, 'bopn'),
  }));
  ok(cli('train', '--config', cfg), 'train bopn');
  ok(cli('train', '--config', writeTinyTrainingConfig(dir, 'dner', data, { epochs: 1, checkpointEvery: 100 })), 'train diffusionner');
  for (const m of [bopn, dner]) if (!existsSync(join(m, 'config.json'))) throw new Error(`no model folder ${m}`);
});

for (const [kind, model, extra] of [['bopn', bopn, ['--overlap-filter']], ['diffusionner', dner, ['--threshold', '0']]] as const) {
  s(`${kind}: --predictions has a line per sentence whose errors add up to the printed and JSON counts; the length and nesting tables sum to them`, () => {
    const out = join(dir, `${kind}.predictions.jsonl`), scores = join(dir, `${kind}.json`);
    const e = ok(cli('eval', '--model', model, '--data', data, '--mode', 'nested', ...extra, '--predictions', out, '--json', scores), `${kind} eval --predictions`);
    const { lines, tp, fp, fn } = readPredictions(out);
    if (lines.length !== N || lines.map((x) => x.origin).join() !== Array.from({ length: N }, (_, i) => `${data}:${i + 1}`).join()) throw new Error(`lines: ${lines.map((x) => x.origin)}`);
    if (lines.some((x, i) => x.tokens.join(' ') !== sentences[i % sentences.length].tokens.join(' '))) throw new Error('lines out of order');
    const r = json(scores);
    if (r.micro.tp !== tp || r.micro.predicted !== tp + fp || r.micro.gold !== tp + fn || r.micro.gold !== 14) throw new Error(`counts: file tp ${tp} fp ${fp} fn ${fn}, JSON ${JSON.stringify(r.micro)}`);
    if ('predictions' in r) throw new Error('the JSON scores hold no predictions');
    // The printed P and R are those counts.
    const m = /^P ([\d.]+) {2}R ([\d.]+) {2}F1/m.exec(e.stdout)!;
    if (Number(m[1]) !== Number((tp + fp ? (100 * tp) / (tp + fp) : 0).toFixed(2)) || Number(m[2]) !== Number(((100 * tp) / (tp + fn)).toFixed(2))) throw new Error(`printed ${m[0]}, file tp ${tp} fp ${fp} fn ${fn}`);
    if (!new RegExp(`^predictions: .*${kind}\\.predictions\\.jsonl, ${N} sentences, at φ [\\d.]+$`, 'm').test(e.stderr)) throw new Error(`message: ${e.stderr}`);
    // Every bucket printed (gold per copy of the data: 1 word 3, 2 words 2, 3 words 1, 4+ 1; nested 2), counts summing to the micro ones.
    const byLength = table(e.stdout, /^by length in words/), byNesting = table(e.stdout, /^by nesting/);
    if ([...byLength.keys()].join() !== '1 word,2 words,3 words,4+ words' || [...byNesting.keys()].join() !== 'outermost,nested') throw new Error(`tables: ${e.stdout}`);
    const gold = (t: typeof byLength) => [...t.values()].map((x) => x.gold).join();
    if (gold(byLength) !== '6,4,2,2' || gold(byNesting) !== '10,4') throw new Error(`gold by length ${gold(byLength)}, by nesting ${gold(byNesting)}`);
    for (const t of [byLength, byNesting]) {
      const sum = (f: (x: { tp: number; predicted: number; found: number; gold: number }) => number) => [...t.values()].reduce((a, x) => a + f(x), 0);
      if (sum((x) => x.tp) !== tp || sum((x) => x.found) !== tp || sum((x) => x.predicted) !== tp + fp || sum((x) => x.gold) !== tp + fn) throw new Error(`a table does not sum to the micro counts: ${e.stdout}`);
    }
    if (JSON.stringify((Object.values(r.byLength) as { gold: number }[]).map((x) => x.gold)) !== '[6,4,2,2]' || r.byNesting.nested.gold !== 4) throw new Error(`JSON breakdowns: ${JSON.stringify(r)}`);
  });
}

s('--errors-only keeps the sentences with an error; a sweep writes the reported φ\'s predictions', () => {
  const all = readPredictions(join(dir, 'diffusionner.predictions.jsonl')).lines;
  const out = join(dir, 'errors.jsonl');
  const e = ok(cli('eval', '--model', dner, '--data', data, '--threshold', '0', '--predictions', out, '--errors-only'), 'eval --errors-only');
  const errors = readPredictions(out).lines, want = all.filter((x) => x.falsePositives.length || x.falseNegatives.length);
  if (JSON.stringify(errors) !== JSON.stringify(want) || !new RegExp(`, ${want.length} sentences? with errors \\(of ${N}\\), at φ 0$`, 'm').test(e.stderr)) throw new Error(`--errors-only: ${show(e)}`);
  const sweepOut = join(dir, 'sweep.jsonl'), sweepJson = join(dir, 'sweep.json');
  const sw = ok(cli('eval', '--model', dner, '--data', data, '--threshold', '0,2.9', '--predictions', sweepOut, '--json', sweepJson), 'a sweep with --predictions');
  const best = json(sweepJson).best, got = readPredictions(sweepOut);
  if (got.tp !== best.micro.tp || got.tp + got.fp !== best.micro.predicted || !new RegExp(`at φ ${best.threshold} \\(the best on this data, as reported\\)$`, 'm').test(sw.stderr)) throw new Error(`sweep: ${show(sw)} ${JSON.stringify(best.micro)}`);
  // Flat data without --mode nested: no nesting table (the JSON keeps it).
  const flat = join(dir, 'flat.jsonl');
  writeFileSync(flat, JSON.stringify(sentences[1]) + '\n');
  const f = ok(cli('eval', '--model', dner, '--data', flat, '--mode', 'flat', '--json', join(dir, 'flat.json')), 'eval on flat data');
  if (!/^by length in words/m.test(f.stdout) || /^by nesting/m.test(f.stdout) || json(join(dir, 'flat.json')).byNesting.outermost.gold !== 2) throw new Error(`flat: ${show(f)}`);
});

s('a missing output folder is one line before any work; --errors-only needs --predictions', () => {
  const missing = cli('eval', '--model', dner, '--data', data, '--predictions', join(dir, 'no', 'such', 'p.jsonl'));
  if (missing.status === 0 || missing.stderr.trim().split('\n').length !== 1 || !/p\.jsonl: its folder .* does not exist \(--predictions\)/.test(missing.stderr) || /evaluating/.test(missing.stderr)) throw new Error(`missing folder: ${show(missing)}`);
  const alone = cli('eval', '--model', dner, '--data', data, '--errors-only');
  if (alone.status !== 2 || !/--errors-only goes with --predictions FILE/.test(alone.stderr)) throw new Error(`--errors-only alone: ${show(alone)}`);
  if (readdirSync(dir).some((f) => f.includes('.tmp-'))) throw new Error('a temporary file was left behind');
  if (!/--predictions FILE +also write every sentence's gold and predicted entities/.test(ok(cli('eval', '--help'), 'eval --help').stdout)) throw new Error('eval --help lists --predictions');
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
