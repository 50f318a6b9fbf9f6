import { createReadStream, existsSync, statSync } from 'node:fs';
import { DEFAULT_SEED, MAX_WORDS } from '../../ner/defaults.js';
import { DocumentWriter, type OutputFormat } from '../../ner/formats.js';
import { lineDocuments, TEXT_FIELD } from '../../ner/inputs.js';
import { type MinScore, type PredictReport, readLines, tagSentences } from '../../ner/predict.js';
import { reuseLargerPooledBuffers } from '../../tensor/index.js';
import type { Command } from '../command.js';
import { decodingOf, deviceOf, inferenceOf, loadModelOf, modelDirOf } from '../common.js';
import { UsageError } from '../parse.js';

/** Standard output through a 64 KB buffer, written out when full and at each document's end. */
function bufferedStdout(): { write: (s: string) => void; flush: () => void } {
  let parts: string[] = [], size = 0;
  const flush = () => { if (parts.length) process.stdout.write(parts.join('')); parts = []; size = 0; };
  return { write: (s) => { parts.push(s); size += s.length; if (size >= 1 << 16) flush(); }, flush };
}

export const predictCommand: Command = {
  name: 'predict',
  usage: 'predict --model DIR|NAME ["text" ["text" ...] | --file FILE | < stdin] [--format text|jsonl] [--text-field NAME] [--output text|jsonl|conll|spacy | --json] [--min-score X|TYPE=X,...] [--gamma N] [--k-eval N] [--eta X] [--decoding centres|offsets|votes] [--overlap-filter] [--threshold X] [--seed N] [--mode flat|nested] [--dedupe] [--max-words N] [--device webgpu|cpu] [--adapter N|NAME] [--no-verify]',
  summary: 'Tags documents: each quoted argument, or each line of --file or stdin, is one document (plain text, or with --format jsonl a JSON object with a text field or pre-tokenised "tokens"), split into sentences and words. Entities carry their type, text, a score in [0, 1] and character offsets into the document. A sentence longer than --max-words is tagged in overlapping windows.',
  more: 'JSON output (--output jsonl, or --json): one object per input line with a document, {"line", "id"?, "sentences": [{"tokens", "start", "end", "windowed"?}], "entities": [{"type", "text", "score", "start", "end", "startCp", "endCp", "sentence", "tokenStart", "tokenEnd"}]}; start/end count UTF-16 code units, startCp/endCp code points, and line counts every physical line from 1, blank ones too. If an error stops predict part-way through a document, that document\'s line still ends, with the entities found so far and an "error" field.',
  flags: ['model', 'file', 'format', 'text-field', 'output', 'json', 'min-score', 'gamma', 'k-eval', 'eta', 'decoding', 'overlap-filter', 'threshold', 'seed', 'mode', 'dedupe', 'max-words', 'device', 'adapter', 'no-verify'],
  positionals: true,
  async run({ values, positionals }) {
    const file = values.file as string | undefined;
    const { dir, selection } = modelDirOf('predict', values);
    if (file && positionals.length) throw new UsageError('predict takes a text argument or --file, not both');
    if (file && !existsSync(file)) throw new Error(`${file}: no such file`);
    if (file && !statSync(file).isFile()) throw new Error(`${file}: not a file (--file)`);
    if (values.json && values.output && values.output !== 'jsonl') throw new UsageError(`--json is --output jsonl; it cannot go with --output ${values.output}`);
    const output = (values.output as OutputFormat | undefined) ?? (values.json ? 'jsonl' : 'text');
    const jsonl = ((values.format as string | undefined) ?? (file?.endsWith('.jsonl') ? 'jsonl' : 'text')) === 'jsonl';
    const field = (values['text-field'] as string | undefined) ?? TEXT_FIELD;
    const dev = await deviceOf(values);
    const model = await loadModelOf(dir, dev, values);
    reuseLargerPooledBuffers(dev); // a long input brings batches of ever new shapes: memory flat (docs/RESULTS.md)
    // Several quoted texts are several documents; several bare words are one the shell split.
    const texts = positionals.length > 1 && positionals.some((p) => /\s/.test(p)) ? positionals : [positionals.join(' ')];
    const where = file ?? (positionals.length ? 'argument' : 'stdin');
    const lines = positionals.length ? (async function* () { yield* texts.map((text, i) => ({ text, line: i + 1 })); })()
      : readLines(file ? createReadStream(file) : process.stdin, where);
    const maxWords = (values['max-words'] as number | undefined) ?? MAX_WORDS;
    const report: PredictReport = { documents: 0, sentences: 0, windowed: 0, entities: 0, seconds: 0 };
    // Long input (a large file, a huge document) reports progress on stderr every few seconds.
    let lastShown = performance.now();
    const onBatch = (windows: number) => {
      if (performance.now() - lastShown < 5000) return;
      lastShown = performance.now();
      process.stderr.write(`predict: ${report.documents} document(s) read, ${windows} sentence windows tagged\n`);
    };
    const options = {
      ...decodingOf(values, model, selection), inference: inferenceOf(values), seed: (values.seed as number | undefined) ?? DEFAULT_SEED, maxWords,
      minScore: values['min-score'] as MinScore | undefined, onBatch,
    };
    const out = bufferedStdout(), writer = new DocumentWriter(output, out.write);
    try {
      for await (const e of tagSentences(model, dev, lineDocuments(lines, where, jsonl, field), (d) => d.input, options, report)) {
        const header = { line: e.doc.line, id: e.doc.id };
        if (e.kind === 'sentence') { writer.sentence(header, e.sentence, e.entities); continue; }
        // A blank line of plain text is no document; in JSONL every record is answered.
        if (e.sentences || jsonl) writer.end(header, e.text);
        out.flush();
      }
    } catch (err) {
      // A document cut off part-way still ends its line, with what was found and the error.
      writer.abort(err instanceof Error ? err.message : String(err));
      out.flush();
      throw err;
    }
    model.dispose();
    if (report.sentences === 0) throw new UsageError('no text to tag (the input is empty)');
    const windowed = report.windowed ? `; ${report.windowed} sentence(s) longer than ${maxWords} words were tagged in overlapping windows` : '';
    process.stderr.write(`${report.documents} document(s), ${report.sentences} sentence(s), ${report.entities} entities, ${(report.sentences / report.seconds).toFixed(1)} sentences/s${windowed}\n`);
  },
};
