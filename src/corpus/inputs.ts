/**
 * A corpus's documents, read from its input files in order: a text file's non-blank lines, or a JSONL
 * file's records. A line that cannot be read (malformed JSON, no text field, invalid UTF-8) is still a
 * document, carrying its error, so one bad line never stops a long submit and comes out in its place.
 */
import { createReadStream } from 'node:fs';
import { jsonlDocument } from '../ner/inputs.js';

export interface SourceDoc { file: string; line: number; text?: string; tokens?: string[]; id?: unknown; error?: string }

export type InputFormat = 'text' | 'jsonl';

/** The format of a file when --format does not say: jsonl for a .jsonl file, else text (as predict reads). */
export const formatOf = (file: string, given?: InputFormat): InputFormat => given ?? (file.endsWith('.jsonl') ? 'jsonl' : 'text');

/** A file's lines, numbered from 1; a line that is not valid UTF-8 comes as an error instead of text. */
export async function* fileLines(file: string): AsyncGenerator<{ line: number; text?: string; error?: string }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending: Buffer = Buffer.alloc(0), line = 0;
  const decode = (bytes: Buffer) => {
    line++;
    try { return { line, text: decoder.decode(bytes).replace(/\r$/, '') }; } catch { return { line, error: 'invalid UTF-8' }; }
  };
  for await (const chunk of createReadStream(file)) {
    pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : chunk as Buffer;
    let start = 0, nl: number;
    while ((nl = pending.indexOf(10, start)) >= 0) { yield decode(pending.subarray(start, nl)); start = nl + 1; }
    pending = pending.subarray(start);
  }
  if (pending.length) yield decode(pending);
}

/** Every document of the files, in file order then line order; blank lines are no documents. */
export async function* corpusDocuments(files: readonly string[], format: InputFormat | undefined, field: string): AsyncGenerator<SourceDoc> {
  for (const file of files) {
    const jsonl = formatOf(file, format) === 'jsonl';
    for await (const { line, text, error } of fileLines(file)) {
      if (text === undefined) { yield { file, line, error }; continue; }
      if (text.trim() === '') continue;
      if (!jsonl) { yield { file, line, text }; continue; }
      const d = jsonlDocument(text, field)!;
      if ('error' in d) yield { file, line, error: d.error };
      else yield { file, line, ...(typeof d.input === 'string' ? { text: d.input } : { tokens: [...d.input.tokens] }), ...('id' in d ? { id: d.id } : {}) };
    }
  }
}
