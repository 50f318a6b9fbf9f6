import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../nn/folder.js';
import { checkTypes, countDataset, describeCounts, readSentences } from '../../ner/data.js';
import { DEFAULT_SEED } from '../../ner/defaults.js';
import { SELECTION_FILE } from '../../ner/selection.js';
import type { BucketScores } from '../../ner/metrics.js';
import { evaluateThresholds } from '../../ner/train/evaluate.js';
import type { Command } from '../command.js';
import { checkOutputPath, decodingOf, deviceOf, inferenceOf, loadModelOf, modelDirOf } from '../common.js';
import { UsageError } from '../parse.js';

export const evalCommand: Command = {
  name: 'eval',
  usage: 'eval --model DIR --data FILE [--gamma N,...] [--k-eval N,...] [--eta X] [--decoding centres|offsets|votes] [--overlap-filter] [--threshold X,...] [--seed N] [--mode flat|nested] [--dedupe] [--json FILE] [--predictions FILE [--errors-only]] [--device webgpu|cpu] [--adapter N|NAME] [--no-verify]',
  summary: 'Scores a model on labelled data: strict micro and per-type precision, recall and F1, then the same by entity length in words (1, 2, 3, 4+) and, on nested data or with --mode nested, for outermost and nested entities. Lists of --threshold values are scored from one inference (choose φ on dev, then apply it to test); lists of --gamma and --k-eval (DiffusionNER) add one run per pair.',
  more: 'Length: a predicted entity\'s length counts for precision, a gold entity\'s for recall. Nesting: an entity is nested when another entity of its own set (the sentence\'s gold entities for recall, its predicted ones for precision) contains it, outermost otherwise. --predictions writes one line per sentence, {origin, tokens, gold, predicted, falsePositives, falseNegatives}, entities as {start, end (exclusive word indices), type, text} and predicted ones with score (confidence in [0, 1]); with a sweep or a grid, the predictions are those of the reported (best) setting, which the message names.',
  flags: ['model', 'data', ['json', { type: 'string', arg: 'FILE', value: 'path', help: 'also write the scores (with the breakdowns by length and nesting, and a sweep\'s every point) as JSON to FILE' }],
    'predictions', 'errors-only', 'gamma', 'k-eval', 'eta', 'decoding', 'overlap-filter', 'threshold', 'seed', 'mode', 'dedupe', 'device', 'adapter', 'no-verify'],
  positionals: false,
  lists: ['gamma', 'k-eval', 'threshold'],
  async run({ values }) {
    if (!values.model || !values.data) throw new UsageError('eval needs --model DIR and --data FILE');
    const data = values.data as string;
    const { dir, selection } = modelDirOf('eval', values);
    if (!existsSync(data)) throw new Error(`${data}: no such file (--data)`);
    if (typeof values.json === 'string') checkOutputPath(values.json, '--json');
    const predictionsFile = values.predictions as string | undefined;
    if (predictionsFile !== undefined) checkOutputPath(predictionsFile, '--predictions');
    if (values['errors-only'] && predictionsFile === undefined) throw new UsageError('--errors-only goes with --predictions FILE: it selects the sentences written there');
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
    // The reported result: the first with the highest F1 (a single setting's own result).
    const best = () => all.reduce((a, b) => (b.micro.f1 > a.micro.f1 ? b : a));
    for (const gamma of gammas) {
      for (const kEval of kEvals) {
        const settings = { ...inferenceOf({ ...values, gamma, 'k-eval': kEval }), mode, dedupe: decoding.dedupe, breakdowns: true, predictions: predictionsFile !== undefined };
        const scored = await evaluateThresholds(model, sents, dev, settings, phis, (values.seed as number | undefined) ?? DEFAULT_SEED, process.stderr.isTTY ? true : 'lines');
        all.push(...scored.map((x) => ({ ...x, gamma, kEval })));
        // Only the reported setting's sentences are written: the others' are dropped as the grid goes on.
        const kept = best();
        for (const x of all) if (x !== kept) delete x.predictions;
      }
    }
    const label = (x: Scored) => `${x.gamma !== undefined && grid ? `γ ${x.gamma} ` : ''}${x.kEval !== undefined && grid ? `K ${x.kEval} ` : ''}φ ${x.threshold}`;
    for (const x of all.length > 1 ? all : []) console.log(`${label(x)}: P ${x.micro.precision.toFixed(2)}  R ${x.micro.recall.toFixed(2)}  F1 ${x.micro.f1.toFixed(2)}`);
    const r = best();
    if (all.length > 1) console.log(`best on this data: ${label(r)}`);
    const where = join(dir, SELECTION_FILE);
    const source = (values.threshold ? '' : selection ? `, φ ${r.threshold} as chosen in ${where}` : `, φ ${r.threshold} (the model's default)`)
      + (typeof own.decoding === 'string' ? `, decoding ${(values.decoding as string | undefined) ?? `${own.decoding} (the model's)`}` : '')
      + (unfiltered ? ', no overlap filter (--overlap-filter applies --mode)'
        : values.mode ? '' : selection?.mode ? `, ${mode} filtering as recorded in ${where}` : `, ${mode} filtering (default; --mode nested for nested data)`);
    console.log(`P ${r.micro.precision.toFixed(2)}  R ${r.micro.recall.toFixed(2)}  F1 ${r.micro.f1.toFixed(2)}  (${r.sentencesPerSecond.toFixed(1)} sentences/s${source})`);
    for (const [t, sc] of Object.entries(r.perType)) console.log(`  ${t.padEnd(12)} P ${sc.precision.toFixed(2)}  R ${sc.recall.toFixed(2)}  F1 ${sc.f1.toFixed(2)}`);
    const row = (name: string, sc: BucketScores) => `  ${name.padEnd(12)} P ${sc.precision.toFixed(2)}  R ${sc.recall.toFixed(2)}  F1 ${sc.f1.toFixed(2)}  (${sc.tp} of ${sc.predicted} predicted correct, ${sc.found} of ${sc.gold} gold found)`;
    console.log('by length in words (a predicted entity\'s for P, a gold one\'s for R):');
    for (const [n, sc] of Object.entries(r.byLength!)) console.log(row(`${n} word${n === '1' ? '' : 's'}`, sc));
    if (counts.nested || mode === 'nested') {
      console.log('by nesting (nested: inside another entity of its set, predicted for P, gold for R):');
      for (const [n, sc] of Object.entries(r.byNesting!)) console.log(row(n, sc));
    }
    const withoutPredictions = ({ predictions: _, ...x }: Scored) => x;
    if (typeof values.json === 'string') writeFileAtomic(values.json, JSON.stringify(all.length > 1 ? { best: withoutPredictions(r), sweep: all.map(withoutPredictions) } : withoutPredictions(r), null, 1));
    if (predictionsFile !== undefined) {
      const lines = r.predictions!.filter((x) => !values['errors-only'] || x.falsePositives.length || x.falseNegatives.length);
      writeFileAtomic(predictionsFile, lines.map((x) => `${JSON.stringify(x)}\n`).join(''));
      process.stderr.write(`predictions: ${predictionsFile}, ${lines.length} sentence${lines.length === 1 ? '' : 's'}${values['errors-only'] ? ` with errors (of ${sents.length})` : ''}, at ${label(r)}${all.length > 1 ? ' (the best on this data, as reported)' : ''}\n`);
    }
    model.dispose();
  },
};
