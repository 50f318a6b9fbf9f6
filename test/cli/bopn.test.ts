/**
 * BOPN end to end from the command line, as DiffusionNER: train (a tiny config, --max-steps inside the first
 * epoch, and --kind bopn with data files), eval (the P/R/F1 line, a φ sweep, --decoding and
 * --overlap-filter), predict (text and JSONL), trace (text and JSON), export --f16 and average; another
 * kind's inference flags refused with one line; and the public API's loadModel(dir).tag on a BOPN folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { loadModel } from '../../src/api.js';
import { writeTinyTrainingConfig } from '../helpers.js';

const s = suite('BOPN through the command and the API');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-cli-bopn-'));
const cli = (...args: string[]) => cliOn('cpu', ...args);
const cliOn = (device: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, DNER_DEVICE: device }, timeout: 120_000 });
const show = (r: ReturnType<typeof cli>) => `status ${r.status}, stdout ${JSON.stringify(r.stdout.slice(0, 2000))}, stderr ${JSON.stringify(r.stderr.slice(-2000))}`;
const ok = (r: ReturnType<typeof cli>, what: string) => { if (r.status !== 0) throw new Error(`${what}: ${show(r)}`); return r; };
const oneLineError = (r: ReturnType<typeof cli>, pattern: RegExp, what: string) => {
  if (r.status !== 2 || r.stderr.trim().split('\n').length !== 1 || !pattern.test(r.stderr)) throw new Error(`${what}: ${show(r)}`);
};
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

// 12 sentences, two types; batch 3 makes 4 steps an epoch.
const data = join(dir, 'train.jsonl');
const text = 'x w2 Paris y John Smith';
writeFileSync(data, Array.from({ length: 12 }, (_, i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris', 'y', 'John', 'Smith'], entities: [{ start: 2, end: 3, type: 'LOC' }, { start: 4, end: 6, type: 'PER' }] })).join('\n') + '\n');
const config = (name: string, epochs: number) => {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    data: { train: data, dev: data, test: data },
    model: { kind: 'bopn', hidden: 16, embedding: 8, charEmbedding: 4, charFilters: 4, lstmLayers: 1, biaffine: 16, gridEmbedding: 4, dropout: 0, embeddingDropout: 0, outDropout: 0 },
    train: { epochs, batch: 3, lr: 2e-2, checkpointEvery: 4, seed: 3 }, eval: { mode: 'flat', thresholds: [0, 0.5] }, out: join(dir, name),
  }));
  return file;
};
const model = join(dir, 'run', 'model');
const diffusionner = join(dir, 'dner', 'model');

s('train: a BOPN folder from a config; --max-steps inside the first epoch still writes OUT/model (both kinds); --kind bopn with data files', () => {
  ok(cli('train', '--config', config('run', 6)), 'train');
  const cfg = json(join(model, 'config.json')), selection = json(join(model, 'selection.json'));
  if (cfg.kind !== 'bopn' || cfg.decoding !== 'centres' || cfg.overlapFilter !== false) throw new Error(`config.json: ${JSON.stringify(cfg)}`);
  if (![0, 0.5].includes(selection.threshold) || selection.mode !== 'flat' || !existsSync(join(model, 'model.safetensors.sha256'))) throw new Error(`selection.json: ${JSON.stringify(selection)}`);
  // Two steps of four: the run stops inside epoch 1 and still keeps a model folder.
  for (const [kind, cfgFile, out] of [['bopn', config('short', 6), join(dir, 'short')], ['diffusionner', writeTinyTrainingConfig(dir, 'dner', data, { epochs: 2, checkpointEvery: 1 }), join(dir, 'dner')]]) {
    const t = ok(cli('train', '--config', cfgFile, '--max-steps', '2'), `${kind} --max-steps 2`);
    const metrics = json(join(out, 'metrics.json'));
    if (metrics.state !== 'stopped' || metrics.stoppedBy !== 'maxSteps' || metrics.epochs.length !== 1 || metrics.epochs[0].complete !== false || metrics.epochs[0].steps !== 2) throw new Error(`${kind} metrics.json: ${JSON.stringify(metrics)}`);
    for (const f of ['config.json', 'model.safetensors', 'model.safetensors.sha256', 'vocab.txt', 'selection.json']) if (!existsSync(join(out, 'model', f))) throw new Error(`${kind}: --max-steps 2 wrote no model/${f}: ${t.stderr}`);
    if (json(join(out, 'model', 'config.json')).kind !== kind) throw new Error(`${kind}: config.json kind`);
  }
  // Data files with --kind bopn: BOPN's defaults (--mode nested: vote decoding and the 3-D convolution).
  ok(cli('train', '--train', data, '--kind', 'bopn', '--mode', 'nested', '--max-steps', '1', '--out', join(dir, 'bykind')), 'train --kind bopn');
  const byKind = json(join(dir, 'bykind', 'model', 'config.json'));
  if (byKind.kind !== 'bopn' || byKind.decoding !== 'votes' || byKind.conv !== true || json(join(dir, 'bykind', 'model', 'selection.json')).mode !== 'nested') throw new Error(`--kind bopn --mode nested: ${JSON.stringify(byKind)}`);
  oneLineError(cli('train', '--config', config('run', 6), '--kind', 'bopn'), /train takes --kind only with data files; with --config the config's model\.kind says it/, '--kind with --config');
  oneLineError(cli('train', '--train', data, '--kind', 'cofee', '--out', join(dir, 'unknown-kind')), /--kind must be one of diffusionner, bopn, binder, got 'cofee'/, 'an unknown kind');
  if (!/--kind diffusionner\|bopn\|binder +with data files: the kind of model/.test(ok(cli('train', '--help'), 'train --help').stdout)) throw new Error('train --help lists --kind');
});

s('eval: the P/R/F1 line, a φ sweep, --decoding and --overlap-filter', () => {
  const e = ok(cli('eval', '--model', model, '--data', data, '--json', join(dir, 'eval.json')), 'eval');
  if (!/^P [\d.]+ {2}R [\d.]+ {2}F1 [\d.]+ {2}\(.*φ (0|0\.5) as chosen in .*, decoding centres \(the model's\), no overlap filter/m.test(e.stdout) || !/^ {2}LOC +P /m.test(e.stdout)) throw new Error(`eval: ${show(e)}`);
  if (!(json(join(dir, 'eval.json')).micro.f1 > 50)) throw new Error(`the tiny model learns its data: ${e.stdout}`);
  // φ is a probability: a sweep keeps fewer entities as it rises, and φ 1 no more than φ 0.5.
  const sw = ok(cli('eval', '--model', model, '--data', data, '--threshold', '0,0.5,1', '--json', join(dir, 'sweep.json')), 'sweep');
  const sweep = json(join(dir, 'sweep.json')).sweep;
  if ((sw.stdout.match(/^φ (0|0\.5|1): P /gm) ?? []).length !== 3 || sweep.length !== 3 || !(sweep[0].micro.predicted >= sweep[1].micro.predicted) || sweep[2].micro.predicted > sweep[1].micro.predicted) throw new Error(`sweep: ${show(sw)}`);
  const v = ok(cli('eval', '--model', model, '--data', data, '--decoding', 'votes', '--overlap-filter', '--mode', 'flat'), 'eval --decoding votes --overlap-filter');
  if (!/^P [\d.]+ {2}R [\d.]+ {2}F1 [\d.]+ .*decoding votes\)$/m.test(v.stdout)) throw new Error(`eval --decoding votes: ${show(v)}`);
  const o = ok(cli('eval', '--model', model, '--data', data, '--decoding', 'offsets', '--overlap-filter'), 'eval --decoding offsets --overlap-filter');
  if (!/decoding offsets, flat filtering as recorded in/.test(o.stdout)) throw new Error(`eval --overlap-filter: ${show(o)}`);
  oneLineError(cli('eval', '--model', model, '--data', data, '--decoding', 'all'), /--decoding must be one of centres, offsets, votes, got 'all'/, 'a bad --decoding');
  if (!/--decoding centres\|offsets\|votes +BOPN: how the label grid is read/.test(ok(cli('eval', '--help'), 'eval --help').stdout)) throw new Error('eval --help lists --decoding');
});

s('predict: text and JSONL, entity objects with scores in [0, 1]', () => {
  const p = ok(cli('predict', '--model', model, text), 'predict');
  if (!p.stdout.startsWith(`${text}\n`) || !/^ {2}LOC +Paris +\[5, 10\) +[\d.]+$/m.test(p.stdout)) throw new Error(`predict: ${show(p)}`);
  const j = ok(cli('predict', '--model', model, '--output', 'jsonl', '--decoding', 'offsets', text, 'Paris y'), 'predict --output jsonl');
  const rows = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
  if (rows.length !== 2 || !rows[0].entities.length) throw new Error(`predict jsonl: ${show(j)}`);
  for (const e of rows[0].entities) {
    if (text.slice(e.start, e.end) !== e.text || !(e.score >= 0 && e.score <= 1) || !['LOC', 'PER'].includes(e.type)) throw new Error(`entity object: ${JSON.stringify(e)}`);
  }
  if (!rows[0].entities.some((e: { type: string; text: string }) => e.type === 'PER' && e.text === 'John Smith')) throw new Error(`predict: no John Smith: ${j.stdout}`);
});

s('trace: the label grids and the offset votes as text, and JSON of kind bopn', () => {
  const t = ok(cli('trace', '--model', model, text), 'trace');
  if (!t.stdout.includes('Label grids') || !t.stdout.includes('Offset votes (S = 2; decoding centres)') || !/^entities: .*John Smith \[PER\]/m.test(t.stdout)) throw new Error(`trace: ${show(t)}`);
  const j = ok(cli('trace', '--model', model, '--json', '--decoding', 'votes', '--overlap-filter', text), 'trace --json');
  const tr = JSON.parse(j.stdout);
  if (tr.kind !== 'bopn' || tr.tokens.join(' ') !== text || tr.grids.length !== 2 || tr.options.decoding !== 'votes' || tr.options.overlapFilter !== true || !Array.isArray(tr.entities)) throw new Error(`trace --json: ${j.stdout.slice(0, 500)}`);
});

s('export --f16 and average: BOPN folders with their kind, selection and checksum', () => {
  const small = join(dir, 'small');
  const ex = ok(cli('export', '--model', model, '--out', small, '--f16'), 'export');
  if (!/wrote .*f16/.test(ex.stdout)) throw new Error(`export: ${show(ex)}`);
  if (json(join(small, 'config.json')).kind !== 'bopn' || JSON.stringify(json(join(small, 'selection.json'))) !== JSON.stringify(json(join(model, 'selection.json'))) || !existsSync(join(small, 'model.safetensors.sha256'))) throw new Error('export keeps the kind, the selection and a checksum');
  const p = ok(cli('predict', '--model', small, '--json', text), 'predict with the f16 copy');
  if (!JSON.parse(p.stdout).entities.some((e: { text: string }) => e.text === 'John Smith')) throw new Error(`the f16 copy: ${p.stdout}`);
  const avg = join(dir, 'avg');
  const a = ok(cli('average', '--out', avg, model, small), 'average');
  if (!/the mean of 2 models.*the threshold is the default 0 unless --threshold is given/.test(a.stdout)) throw new Error(`average: ${show(a)}`);
  if (json(join(avg, 'config.json')).kind !== 'bopn' || !existsSync(join(avg, 'model.safetensors.sha256'))) throw new Error('average keeps the kind and writes a checksum');
  const e = ok(cli('eval', '--model', avg, '--data', data), 'eval of the average');
  if (!/^P [\d.]+ {2}R [\d.]+ {2}F1 [\d.]+ .*φ 0 \(the model's default\)/m.test(e.stdout)) throw new Error(`eval of the average: ${show(e)}`);
  // A BOPN folder and a DiffusionNER one are not one architecture.
  oneLineError(cli('average', '--out', join(dir, 'mixed'), model, diffusionner), /differs from .*only models of one architecture can be averaged/, 'average of two kinds');
});

s('another kind\'s inference flags: one line naming the flag and the model\'s kind', () => {
  const bopnRefuses = /--(gamma|k-eval|eta|start-t) does not apply to a bopn model \(.*\): it is for diffusionner models; bopn takes --decoding, --overlap-filter/;
  oneLineError(cli('eval', '--model', model, '--data', data, '--gamma', '2'), bopnRefuses, 'eval --gamma with BOPN');
  oneLineError(cli('predict', '--model', model, '--k-eval', '4', text), bopnRefuses, 'predict --k-eval with BOPN');
  oneLineError(cli('predict', '--model', model, '--eta', '0', text), bopnRefuses, 'predict --eta with BOPN');
  oneLineError(cli('trace', '--model', model, '--start-t', '500', text), bopnRefuses, 'trace --start-t with BOPN');
  const dnerRefuses = /--(decoding|overlap-filter) does not apply to a diffusionner model \(.*\): it is for bopn models; diffusionner takes --gamma, --k-eval, --eta, --start-t/;
  oneLineError(cli('eval', '--model', diffusionner, '--data', data, '--decoding', 'votes'), dnerRefuses, 'eval --decoding with DiffusionNER');
  oneLineError(cli('predict', '--model', diffusionner, '--overlap-filter', text), dnerRefuses, 'predict --overlap-filter with DiffusionNER');
  oneLineError(cli('trace', '--model', diffusionner, '--decoding', 'centres', text), dnerRefuses, 'trace --decoding with DiffusionNER');
  // Flags of its own kind still work on a DiffusionNER folder.
  ok(cli('predict', '--model', diffusionner, '--gamma', '2', '--k-eval', '4', text), 'predict --gamma with DiffusionNER');
});

s('webgpu: predict finds the entities the cpu device finds', () => {
  if (cliOn('webgpu', 'device').status !== 0) {
    if (process.env.CI === 'true' || process.env.DNER_ALLOW_NO_WEBGPU !== '1') throw new Error('no WebGPU adapter (DNER_ALLOW_NO_WEBGPU=1 skips this)');
    console.warn('*** WebGPU unavailable: the BOPN webgpu run is skipped');
    return;
  }
  const spans = (r: ReturnType<typeof cli>) => (JSON.parse(r.stdout).entities as { type: string; start: number; end: number; score: number }[]).map((e) => ({ key: `${e.type} ${e.start} ${e.end}`, score: e.score }));
  const gpu = spans(ok(cliOn('webgpu', 'predict', '--model', model, '--json', text), 'predict on webgpu')), cpu = spans(ok(cli('predict', '--model', model, '--json', text), 'predict on cpu'));
  if (gpu.map((e) => e.key).join() !== cpu.map((e) => e.key).join() || gpu.some((e, i) => Math.abs(e.score - cpu[i].score) > 1e-3)) throw new Error(`webgpu ${JSON.stringify(gpu)}, cpu ${JSON.stringify(cpu)}`);
});

s('the public API: loadModel(dir).tag, evaluate and trace on a BOPN folder', async () => {
  const m = await loadModel(model, { device: 'cpu' });
  try {
    if (m.kind !== 'bopn' || m.types.join() !== 'LOC,PER') throw new Error(`kind ${m.kind}, types ${m.types}`);
    const doc = await m.tag(text);
    if (!doc.entities.some((e) => e.type === 'PER' && e.text === 'John Smith' && e.score >= 0 && e.score <= 1)) throw new Error(`tag: ${JSON.stringify(doc.entities)}`);
    const offsets = await m.tag(text, { inference: { decoding: 'offsets' } });
    if (offsets.entities.length < doc.entities.length) throw new Error('offsets decoding keeps the centres and adds the voted spans');
    const r = await m.evaluate(data);
    if (!(r.micro.f1 > 50) || r.threshold !== json(join(model, 'selection.json')).threshold) throw new Error(`evaluate: ${JSON.stringify(r.micro)}`);
    const t = await m.trace(text) as { kind: string };
    if (t.kind !== 'bopn' || !m.formatTrace(t).includes('Offset votes')) throw new Error('trace');
  } finally { m.dispose(); }
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
