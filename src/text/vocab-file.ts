/**
 * vocab.txt (BERT's WordPiece vocabulary, and our word vocabularies): one entry per line, the line
 * number (from 0) is the id, a final newline ends the last entry, CRLF is accepted. Rejected with one
 * line naming the file and line: invalid UTF-8, an empty vocabulary, an empty entry, a repeated entry.
 */
import { existsSync, readFileSync } from 'node:fs';

export function parseVocab(data: Uint8Array | string, file: string): string[] {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(data); } catch {
      // Find the line of the first bad byte sequence for the message.
      let line = 1;
      for (let i = 0; i < data.length; i++) {
        if (data[i] === 10) { line++; continue; }
        const end = data.indexOf(10, i);
        try { new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(i, end < 0 ? data.length : end)); } catch { break; }
        i = end < 0 ? data.length : end - 1;
      }
      throw new Error(`${file}:${line}: invalid UTF-8`);
    }
  }
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
