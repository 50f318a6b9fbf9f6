/**
 * vocab.txt (BERT's WordPiece vocabulary, and our word vocabularies): one entry per line, the line
 * number (from 0) is the id, a final newline ends the last entry, CRLF is accepted. Rejected with one
 * line naming the file and line: invalid UTF-8, an empty vocabulary, an empty entry, a repeated entry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { decodeUtf8 } from './utf8.js';

export function parseVocab(data: Uint8Array | string, file: string): string[] {
  const text = typeof data === 'string' ? data : decodeUtf8(data, file);
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new Error(`${file}: empty vocabulary`);
  const seen = new Map<string, number>();
  lines.forEach((w, i) => {
    if (w === '') throw new Error(`${file}:${i + 1}: empty entry`);
    const prev = seen.get(w);
    if (prev !== undefined) throw new Error(`${file}:${i + 1}: entry ${JSON.stringify(w.slice(0, 40))} repeats line ${prev + 1}`);
    seen.set(w, i);
  });
  return lines;
}

export function readVocabFile(path: string): string[] {
  if (!existsSync(path)) throw new Error(`${path}: no such vocabulary file`);
  return parseVocab(readFileSync(path), path);
}
