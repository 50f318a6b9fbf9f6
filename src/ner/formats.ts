/**
 * A tagged document in other formats: CoNLL columns (a word and its BIO tag per line, a blank line after
 * each sentence, `-DOCSTART-` before each document, as CoNLL-2003 writes them) and spaCy's JSON
 * (`{"text", "ents": [{"start", "end", "label"}]}`, character offsets). BIO cannot nest: where entities
 * nest, the outermost is written (the longest first, then no entity that overlaps one already written).
 */
import type { Entity, TaggedDocument } from './predict.js';

/** Entities that BIO can hold: longest first, each not overlapping one taken before. */
function outermost(entities: readonly Entity[]): Entity[] {
  const taken: Entity[] = [];
  for (const e of [...entities].sort((a, b) => (b.tokenEnd - b.tokenStart) - (a.tokenEnd - a.tokenStart) || a.tokenStart - b.tokenStart)) {
    if (!taken.some((t) => t.sentence === e.sentence && t.tokenStart < e.tokenEnd && e.tokenStart < t.tokenEnd)) taken.push(e);
  }
  return taken;
}

export function toConll(doc: TaggedDocument): string {
  const lines = ['-DOCSTART-\tO', ''];
  const kept = outermost(doc.entities);
  doc.sentences.forEach((s, k) => {
    const tags = s.tokens.map(() => 'O');
    for (const e of kept.filter((x) => x.sentence === k)) {
      for (let i = e.tokenStart; i < e.tokenEnd; i++) tags[i] = `${i === e.tokenStart ? 'B' : 'I'}-${e.type}`;
    }
    s.tokens.forEach((w, i) => lines.push(`${w}\t${tags[i]}`));
    lines.push('');
  });
  return lines.join('\n');
}

export function toSpacy(doc: TaggedDocument): { text: string; ents: { start: number; end: number; label: string }[] } {
  return { text: doc.text, ents: doc.entities.map((e) => ({ start: e.start, end: e.end, label: e.type })) };
}
