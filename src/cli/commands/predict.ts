import { createReadStream, existsSync, statSync } from 'node:fs';
import { DEFAULT_SEED, MAX_WORDS } from '../../ner/defaults.js';
import { type MinScore, type PredictReport, readLines, tagStream } from '../../ner/predict.js';
import type { Command } from '../command.js';
import { decodingOf, deviceOf, inferenceOf, loadModelOf, modelDirOf } from '../common.js';
import { UsageError } from '../parse.js';

export const predictCommand: Command = {
  name: 'predict',
  usage: 'predict --model DIR|NAME ["text" ["text" ...] | --file FILE | < stdin] [--json] [--min-score X|TYPE=X,...] [--gamma N] [--k-eval N] [--eta X] [--threshold X] [--seed N] [--mode flat|nested] [--dedupe] [--max-words N] [--device webgpu|cpu]',
  summary: 'Tags text: each quoted argument, or each line of --file or stdin, is one document (for now each of its lines is one sentence). Entities carry their type, text, a score in [0, 1] and character offsets into the document.',
  more: 'With --json, one JSON object per document: {"line", "sentences": [{"tokens", "start", "end"}], "entities": [{"type", "text", "score", "start", "end", "startCp", "endCp", "sentence", "tokenStart", "tokenEnd"}]}; start/end count UTF-16 code units, startCp/endCp code points.',
  flags: ['model', 'file', 'json', 'min-score', 'gamma', 'k-eval', 'eta', 'threshold', 'seed', 'mode', 'dedupe', 'max-words', 'device'],
  positionals: true,
  async run({ values, positionals }) {
    const file = values.file as string | undefined;
    const { dir, selection } = modelDirOf('predict', values);
    if (file && positionals.length) throw new UsageError('predict takes a text argument or --file, not both');
    if (file && !existsSync(file)) throw new Error(`${file}: no such file`);
    if (file && !statSync(file).isFile()) throw new Error(`${file}: not a file (--file)`);
    const dev = await deviceOf(values);
    const model = await loadModelOf(dir, dev);
    // Several quoted texts are several documents; several bare words are one the shell split.
    const texts = positionals.length > 1 && positionals.some((p) => /\s/.test(p)) ? positionals : [positionals.join(' ')];
    const docs = positionals.length
      ? texts.map((text, i) => ({ text, line: i + 1 }))
      : readLines(file ? createReadStream(file) : process.stdin, file ?? 'stdin');
    const maxWords = (values['max-words'] as number | undefined) ?? MAX_WORDS;
    const report: PredictReport = { documents: 0, sentences: 0, cut: 0, entities: 0, seconds: 0 };
    const options = {
      ...decodingOf(values, model, selection), inference: inferenceOf(values), seed: (values.seed as number | undefined) ?? DEFAULT_SEED, maxWords,
      minScore: values['min-score'] as MinScore | undefined,
    };
    for await (const { doc, tagged } of tagStream(model, dev, docs, (d) => d.text, options, report)) {
      if (!tagged.sentences.length) continue;
      if (values.json) { console.log(JSON.stringify({ line: doc.line, sentences: tagged.sentences, entities: tagged.entities })); continue; }
      console.log(tagged.sentences.map((s) => s.tokens.join(' ')).join('\n'));
      for (const e of tagged.entities) console.log(`  ${e.type.padEnd(8)} ${e.text}  [${e.start}, ${e.end})  ${e.score.toFixed(2)}`);
      if (!tagged.entities.length) console.log('  (no entities)');
    }
    model.dispose();
    if (report.sentences === 0) throw new UsageError('no text to tag (the input is empty)');
    const cut = report.cut ? `; ${report.cut} line(s) longer than ${maxWords} words were split` : '';
    process.stderr.write(`${report.sentences} sentence(s), ${report.entities} entities, ${(report.sentences / report.seconds).toFixed(1)} sentences/s${cut}\n`);
  },
};
