import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../nn/folder.js';
import { checkTypes, countDataset, describeCounts, readSentences } from '../../ner/data.js';
import { DEFAULT_SEED } from '../../ner/defaults.js';
import { SELECTION_FILE } from '../../ner/selection.js';
import { evaluateThresholds } from '../../ner/train/evaluate.js';
import type { Command } from '../command.js';
import { checkOutputPath, decodingOf, deviceOf, inferenceOf, loadModelOf, modelDirOf } from '../common.js';
import { UsageError } from '../parse.js';

export const evalCommand: Command = {
  name: 'eval',
  usage: 'eval --model DIR --data FILE [--gamma N,...] [--k-eval N,...] [--eta X] [--decoding centres|offsets|votes] [--overlap-filter] [--threshold X,...] [--seed N] [--mode flat|nested] [--dedupe] [--json FILE] [--device webgpu|cpu] [--no-verify]',
  summary: 'Scores a model on labelled data: strict micro and per-type precision, recall and F1. Lists of --threshold values are scored from one inference (choose φ on dev, then apply it to test); lists of --gamma and --k-eval (DiffusionNER) add one run per pair.',
  flags: ['model', 'data', ['json', { type: 'string', arg: 'FILE', value: 'path', help: 'also write the scores (and a sweep\'s every point) as JSON to FILE' }],
    'gamma', 'k-eval', 'eta', 'decoding', 'overlap-filter', 'threshold', 'seed', 'mode', 'dedupe', 'device', 'no-verify'],
  positionals: false,
  lists: ['gamma', 'k-eval', 'threshold'],
  async run({ values }) {
    if (!values.model || !values.data) throw new UsageError('eval needs --model DIR and --data FILE');
    const data = values.data as string;
    const { dir, selection } = modelDirOf('eval', values);
    if (!existsSync(data)) throw new Error(`${data}: no such file (--data)`);
    if (typeof values.json === 'string') checkOutputPath(values.json, '--json');
    const sents = readSentences(data);
    const dev = await deviceOf(values);
    const model = await loadModelOf(dir, dev, values);
    // A type the model does not know could never be predicted: an error naming the line, not a silent 0.
    checkTypes(sents, model.types);
    const counts = countDataset(sents);
    const decoding = decodingOf({ ...values, threshold: undefined }, model, selection);
    const mode = decoding.mode;
    // A model with its own overlap filter setting (BOPN) filters by --mode only when that is on.
    const own = model.folder().config;
    const unfiltered = own.overlapFilter === false && !values['overlap-filter'];
    process.stderr.write(`${describeCounts(basename(data), counts)}\n`);
    if (counts.nested && mode === 'flat' && !values.mode && !unfiltered) process.stderr.write(`warning: ${counts.nested} entities of ${basename(data)} contain another, but filtering is flat (${selection?.mode ? `as ${join(dir, SELECTION_FILE)} records` : 'the default: the model folder records no mode'}), which never predicts both of a nested pair; --mode nested filters for nested data\n`);
    const phis = (values.threshold as number[] | undefined) ?? [decoding.threshold];
    const gammas = (values.gamma as number[] | undefined) ?? [undefined], kEvals = (values['k-eval'] as number[] | undefined) ?? [undefined];
    const grid = gammas.length > 1 || kEvals.length > 1;
    type Scored = Awaited<ReturnType<typeof evaluateThresholds>>[number] & { gamma?: number; kEval?: number };
    const all: Scored[] = [];
    for (const gamma of gammas) {
      for (const kEval of kEvals) {
        const settings = { ...inferenceOf({ ...values, gamma, 'k-eval': kEval }), mode, dedupe: decoding.dedupe };
        const scored = await evaluateThresholds(model, sents, dev, settings, phis, (values.seed as number | undefined) ?? DEFAULT_SEED, process.stderr.isTTY ? true : 'lines');
        all.push(...scored.map((x) => ({ ...x, gamma, kEval })));
      }
    }
    const label = (x: Scored) => `${x.gamma !== undefined && grid ? `γ ${x.gamma} ` : ''}${x.kEval !== undefined && grid ? `K ${x.kEval} ` : ''}φ ${x.threshold}`;
    for (const x of all.length > 1 ? all : []) console.log(`${label(x)}: P ${x.micro.precision.toFixed(2)}  R ${x.micro.recall.toFixed(2)}  F1 ${x.micro.f1.toFixed(2)}`);
    const r = all.length > 1 ? all.reduce((a, b) => (b.micro.f1 > a.micro.f1 ? b : a)) : all[0];
    if (all.length > 1) console.log(`best on this data: ${label(r)}`);
    const where = join(dir, SELECTION_FILE);
    const source = (values.threshold ? '' : selection ? `, φ ${r.threshold} as chosen in ${where}` : `, φ ${r.threshold} (the model's default)`)
      + (typeof own.decoding === 'string' ? `, decoding ${(values.decoding as string | undefined) ?? `${own.decoding} (the model's)`}` : '')
      + (unfiltered ? ', no overlap filter (--overlap-filter applies --mode)'
        : values.mode ? '' : selection?.mode ? `, ${mode} filtering as recorded in ${where}` : `, ${mode} filtering (default; --mode nested for nested data)`);
    console.log(`P ${r.micro.precision.toFixed(2)}  R ${r.micro.recall.toFixed(2)}  F1 ${r.micro.f1.toFixed(2)}  (${r.sentencesPerSecond.toFixed(1)} sentences/s${source})`);
    for (const [t, sc] of Object.entries(r.perType)) console.log(`  ${t.padEnd(12)} P ${sc.precision.toFixed(2)}  R ${sc.recall.toFixed(2)}  F1 ${sc.f1.toFixed(2)}`);
    if (typeof values.json === 'string') writeFileAtomic(values.json, JSON.stringify(all.length > 1 ? { best: r, sweep: all } : r, null, 1));
    model.dispose();
  },
};
