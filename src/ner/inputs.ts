/**
 * One input line as a document: plain text as it is, or a JSONL record's text field (or its
 * pre-tokenised `tokens`) with an `id` to copy. A bad record is described, not thrown, so that
 * `predict` can stop at it while corpus tagging carries it on as a poisoned line.
 */
import type { DocumentInput } from './predict.js';

/** A readable document and its id, or what is wrong with the line. */
export type LineDocument = { input: DocumentInput; id?: unknown } | { error: string };

/** The default JSONL field that holds a document's text (--text-field). */
export const TEXT_FIELD = 'text';

/** Words as a pre-tokenised document holds them: non-empty strings without whitespace. */
export function isWordList(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((t) => typeof t === 'string' && t !== '' && !/\s/.test(t));
}

/** A JSONL line as a document; null for a blank line, which is no document. */
export function jsonlDocument(text: string, field: string): LineDocument | null {
  if (text.trim() === '') return null;
  let rec: unknown;
  try { rec = JSON.parse(text); } catch (e) { return { error: `malformed JSON (${(e as Error).message.split('\n')[0].slice(0, 120)})` }; }
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return { error: 'expected a JSON object' };
  const r = rec as Record<string, unknown>;
  const id = 'id' in r ? { id: r.id } : {};
  if (typeof r[field] === 'string') return { input: r[field] as string, ...id };
  if (isWordList(r.tokens)) return { input: { tokens: r.tokens }, ...id };
  return { error: `no text: expected a string field '${field}' (--text-field) or a list of words 'tokens'` };
}

/** A document read from a line, with the line's 1-based number. */
export interface NumberedDocument { line: number; input: DocumentInput; id?: unknown }

/**
 * The documents of a stream of lines: each line as text, or with `jsonl` each non-blank line's record.
 * A bad record stops the stream with an error naming `where` and the line.
 */
export async function* lineDocuments(lines: AsyncIterable<{ text: string; line: number }>, where: string, jsonl: boolean, field = TEXT_FIELD): AsyncGenerator<NumberedDocument> {
  for await (const { text, line } of lines) {
    if (!jsonl) { yield { line, input: text }; continue; }
    const d = jsonlDocument(text, field);
    if (d && 'error' in d) throw new Error(`${where}:${line}: ${d.error}`);
    if (d) yield { line, ...d };
  }
}
