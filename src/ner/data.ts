/**
 * NER data: readers for the shared JSONL format, the official DiffusionNER JSON (an array of documents,
 * optional ltokens/rtokens context), and CoNLL column files (IOB1, IOB2 and BIOES tags, decoded with the
 * conlleval rule: an I-/M-/E- tag that does not continue a span of its type opens a new one).
 * Entities are word spans with `end` exclusive. Every problem is one line naming the file, the line (or
 * document) and the field.
 */
import { oneLine } from '../text/one-line.js';
import { decodeUtf8 } from '../text/utf8.js';
import { readFileSync } from 'node:fs';
import { MAX_LINE_CHARS } from './defaults.js';

export interface Entity { start: number; end: number; type: string }

export interface Sentence {
  tokens: string[];
  entities: Entity[];
  ltokens?: string[];
  rtokens?: string[];
  /** Where it came from, for messages: "file:line". */
  origin: string;
}

export interface DatasetCounts { sentences: number; entities: number; perType: Record<string, number>; nested: number }

export type Format = 'jsonl' | 'json' | 'conll';

export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/** Messages stay on one line whatever the input held (JSON.parse quotes the offending text). */
function fail(where: string, msg: string): never {
  throw new DataError(oneLine(`${where}: ${msg}`));
}

function stringList(v: unknown, where: string, field: string, allowEmpty: boolean): string[] {
  if (!Array.isArray(v)) fail(where, `field '${field}' must be a list of strings`);
  if (!allowEmpty && v.length === 0) fail(where, `field '${field}' is empty`);
  v.forEach((t, i) => { if (typeof t !== 'string') fail(where, `field '${field}[${i}]' must be a string, got ${JSON.stringify(t)}`); });
  return v as string[];
}

/** Validates one {tokens, entities, ltokens?, rtokens?} record. */
export function parseRecord(rec: unknown, where: string): Sentence {
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) fail(where, 'expected a JSON object');
  const r = rec as Record<string, unknown>;
  const tokens = stringList(r.tokens, where, 'tokens', false);
  if (!Array.isArray(r.entities)) fail(where, "field 'entities' must be a list");
  const entities = r.entities.map((e, i): Entity => {
    const f = `entities[${i}]`;
    if (!e || typeof e !== 'object') fail(where, `field '${f}' must be an object`);
    const { start, end, type } = e as Record<string, unknown>;
    if (!Number.isInteger(start)) fail(where, `field '${f}.start' must be an integer, got ${JSON.stringify(start)}`);
    if (!Number.isInteger(end)) fail(where, `field '${f}.end' must be an integer, got ${JSON.stringify(end)}`);
    if (typeof type !== 'string' || type === '') fail(where, `field '${f}.type' must be a non-empty string`);
    if ((end as number) <= (start as number)) fail(where, `field '${f}': end ${end} <= start ${start} (end is exclusive)`);
    if ((start as number) < 0 || (end as number) > tokens.length) fail(where, `field '${f}': span [${start}, ${end}) is outside the ${tokens.length} tokens`);
    return { start: start as number, end: end as number, type };
  });
  const s: Sentence = { tokens, entities, origin: where };
  if (r.ltokens !== undefined) s.ltokens = stringList(r.ltokens, where, 'ltokens', true);
  if (r.rtokens !== undefined) s.rtokens = stringList(r.rtokens, where, 'rtokens', true);
  return s;
}

/** A line longer than MAX_LINE_CHARS is refused before it is parsed (a whole document on one line, say). */
function checkLineLength(line: string, where: string): void {
  if (line.length > MAX_LINE_CHARS) fail(where, `a line of ${line.length.toLocaleString('en')} characters is longer than the limit of ${MAX_LINE_CHARS.toLocaleString('en')} (one sentence per line; split long documents into sentences)`);
}

export function parseJsonl(text: string, file: string): Sentence[] {
  const out: Sentence[] = [];
  text.split('\n').forEach((line, i) => {
    checkLineLength(line, `${file}:${i + 1}`);
    if (line.trim() === '') return;
    let rec: unknown;
    try { rec = JSON.parse(line); } catch (e) { fail(`${file}:${i + 1}`, `malformed JSON (${(e as Error).message})`); }
    out.push(parseRecord(rec, `${file}:${i + 1}`));
  });
  return out;
}

/** The official format: one JSON array of documents. */
export function parseJsonArray(text: string, file: string): Sentence[] {
  let docs: unknown;
  try {
    docs = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : 1;
    fail(`${file}:${line}`, `malformed JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(docs)) fail(file, 'expected a JSON array of documents');
  return docs.map((d, i) => parseRecord(d, `${file}: document ${i}`));
}

const TAG = /^(O|([BIMES])-(.+))$/;

/**
 * CoNLL columns: the token is the first column and the tag the last; blank lines end sentences;
 * -DOCSTART- lines are skipped.
 */
export function parseConll(text: string, file: string): Sentence[] {
  const out: Sentence[] = [];
  let tokens: string[] = [], tags: string[] = [], firstLine = 0;
  const flush = () => {
    if (tokens.length) out.push({ tokens, entities: decodeTags(tags), origin: `${file}:${firstLine}` });
    tokens = []; tags = [];
  };
  text.split('\n').forEach((raw, i) => {
    checkLineLength(raw, `${file}:${i + 1}`);
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') { flush(); return; }
    const cols = line.trim().split(/\s+/);
    if (cols[0] === '-DOCSTART-') { flush(); return; }
    if (cols.length < 2) fail(`${file}:${i + 1}`, `expected 'token ... tag' columns, got ${JSON.stringify(line)}`);
    const tag = cols[cols.length - 1];
    if (!TAG.test(tag)) fail(`${file}:${i + 1}`, `tag '${tag}' is not O or B-/I-/M-/E-/S-TYPE`);
    if (tokens.length === 0) firstLine = i + 1;
    tokens.push(cols[0]);
    tags.push(tag);
  });
  flush();
  return out;
}

/** IOB1, IOB2 and BIOES tags -> spans (end exclusive), with the conlleval continuation rule. */
export function decodeTags(tags: readonly string[]): Entity[] {
  const spans: Entity[] = [];
  let cur: { type: string; start: number } | null = null;
  const close = (end: number) => { if (cur) spans.push({ start: cur.start, end, type: cur.type }); cur = null; };
  tags.forEach((tag, i) => {
    const m = TAG.exec(tag);
    if (!m || m[1] === 'O') { close(i); return; }
    const [, , prefix, type] = m;
    const continues = cur !== null && (cur as { type: string }).type === type;
    if (prefix === 'B' || prefix === 'S' || !continues) { close(i); cur = { type, start: i }; }
    if (prefix === 'S' || prefix === 'E') close(i + 1);
  });
  close(tags.length);
  return spans;
}

export function detectFormat(file: string): Format {
  if (file.endsWith('.jsonl')) return 'jsonl';
  if (file.endsWith('.json')) return 'json';
  return 'conll';
}

export function readSentences(file: string, format: Format = detectFormat(file)): Sentence[] {
  let bytes: Buffer;
  try { bytes = readFileSync(file); } catch (e) { fail(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  let text: string;
  try { text = decodeUtf8(bytes, file); } catch (e) { throw new DataError((e as Error).message); }
  const out = format === 'jsonl' ? parseJsonl(text, file) : format === 'json' ? parseJsonArray(text, file) : parseConll(text, file);
  if (out.length === 0) fail(file, 'no sentences (the file is empty)');
  return out;
}


/** A types file's types in order, and the description a type may carry (a model that reads descriptions, such as BINDER's type encoder, uses them). */
export interface TypeFile { types: string[]; descriptions: Record<string, string> }

/**
 * Entity types: from a types file (the official {"entities": {TYPE: ...}} object, a JSON list, or one
 * type per line) or, without one, every type of the training data in order of first appearance.
 */
export function readTypes(file: string): string[] {
  return readTypeFile(file).types;
}

/**
 * A types file with the descriptions it may carry. Besides the formats of readTypes (which carry none):
 * a JSON object {TYPE: "description", ...}, and a JSON list whose items are type names or
 * {"name": TYPE, "description"?: "..."} objects.
 */
export function readTypeFile(file: string): TypeFile {
  const text = decodeUtf8(readFileSync(file), file);
  const descriptions: Record<string, string> = {};
  let types: unknown[];
  if (/^\s*[[{]/.test(text)) {
    let j: unknown;
    try { j = JSON.parse(text); } catch (e) { fail(file, `malformed JSON (${(e as Error).message})`); }
    const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
    const described = (t: unknown, d: unknown, where: string) => {
      if (typeof d !== 'string' || d.trim() === '') fail(file, `${where}: the description must be a non-empty string`);
      if (typeof t === 'string') descriptions[t] = d;
    };
    if (Array.isArray(j)) {
      types = j.map((item, i) => {
        if (!isObject(item)) return item;
        for (const k of Object.keys(item)) if (k !== 'name' && k !== 'description') fail(file, `type ${i}: unknown field '${k.slice(0, 40)}' (a type is {"name", "description"?})`);
        if (item.description !== undefined) described(item.name, item.description, `type ${i}`);
        return item.name;
      });
    } else if (isObject(j) && isObject(j.entities)) {
      types = Object.keys(j.entities);
    } else if (isObject(j) && Object.keys(j).length && Object.values(j).every((v) => typeof v === 'string')) {
      types = Object.keys(j);
      for (const [t, d] of Object.entries(j)) described(t, d, `type '${t.slice(0, 40)}'`);
    } else {
      fail(file, "expected a list of types, an object with an 'entities' map, or an object of type descriptions");
    }
  } else {
    types = text.split('\n').map((l) => l.trim()).filter(Boolean);
  }
  if (types.length === 0) fail(file, 'no entity types');
  types.forEach((t, i) => { if (typeof t !== 'string' || t === '') fail(file, `type ${i} must be a non-empty string`); });
  if (new Set(types).size !== types.length) fail(file, 'a type is listed twice');
  return { types: types as string[], descriptions };
}

export function inferTypes(sentences: readonly Sentence[]): string[] {
  const seen = new Set<string>();
  for (const s of sentences) for (const e of s.entities) seen.add(e.type);
  return [...seen];
}

/** Fails on the first entity whose type is not in `types`, naming where it is. */
export function checkTypes(sentences: readonly Sentence[], types: readonly string[]): void {
  const known = new Set(types);
  for (const s of sentences) {
    s.entities.forEach((e, i) => {
      if (!known.has(e.type)) fail(s.origin, `field 'entities[${i}].type': '${e.type}' is not one of the types (${types.join(', ')})`);
    });
  }
}

export function countDataset(sentences: readonly Sentence[]): DatasetCounts {
  const perType: Record<string, number> = {};
  let entities = 0, nested = 0;
  for (const s of sentences) {
    entities += s.entities.length;
    for (const e of s.entities) perType[e.type] = (perType[e.type] ?? 0) + 1;
    for (let i = 0; i < s.entities.length; i++) {
      for (let j = 0; j < s.entities.length; j++) {
        const a = s.entities[i], b = s.entities[j];
        if (i !== j && a.start <= b.start && b.end <= a.end && (a.start !== b.start || a.end !== b.end)) { nested++; break; }
      }
    }
  }
  return { sentences: sentences.length, entities, perType, nested };
}

export function describeCounts(name: string, c: DatasetCounts): string {
  const types = Object.entries(c.perType).map(([t, n]) => `${t} ${n}`).join(', ');
  return `${name}: ${c.sentences} sentences, ${c.entities} entities (${types})${c.nested ? `, ${c.nested} containing another` : ''}`;
}

/**
 * The policy for over-long training sentences: each is cut into pieces of at most `maxWords` words;
 * an entity that crosses a cut is dropped. Returns the pieces and what was done, for the log.
 */
export function splitLongSentences(sentences: readonly Sentence[], maxWords: number): { sentences: Sentence[]; split: number; pieces: number; droppedEntities: number } {
  const out: Sentence[] = [];
  let split = 0, pieces = 0, droppedEntities = 0;
  for (const s of sentences) {
    if (s.tokens.length <= maxWords) { out.push(s); continue; }
    split++;
    for (let a = 0; a < s.tokens.length; a += maxWords) {
      const b = Math.min(s.tokens.length, a + maxWords);
      out.push({ tokens: s.tokens.slice(a, b), origin: `${s.origin} (words ${a}..${b - 1})`,
        entities: s.entities.filter((e) => e.start >= a && e.end <= b).map((e) => ({ ...e, start: e.start - a, end: e.end - a })) });
      pieces++;
    }
    droppedEntities += s.entities.filter((e) => Math.floor(e.start / maxWords) !== Math.floor((e.end - 1) / maxWords)).length;
  }
  return { sentences: out, split, pieces, droppedEntities };
}
