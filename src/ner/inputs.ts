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

/** A JSONL line as a document; null for a blank line, which is no document. */
export function jsonlDocument(text: string, field: string): LineDocument | null {
  if (text.trim() === '') return null;
  let rec: unknown;
  try { rec = JSON.parse(text); } catch (e) { return { error: `malformed JSON (${(e as Error).message.split('\n')[0].slice(0, 120)})` }; }
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return { error: 'expected a JSON object' };
  const r = rec as Record<string, unknown>;
  const id = 'id' in r ? { id: r.id } : {};
  if (typeof r[field] === 'string') return { input: r[field] as string, ...id };
  if (Array.isArray(r.tokens) && r.tokens.every((t) => typeof t === 'string' && t !== '' && !/\s/.test(t))) return { input: { tokens: r.tokens as string[] }, ...id };
  return { error: `no text: expected a string field '${field}' (--text-field) or a list of words 'tokens'` };
}
