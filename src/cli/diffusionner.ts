/**
 * The `diffusionner` command: `train --config FILE`, `eval --model DIR --data FILE`, `predict --model DIR`.
 * Bad input exits non-zero with one line on stderr.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cpu as cpuDevice, getDevice } from '../tensor/device.js';
import { saveModelFolder, writeFileAtomic } from '../nn/folder.js';
import { averageModelFolders, canonicalJson } from '../nn/average.js';
import { checkTypes, countDataset, describeCounts, readSentences } from '../ner/data.js';
import { evaluateThresholds, loadTrained, train } from '../ner/trainer.js';
import { defaultTrainConfig, readTrainConfig } from '../ner/config.js';
import { formatSelection, OFFICIAL_THRESHOLD, readSelection, SELECTION_FILE } from '../ner/selection.js';
import { predictStream, readLines, type TaggedSentence } from '../ner/predict.js';
import { formatDenoising, formatModuleTable, traceSentence } from '../ner/trace.js';
import { formatProgress, readRunRecords, summariseEpochs } from '../ner/run-progress.js';
import { tokenizeText } from '../text/tokenize.js';
import { renderTraceHtml } from './trace-html.js';
import { kernelHelp, KERNELS, runKernel } from './kernel-playground.js';
import { pickVariant } from '../kernels/matmul.js';

const USAGE = `usage:
  diffusionner train --config FILE [--out DIR] [--resume] [--init MODEL_DIR] [--max-steps N] [--epochs N] [--lr X] [--seed N] [--keep-epoch-models] [--device webgpu|cpu]
  diffusionner train --train FILE [--dev FILE] [--test FILE] [--types FILE] [--mode flat|nested] [--out DIR] ...   (default settings)
  diffusionner eval --model DIR --data FILE [--gamma N or N,M,...] [--k-eval N or N,M,...] [--eta X] [--threshold X or X,Y,...] [--seed N] [--mode flat|nested] [--dedupe] [--json FILE]
  diffusionner trace --model DIR "text" [--json] [--html FILE] [--values] [--gamma N] [--k-eval N] [--eta X] [--threshold X] [--seed N] [--mode flat|nested] [--dedupe]
  diffusionner export --model DIR --out DIR [--f16]
  diffusionner average --out DIR MODEL_DIR MODEL_DIR ...   (checkpoint averaging: the mean of the models' weights)
  diffusionner progress RUN_DIR [--json]   (a training run's epochs so far: steps, time, mean losses, dev F1)
  diffusionner device [--json]   (the WebGPU adapter: name, features, limits, the matmul variant it gets)
  diffusionner kernel NAME [--shape a,b,...] [--device webgpu|cpu] [--seed N]   (diffusionner kernel --list)
  diffusionner predict --model DIR ["text" ["text" ...] | --file FILE | < stdin] [--json] [--gamma N] [--k-eval N] [--eta X] [--threshold X] [--seed N] [--mode flat|nested] [--dedupe] [--max-words N]   (one sentence per quoted text, or per line)`;

function die(msg: string): never {
  process.stderr.write(`diffusionner: ${msg}\n`);
  process.exit(2);
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) die(`--${name} expects a number, got '${v}'`);
  return n;
}

// The flags each command reads (as USAGE lists them): another command's flag is an error, never ignored.
const SAMPLING_FLAGS = ['gamma', 'k-eval', 'eta', 'threshold', 'seed', 'mode', 'dedupe'];
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  train: ['config', 'out', 'resume', 'init', 'max-steps', 'epochs', 'lr', 'seed', 'keep-epoch-models', 'device', 'train', 'dev', 'test', 'types', 'mode'],
  eval: ['model', 'data', 'json', 'device', ...SAMPLING_FLAGS],
  predict: ['model', 'file', 'json', 'max-words', 'device', ...SAMPLING_FLAGS],
  trace: ['model', 'json', 'html', 'values', 'device', ...SAMPLING_FLAGS],
  export: ['model', 'out', 'f16'],
  average: ['out'],
  kernel: ['list', 'shape', 'device', 'seed'],
  device: ['json'],
  progress: ['json'],
};
const COMMANDS = Object.keys(COMMAND_FLAGS);
// Errors stay one line; the usage is one flag away.
const SEE_HELP = '(diffusionner --help shows the usage)';

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help' || rest.includes('--help')) {
    // Asked for, the usage is the output; with no command at all it is the error.
    if (cmd === undefined) { process.stderr.write(`${USAGE}\n`); process.exit(2); }
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!COMMANDS.includes(cmd)) die(`unknown command '${cmd}'; the commands are ${COMMANDS.join(', ')} ${SEE_HELP}`);
  const options = {
    config: { type: 'string' }, out: { type: 'string' }, 'max-steps': { type: 'string' }, epochs: { type: 'string' },
    device: { type: 'string' }, model: { type: 'string' }, data: { type: 'string' }, gamma: { type: 'string' },
    'k-eval': { type: 'string' }, eta: { type: 'string' }, threshold: { type: 'string' }, seed: { type: 'string' },
    mode: { type: 'string' }, json: { type: cmd === 'eval' ? 'string' : 'boolean' }, resume: { type: 'boolean' },
    html: { type: 'string' }, values: { type: 'boolean' }, f16: { type: 'boolean' }, shape: { type: 'string' }, list: { type: 'boolean' },
    file: { type: 'string' }, 'max-words': { type: 'string' }, init: { type: 'string' }, lr: { type: 'string' }, 'keep-epoch-models': { type: 'boolean' }, dedupe: { type: 'boolean' },
    train: { type: 'string' }, dev: { type: 'string' }, test: { type: 'string' }, types: { type: 'string' },
  } as const;
  const parsed = (() => {
    try {
      return parseArgs({ args: rest, allowPositionals: cmd === 'predict' || cmd === 'trace' || cmd === 'kernel' || cmd === 'average' || cmd === 'progress', strict: true, options });
    } catch (e) {
      const unknown = /Unknown option '(-{1,2}[^']*)'/.exec((e as Error).message)?.[1];
      if (!unknown) throw e;
      const near = Object.keys(options).map((o) => [o, editDistance(unknown.replace(/^-+/, ''), o)] as const).sort((a, b) => a[1] - b[1])[0];
      return die(`unknown option ${unknown}${near && near[1] <= 2 ? ` (did you mean --${near[0]}?)` : ''} ${SEE_HELP}`);
    }
  })();
  const { values, positionals } = parsed;
  const foreign = Object.keys(values).filter((flag) => !COMMAND_FLAGS[cmd].includes(flag));
  if (foreign.length) die(`${cmd} does not take ${foreign.map((f) => `--${f}`).join(', ')} ${SEE_HELP}`);
  if (values.mode !== undefined && values.mode !== 'flat' && values.mode !== 'nested') die(`--mode must be flat or nested, got '${values.mode}'`);
  // Without --threshold or --mode, a model folder's φ chosen on dev and the decoding it was trained with
  // (selection.json) apply, else the official 2.5 and flat filtering.
  const selection = values.model && existsSync(values.model) ? readSelection(values.model) : undefined;
  const mode = (values.mode ?? selection?.mode ?? 'flat') as 'flat' | 'nested';
  const defaultThreshold = () => selection?.threshold ?? OFFICIAL_THRESHOLD;
  // eval takes comma-separated lists of these (a sweep); the other commands one value.
  const option = (name: 'gamma' | 'k-eval' | 'threshold') => num(cmd === 'eval' ? values[name]?.split(',')[0] : values[name], name);
  const sampling = () => ({
    steps: option('gamma') ?? 5, proposals: option('k-eval'), eta: num(values.eta, 'eta') ?? 1, threshold: option('threshold') ?? defaultThreshold(), mode,
    dedupe: !!values.dedupe,
  });
  const kind = values.device ?? process.env.DNER_DEVICE ?? 'webgpu';
  if (kind !== 'cpu' && kind !== 'webgpu') die(`--device must be cpu or webgpu, got '${kind}'`);
  // Inputs are checked before the GPU starts (Dawn prints its own notices when it does).
  const device = () => getDevice(kind);
  if (cmd === 'train') {
    if (!values.config && !values.train) die(`train needs --config FILE or --train FILE ${SEE_HELP}`);
    if (values.config && (values.train || values.dev || values.test || values.types)) die('train takes --config FILE or data files (--train/--dev/--test/--types), not both');
    if (values.config && values.mode) die(`train takes --mode only with data files; with --config the config's eval.mode says it (${values.config})`);
    const cfg = values.config ? readTrainConfig(values.config) : defaultTrainConfig(
      { train: values.train!, ...(values.dev ? { dev: values.dev } : {}), ...(values.test ? { test: values.test } : {}), ...(values.types ? { types: values.types } : {}) }, mode);
    for (const k of ['train', 'dev', 'test', 'types'] as const) {
      for (const f of [cfg.data[k] ?? []].flat()) if (!existsSync(f)) die(`${f}: no such file (data.${k})`);
    }
    if (values.out) cfg.out = values.out;
    cfg.out ??= 'runs/out';
    const maxSteps = num(values['max-steps'], 'max-steps'), epochs = num(values.epochs, 'epochs');
    for (const [flag, v] of [['max-steps', maxSteps], ['epochs', epochs]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) die(`--${flag} must be a whole number >= 1, got '${values[flag]}'`);
    }
    if (maxSteps !== undefined) cfg.train.maxSteps = maxSteps;
    if (epochs !== undefined) cfg.train.epochs = epochs;
    const lr = num(values.lr, 'lr'), seed = num(values.seed, 'seed');
    if (lr !== undefined) { if (!(lr > 0)) die(`--lr must be a positive number, got '${values.lr}'`); cfg.train.lr = lr; }
    if (seed !== undefined) { if (!Number.isInteger(seed) || seed < 0) die(`--seed must be a whole number >= 0, got '${values.seed}'`); cfg.train.seed = seed; }
    if (values['keep-epoch-models']) cfg.train.keepEpochModels = true;
    if (values.init && !existsSync(values.init)) die(`${values.init}: no such model folder (--init)`);
    if (values.init && !existsSync(join(values.init, 'vocab.txt'))) die(`${values.init}: not a DiffusionNER model folder (no vocab.txt) (--init)`);
    for (const k of ['train', 'dev', 'test'] as const) for (const f of [cfg.data[k] ?? []].flat()) readSentences(f);
    await train(cfg, await device(), { resume: !!values.resume, ...(values.init ? { init: values.init } : {}), progress: process.stderr.isTTY ? true : 'lines' });
  } else if (cmd === 'eval') {
    if (!values.model || !values.data) die(`eval needs --model DIR and --data FILE ${SEE_HELP}`);
    if (!existsSync(values.data)) die(`${values.data}: no such file (--data)`);
    const sents = readSentences(values.data);
    // --threshold 1.5,2,2.5 scores every φ from one DDIM run (choose φ on dev, then apply it to test);
    // lists of --gamma and --k-eval add one DDIM run per pair, for choosing the sampler on dev as well.
    const list = (v: string | undefined, name: string, whole: boolean) => (v ?? '').split(',').filter((x) => v !== undefined || x).map((x) => {
      const n = Number(x.trim());
      if (x.trim() === '' || !Number.isFinite(n) || (whole && (!Number.isInteger(n) || n < 1))) die(`--${name} expects ${whole ? 'a whole number >= 1' : 'a number'} or a comma-separated list, got '${v}'`);
      return n;
    });
    const phis = values.threshold === undefined ? [defaultThreshold()] : list(values.threshold, 'threshold', false);
    const gammas = list(values.gamma, 'gamma', true), kEvals = list(values['k-eval'], 'k-eval', true);
    const grid = gammas.length > 1 || kEvals.length > 1;
    const base = sampling();
    const dev = await device();
    const model = await loadTrained(values.model, dev);
    // A type the model does not know could never be predicted: an error naming the line, not a silent 0.
    checkTypes(sents, model.c.types);
    const counts = countDataset(sents);
    process.stderr.write(`${describeCounts(basename(values.data), counts)}\n`);
    if (counts.nested && mode === 'flat' && !values.mode) process.stderr.write(`warning: ${counts.nested} entities of ${basename(values.data)} contain another, but filtering is flat (${selection?.mode ? `as ${join(values.model, SELECTION_FILE)} records` : 'the default: the model folder records no mode'}), which never predicts both of a nested pair; --mode nested filters for nested data\n`);
    type Scored = Awaited<ReturnType<typeof evaluateThresholds>>[number] & { gamma: number; kEval: number | undefined };
    const all: Scored[] = [];
    for (const gamma of gammas.length ? gammas : [base.steps]) {
      for (const kEval of kEvals.length ? kEvals : [base.proposals]) {
        const o = { ...base, steps: gamma, proposals: kEval, threshold: phis[0] };
        const scored = await evaluateThresholds(model, sents, dev, o, phis, num(values.seed, 'seed') ?? 0, process.stderr.isTTY ? true : 'lines');
        all.push(...scored.map((x) => ({ ...x, gamma: o.steps, kEval: o.proposals ?? model.c.proposals })));
      }
    }
    const label = (x: Scored) => `${grid ? `γ ${x.gamma} K ${x.kEval} ` : ''}φ ${x.threshold}`;
    for (const x of all.length > 1 ? all : []) console.log(`${label(x)}: P ${x.micro.precision.toFixed(2)}  R ${x.micro.recall.toFixed(2)}  F1 ${x.micro.f1.toFixed(2)}`);
    const r = all.length > 1 ? all.reduce((a, b) => (b.micro.f1 > a.micro.f1 ? b : a)) : all[0];
    if (all.length > 1) console.log(`best on this data: ${label(r)}`);
    const where = join(values.model, SELECTION_FILE);
    const source = (values.threshold ? '' : selection ? `, φ ${r.threshold} as chosen in ${where}` : `, φ ${r.threshold} (official default)`)
      + (values.mode ? '' : selection?.mode ? `, ${mode} filtering as recorded in ${where}` : `, ${mode} filtering (default; --mode nested for nested data)`);
    console.log(`P ${r.micro.precision.toFixed(2)}  R ${r.micro.recall.toFixed(2)}  F1 ${r.micro.f1.toFixed(2)}  (${r.sentencesPerSecond.toFixed(1)} sentences/s${source})`);
    for (const [t, sc] of Object.entries(r.perType)) console.log(`  ${t.padEnd(12)} P ${sc.precision.toFixed(2)}  R ${sc.recall.toFixed(2)}  F1 ${sc.f1.toFixed(2)}`);
    if (typeof values.json === 'string') writeFileAtomic(values.json, JSON.stringify(all.length > 1 ? { best: r, sweep: all } : r, null, 1));
  } else if (cmd === 'progress') {
    if (positionals.length !== 1) die('progress needs one run folder: diffusionner progress RUN_DIR');
    const r = readRunRecords(positionals[0]);
    if (values.json) console.log(JSON.stringify({ state: r.state, epochs: summariseEpochs(r.epochs, r.steps), ...(r.test ? { test: r.test } : {}) }, null, 1));
    else console.log(formatProgress(r));
  } else if (cmd === 'device') {
    // The adapter whatever DNER_DEVICE says: this command is about the WebGPU side.
    const gpu = await getDevice('webgpu');
    if (gpu.kind !== 'webgpu') die('no WebGPU adapter');
    const r = gpu.backend.report;
    const matmul = pickVariant(gpu, { batch: 1, M: 1024, N: 1024, K: 1024, transA: false, transB: false, aStride: 0, bStride: 0, act: 'none' }).variant;
    if (values.json) { console.log(JSON.stringify({ ...r, timestampQueries: gpu.backend.hasTimestamps, matmulVariant: matmul }, null, 1)); return; }
    console.log(`${r.description} (vendor ${r.vendor || '?'}, architecture ${r.architecture || '?'}${r.isSoftware ? ', software rasteriser' : ''})`);
    console.log(`subgroups: ${r.subgroupSize ? `${r.subgroupSize} lanes` : 'off'}; timestamp queries: ${gpu.backend.hasTimestamps ? 'yes' : 'no'}; matmul variant: ${matmul}`);
    console.log(`features: ${r.features.join(', ')}`);
    console.log('limits:');
    for (const [k, v] of Object.entries(r.limits)) console.log(`  ${k.padEnd(44)} ${v}`);
  } else if (cmd === 'kernel') {
    const [name] = positionals;
    if (values.list || !name) { console.log(`kernels:\n${kernelHelp()}`); return; }
    if (!KERNELS[name]) die(`unknown kernel '${name}'; kernels: ${Object.keys(KERNELS).join(', ')}`);
    const shape = values.shape?.split(',').map((v) => Number(v.trim()));
    if (shape && shape.some((d) => !Number.isInteger(d) || d < 1)) die(`--shape expects positive whole numbers separated by commas, got '${values.shape}'`);
    const r = await runKernel(name, shape, await device(), num(values.seed, 'seed') ?? 0);
    const dims = Object.entries(r.shape).map(([k, v]) => `${k}=${v}`).join(' ');
    console.log(`${r.kernel} (${dims}) on ${r.device}: max |error| vs cpu reference ${r.maxAbsError.toExponential(2)} (${r.maxRelError.toExponential(2)} of the largest value); ${r.ms.toFixed(3)} ms (${r.timing}, best of 5)${r.rate ? `, ${r.rate}` : ''}`);
  } else if (cmd === 'export') {
    if (!values.model || !values.out) die(`export needs --model DIR and --out DIR ${SEE_HELP}`);
    if (!existsSync(values.model)) die(`${values.model}: no such model folder`);
    const model = await loadTrained(values.model, cpuDevice);
    const { vocab, ...config } = model.c;
    await saveModelFolder(values.out, model, config, { 'vocab.txt': vocab.join('\n') + '\n', ...(selection ? { [SELECTION_FILE]: formatSelection(selection) } : {}) }, { f16: !!values.f16 });
    const size = statSync(join(values.out, 'model.safetensors')).size;
    console.log(`wrote ${values.out} (${(size / 2 ** 20).toFixed(1)} MiB of weights${values.f16 ? ', f16' : ''})`);
  } else if (cmd === 'average') {
    if (!values.out || positionals.length < 2) die('average needs --out DIR and at least two model folders: diffusionner average --out DIR MODEL_DIR MODEL_DIR ...');
    for (const d of positionals) if (!existsSync(d)) die(`${d}: no such model folder`);
    if (positionals.some((d) => resolve(d) === resolve(values.out!))) die(`--out ${values.out} is one of the folders being averaged`);
    // Compared as loaded (defaults filled in): train writes the given settings, export all of them.
    const architectures = new Map<string, string>();
    for (const d of positionals) {
      const m = await loadTrained(d, cpuDevice);
      const { vocab: _vocab, init: _init, clitics: _clitics, ...settings } = m.c; // neither the initialisation nor text splitting is the architecture
      architectures.set(d, canonicalJson(settings));
      m.dispose();
    }
    const r = averageModelFolders(positionals, values.out, ['vocab.txt'], (d) => architectures.get(d)!);
    (await loadTrained(values.out, cpuDevice)).dispose();
    console.log(`wrote ${values.out}: the mean of ${positionals.length} models (${r.parameters.toLocaleString('en')} parameters in ${r.tensors} tensors); φ is the official ${OFFICIAL_THRESHOLD} unless --threshold is given`);
  } else if (cmd === 'trace') {
    if (!values.model) die(`trace needs --model DIR ${SEE_HELP}`);
    if (!existsSync(values.model)) die(`${values.model}: no such model folder`);
    const text = positionals.join(' ');
    if (!text.trim()) die('trace needs a sentence, e.g. diffusionner trace --model DIR "Obama visited Paris ."');
    const dev = await device();
    const model = await loadTrained(values.model, dev);
    const tokens = tokenizeText(text, model.c.clitics).map((t) => t.text);
    const t = await traceSentence(model, dev, tokens, { ...sampling(), seed: num(values.seed, 'seed') ?? 0, values: !!values.values });
    if (values.json) console.log(JSON.stringify(t));
    else {
      console.log(`${tokens.join(' ')}\n`);
      const first = t.steps.length ? `step 1 ` : '';
      console.log(formatModuleTable(t, (ph) => ph === 'encode' || ph.startsWith(first)));
      if (t.steps.length > 1) console.log(`(steps 2..${t.steps.length} run the same decoder modules again; --json lists every call)`);
      console.log(`\nDenoising (${t.steps.length} DDIM steps, K = ${t.options.proposals}):`);
      console.log(formatDenoising(t));
      console.log(`\nentities: ${t.entities.length ? t.entities.map((e) => `${e.text} [${e.type}]`).join(', ') : '(none)'}`);
    }
    if (values.html) {
      writeFileAtomic(values.html, renderTraceHtml(t));
      process.stderr.write(`wrote ${values.html}\n`);
    }
  } else if (cmd === 'predict') {
    if (!values.model) die(`predict needs --model DIR ${SEE_HELP}`);
    if (values.file && positionals.length) die('predict takes a text argument or --file, not both');
    if (values.file && !existsSync(values.file)) die(`${values.file}: no such file`);
    if (values.file && !statSync(values.file).isFile()) die(`${values.file}: not a file (--file)`);
    if (!existsSync(values.model)) die(`${values.model}: no such model folder`);
    const maxWords = num(values['max-words'], 'max-words');
    if (maxWords !== undefined && !(maxWords >= 1)) die('--max-words must be at least 1');
    const dev = await device();
    const model = await loadTrained(values.model, dev);
    // Several quoted texts are several sentences; several bare words are one sentence the shell split.
    const texts = positionals.length > 1 && positionals.some((p) => /\s/.test(p)) ? positionals : [positionals.join(' ')];
    const lines = positionals.length
      ? (async function* () { yield* texts.flatMap((t) => t.split('\n')).map((text, i) => ({ text, line: i + 1 })); })()
      : values.file ? readLines(createReadStream(values.file), values.file) : readLines(process.stdin, 'stdin');
    const emit = (s: TaggedSentence) => {
      if (values.json) { console.log(JSON.stringify(s)); return; }
      console.log(s.tokens.join(' '));
      for (const e of s.entities) console.log(`  ${e.type.padEnd(8)} ${e.text}  [${e.start}, ${e.end})  ${e.score.toFixed(2)}`);
      if (!s.entities.length) console.log('  (no entities)');
    };
    const r = await predictStream(model, dev, lines, { ...sampling(), seed: num(values.seed, 'seed') ?? 0, maxWords }, emit);
    if (r.sentences === 0) die('no text to tag (the input is empty)');
    const split = r.split ? `; ${r.split} line(s) longer than ${maxWords ?? 256} words were split` : '';
    process.stderr.write(`${r.sentences} sentence(s), ${r.entities} entities, ${(r.sentences / r.seconds).toFixed(1)} sentences/s${split}\n`);
  }
}

main(process.argv.slice(2)).then(() => process.exit(0), (e: Error) => die(e.message.split('\n')[0]));

/** Levenshtein distance, for suggesting the option a misspelled one meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
