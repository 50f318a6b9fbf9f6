/**
 * A tagged document in the output formats: text (the sentences' words, then the entities), JSON lines,
 * CoNLL columns (a word and its BIO tag per line, a blank line after each sentence, `-DOCSTART-` before
 * each document, as CoNLL-2003 writes them) and spaCy's JSON (`{"text", "ents": [{"start", "end",
 * "label"}]}`, character offsets). BIO cannot nest: where entities nest, the outermost is written (the
 * longest first, then no entity that overlaps one already written). DocumentWriter writes each format a
 * sentence at a time, so that a document of any length is written without being held.
 */
import type { Entity, TaggedDocument, TaggedSentence } from './predict.js';

export const OUTPUT_FORMATS = ['text', 'jsonl', 'conll', 'spacy'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const CONLL_DOCSTART = '-DOCSTART-\tO\n\n';

/** Entities of one sentence that BIO can hold: longest first, each not overlapping one taken before. */
function outermost(entities: readonly Entity[]): Entity[] {
  const taken: Entity[] = [];
  for (const e of [...entities].sort((a, b) => (b.tokenEnd - b.tokenStart) - (a.tokenEnd - a.tokenStart) || a.tokenStart - b.tokenStart)) {
    if (!taken.some((t) => t.tokenStart < e.tokenEnd && e.tokenStart < t.tokenEnd)) taken.push(e);
  }
  return taken;
}

/** One sentence in CoNLL columns, with the blank line after it; `entities` are the sentence's own. */
function conllSentence(tokens: readonly string[], entities: readonly Entity[]): string {
  const tags = tokens.map(() => 'O');
  for (const e of outermost(entities)) {
    for (let i = e.tokenStart; i < e.tokenEnd; i++) tags[i] = `${i === e.tokenStart ? 'B' : 'I'}-${e.type}`;
  }
  return tokens.map((w, i) => `${w}\t${tags[i]}\n`).join('') + '\n';
}

export function toConll(doc: TaggedDocument): string {
  const out = CONLL_DOCSTART + doc.sentences.map((s, k) => conllSentence(s.tokens, doc.entities.filter((e) => e.sentence === k))).join('');
  return out.slice(0, -1);
}

const spacyEnt = (e: Entity) => ({ start: e.start, end: e.end, label: e.type });

export function toSpacy(doc: TaggedDocument): { text: string; ents: { start: number; end: number; label: string }[] } {
  return { text: doc.text, ents: doc.entities.map(spacyEnt) };
}

/** What the output of a document starts with: its input line (1-based) and its id, if it has one. */
export interface DocumentHeader { line: number; id?: unknown }

/**
 * Writes documents in one format as their sentences arrive (tagSentences' events), each document ending
 * with a newline-terminated record; only the current document's entities are held, because the JSON
 * formats and the text format put them after its sentences. Output is the same as that of the whole-document
 * functions above.
 */
export class DocumentWriter {
  private started = false;
  private sentences = 0;
  private entities: Entity[] = [];

  constructor(private readonly format: OutputFormat, private readonly write: (s: string) => void) {}

  sentence(h: DocumentHeader, s: TaggedSentence, entities: readonly Entity[]): void {
    this.start(h);
    for (const e of entities) this.entities.push(e);
    if (this.format === 'text') this.write(s.tokens.join(' ') + '\n');
    else if (this.format === 'jsonl') this.write((this.sentences ? ',' : '') + JSON.stringify(s));
    else if (this.format === 'conll') this.write(conllSentence(s.tokens, entities));
    this.sentences++;
  }

  end(h: DocumentHeader, text: string): void {
    this.start(h);
    const id = h.id !== undefined ? { id: h.id } : {};
    if (this.format === 'text') {
      if (!this.sentences) this.write('\n');
      this.writeTextEntities();
      if (!this.entities.length) this.write('  (no entities)\n');
    } else if (this.format === 'jsonl') {
      this.closeJsonLine('');
    } else if (this.format === 'spacy') {
      this.write(`${JSON.stringify({ ...id, text }).slice(0, -1)},"ents":[`);
      this.writeList(this.entities.map(spacyEnt));
      this.write(']}\n');
    }
    this.reset();
  }

  /**
   * Closes a document that failed part-way, so that what was written stays well-formed and keeps the
   * entities found so far: a JSON line gains an "error" field, text a "(stopped: …)" line. A document
   * nothing was written of stays unwritten, and spaCy output is only written whole.
   */
  abort(message: string): void {
    if (this.started && this.format === 'jsonl') this.closeJsonLine(`,"error":${JSON.stringify(message)}`);
    else if (this.started && this.format === 'text') {
      this.writeTextEntities();
      this.write(`  (stopped: ${message})\n`);
    }
    this.reset();
  }

  private writeTextEntities(): void {
    for (const e of this.entities) this.write(`  ${e.type.padEnd(8)} ${e.text}  [${e.start}, ${e.end})  ${e.score.toFixed(2)}\n`);
  }

  /** Ends the sentence list and the JSON line, with its entities and then `extra` (fields, comma first). */
  private closeJsonLine(extra: string): void {
    this.write('],"entities":[');
    this.writeList(this.entities);
    this.write(`]${extra}}\n`);
  }

  private reset(): void {
    this.started = false;
    this.sentences = 0;
    this.entities = [];
  }

  /** A JSON list's items, comma-separated, a thousand at a time: never one string the size of the list. */
  private writeList(items: readonly unknown[]): void {
    for (let i = 0; i < items.length; i += 1000) this.write((i ? ',' : '') + items.slice(i, i + 1000).map((x) => JSON.stringify(x)).join(','));
  }

  private start(h: DocumentHeader): void {
    if (this.started) return;
    this.started = true;
    if (this.format === 'jsonl') this.write(`${JSON.stringify({ line: h.line, ...(h.id !== undefined ? { id: h.id } : {}) }).slice(0, -1)},"sentences":[`);
    else if (this.format === 'conll') this.write(CONLL_DOCSTART);
  }
}
