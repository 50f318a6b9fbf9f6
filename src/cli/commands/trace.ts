import { writeFileAtomic } from '../../nn/folder.js';
import { DEFAULT_SEED } from '../../ner/defaults.js';
import { tokenizeText } from '../../text/tokenize.js';
import { modelKind, resolveModelDir } from '../../models/index.js';
import type { Command } from '../command.js';
import { checkOutputPath, decodingOf, deviceOf, inferenceOf, loadModelOf, modelDirOf } from '../common.js';
import { UsageError } from '../parse.js';

export const traceCommand: Command = {
  name: 'trace',
  usage: 'trace --model DIR|NAME "text" [--json [--values MODULE,...|all]] [--html FILE] [--start-t T] [--compare DIR|NAME] [--gamma N] [--k-eval N] [--eta X] [--decoding centres|offsets|votes] [--overlap-filter] [--threshold X] [--seed N] [--mode flat|nested] [--dedupe] [--device webgpu|cpu] [--adapter N|NAME] [--no-verify]',
  summary: 'Traces one sentence through the model: every layer\'s output statistics and, for DiffusionNER, every DDIM step\'s K spans; for BOPN, each type\'s label grid and the spans its offset labels vote for (README, "Reading a trace").',
  flags: ['model', 'json', 'html', 'values', 'start-t', 'compare', 'gamma', 'k-eval', 'eta', 'decoding', 'overlap-filter', 'threshold', 'seed', 'mode', 'dedupe', 'device', 'adapter', 'no-verify'],
  positionals: true,
  async run({ values, positionals }) {
    const { dir, selection } = modelDirOf('trace', values);
    const text = positionals.join(' ');
    if (!text.trim()) throw new UsageError('trace needs a sentence, e.g. diffusionner trace --model DIR "Obama visited Paris ."');
    if (values.html) checkOutputPath(values.html as string, '--html');
    if (values.values !== undefined && !values.json) throw new UsageError('--values goes with --json: the values appear only in the JSON');
    const dev = await deviceOf(values);
    const model = await loadModelOf(dir, dev, values);
    const view = modelKind(model.kind, dir).trace;
    const tokens = tokenizeText(text, model.clitics).map((t) => t.text);
    // The same settings, seed and words for both models, so the traces differ only by the weights.
    const settings = {
      ...decodingOf(values, model, selection), inference: { ...inferenceOf(values), ...(values['start-t'] !== undefined ? { startT: values['start-t'] } : {}) },
      seed: (values.seed as number | undefined) ?? DEFAULT_SEED, values: values.values === undefined ? false : (values.values as string).split(','),
    };
    const traceOf = async (m: typeof model) => {
      try { return await view.run(m, dev, tokens, settings); } catch (e) { throw /^(--values|trace): /.test((e as Error).message) ? new UsageError((e as Error).message) : e; }
    };
    let t: unknown, other: { label: string; trace: unknown } | undefined;
    try {
      t = await traceOf(model);
      if (values.compare !== undefined) {
        const second = await loadModelOf(resolveModelDir(values.compare as string), dev, values);
        try {
          if (second.kind !== model.kind) throw new UsageError(`--compare needs a model of the same kind: ${values.model} is ${model.kind}, ${values.compare} is ${second.kind}`);
          other = { label: values.compare as string, trace: await traceOf(second) };
        } finally { second.dispose(); }
      }
    } finally { model.dispose(); }
    const label = values.model as string;
    if (values.json) {
      const json = JSON.stringify(other ? { model: label, trace: t, compare: { model: other.label, trace: other.trace } } : t);
      // Wait for the pipe to take it all: the command exits when run returns.
      await new Promise<void>((done) => process.stdout.write(`${json}\n`, () => done()));
      if (values.values !== undefined) process.stderr.write(`trace JSON with values: ${(json.length / 1e6).toFixed(1)} MB${/(^|,)(all|\*)(,|$)/.test(values.values as string) ? ' (--values MODULE,... keeps only those modules)' : ''}\n`);
    } else {
      console.log(other ? `=== ${label}\n\n${view.text(t)}\n\n=== ${other.label} (--compare, same words, seed and settings)\n\n${view.text(other.trace)}` : view.text(t));
    }
    if (values.html) {
      writeFileAtomic(values.html as string, view.html(t, other ? { label, compare: other } : { label }));
      process.stderr.write(`wrote ${values.html}\n`);
    }
  },
};
