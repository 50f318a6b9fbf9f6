import { writeFileAtomic } from '../../nn/folder.js';
import { DEFAULT_SEED } from '../../ner/defaults.js';
import { tokenizeText } from '../../text/tokenize.js';
import { modelKind } from '../../models/index.js';
import type { Command } from '../command.js';
import { checkOutputPath, decodingOf, deviceOf, inferenceOf, loadModelOf, modelDirOf } from '../common.js';
import { UsageError } from '../parse.js';

export const traceCommand: Command = {
  name: 'trace',
  usage: 'trace --model DIR|NAME "text" [--json] [--html FILE] [--values] [--gamma N] [--k-eval N] [--eta X] [--threshold X] [--seed N] [--mode flat|nested] [--dedupe] [--device webgpu|cpu]',
  summary: 'Traces one sentence through the model: every layer\'s output statistics and, for DiffusionNER, every DDIM step\'s K spans (docs/NER.md, "Reading a trace").',
  flags: ['model', 'json', 'html', 'values', 'gamma', 'k-eval', 'eta', 'threshold', 'seed', 'mode', 'dedupe', 'device'],
  positionals: true,
  async run({ values, positionals }) {
    const { dir, selection } = modelDirOf('trace', values);
    const text = positionals.join(' ');
    if (!text.trim()) throw new UsageError('trace needs a sentence, e.g. diffusionner trace --model DIR "Obama visited Paris ."');
    if (values.html) checkOutputPath(values.html as string, '--html');
    const dev = await deviceOf(values);
    const model = await loadModelOf(dir, dev);
    const view = modelKind(model.kind, dir).trace;
    const tokens = tokenizeText(text, model.clitics).map((t) => t.text);
    const t = await view.run(model, dev, tokens, { ...decodingOf(values, model, selection), inference: inferenceOf(values), seed: (values.seed as number | undefined) ?? DEFAULT_SEED, values: !!values.values });
    if (values.json) console.log(JSON.stringify(t));
    else console.log(view.text(t));
    if (values.html) {
      writeFileAtomic(values.html as string, view.html(t));
      process.stderr.write(`wrote ${values.html}\n`);
    }
    model.dispose();
  },
};
