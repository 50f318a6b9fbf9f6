/**
 * Tagging documents with any model, streaming: each document is split into sentences and words
 * (documents.ts) as the tagger asks for them, tagged in batches across documents, and each sentence is
 * emitted in input order as soon as it and those before it are tagged (`tagSentences`), so neither the
 * number of documents nor a document's length makes memory grow: what is held is the document's text,
 * the sentences in flight and, for a caller that wants whole documents (`tagStream`), what it collects.
 * Every entity is the toolkit's one entity object (Entity below): type, text, a confidence in [0, 1],
 * offsets into the document in UTF-16 code units and in code points, and the sentence and word span it
 * came from. A sentence longer than `maxWords` words is tagged in overlapping windows of that many words
 * (its cost grows with its length, and the training data has no such sentences); each window keeps the
 * entities whose middle is nearer its centre than any other window's, the merged set is filtered again,
 * and the sentence is marked `windowed`.
 */
import type { Readable } from 'node:stream';
import type { Device } from '../tensor/device.js';
import { RNG } from '../tensor/random.js';
import type { InferenceSettings, NerModel } from './contract.js';
import { DEFAULT_MODE, DEFAULT_SEED, EVAL_BATCH, MAX_WORDS } from './defaults.js';
import { type DocumentSentence, documentSentences } from './documents.js';
import { type Candidate, type FilterMode, filterCandidates } from './spans.js';

/** An entity found in a document. */
export interface Entity {
  type: string;
  /** The entity's text: document.slice(start, end). */
  text: string;
  /** The model's confidence in [0, 1] (DiffusionNER: the mean of its left, right and type probabilities). */
  score: number;
  /** Offsets into the document in UTF-16 code units (JavaScript string indices), end exclusive. */
  start: number; end: number;
  /** The same in Unicode code points (what Python's str indexing counts). */
  startCp: number; endCp: number;
  /** The sentence's index in the document, and the word span within the sentence (end exclusive). */
  sentence: number; tokenStart: number; tokenEnd: number;
}

export interface TaggedSentence {
  /** The sentence's words and its offsets in the document (UTF-16 code units). */
  tokens: string[]; start: number; end: number;
  /** Longer than the window (`maxWords`): tagged in overlapping windows whose entities were merged. */
  windowed?: true;
}

export interface TaggedDocument { text: string; sentences: TaggedSentence[]; entities: Entity[] }

/**
 * Scores below which entities are dropped: one number for every type, or per type with `*` for the
 * rest (`{ '*': 0.5, PER: 0.8 }`).
 */
export type MinScore = number | Record<string, number>;

export interface TagOptions {
  /** The decoding threshold (the model's own scale; DiffusionNER's φ) and filtering. */
  threshold?: number; mode?: FilterMode; dedupe?: boolean;
  /** The model's inference settings (DiffusionNER: steps, proposals, eta). */
  inference?: InferenceSettings;
  seed?: number; batch?: number; maxWords?: number;
  minScore?: MinScore;
  /** Called after each device batch with the sentences (windows) tagged so far, for progress on long input. */
  onBatch?: (windowsTagged: number) => void;
}

/**
 * Lines of a byte stream, decoded strictly: invalid UTF-8 is an error naming the line. A line's chunks
 * are joined once, at its end, so that a line of any length is copied once, not once per chunk.
 */
export async function* readLines(stream: Readable | AsyncIterable<Uint8Array>, name: string): AsyncGenerator<{ text: string; line: number }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let parts: Buffer[] = [], line = 0;
  const decode = (bytes: Buffer) => {
    line++;
    try { return decoder.decode(bytes); } catch { throw new Error(`${name}:${line}: invalid UTF-8`); }
  };
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    let rest = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk), nl: number;
    while ((nl = rest.indexOf(10)) >= 0) {
      parts.push(rest.subarray(0, nl));
      const text = decode(parts.length === 1 ? parts[0] : Buffer.concat(parts)).replace(/\r$/, '');
      parts = [];
      rest = rest.subarray(nl + 1);
      yield { text, line };
    }
    if (rest.length) parts.push(rest);
  }
  if (parts.length) yield { text: decode(Buffer.concat(parts)), line };
}

/**
 * A sentence's windows: starts of `size`-word windows, half a window apart, the last one ending at the
 * sentence's end; a single window when the sentence fits.
 */
export function windowStarts(length: number, size: number): number[] {
  if (length <= size) return [0];
  const step = Math.max(1, Math.floor(size / 2)), starts: number[] = [];
  for (let a = 0; a + size < length; a += step) starts.push(a);
  starts.push(length - size);
  return starts;
}

/** The window (by index) whose centre is nearest to position `i` (an entity's middle); ties go to the earlier window. */
function owner(starts: readonly number[], size: number, i: number): number {
  let best = 0;
  for (let w = 1; w < starts.length; w++) if (Math.abs(i - (starts[w] + size / 2)) < Math.abs(i - (starts[best] + size / 2))) best = w;
  return best;
}

/**
 * Code-point offsets of a document's UTF-16 offsets, asked for in increasing order of `start` (entities
 * come in document order): each call counts from the last start, so a document is counted once, holding nothing.
 */
function codePointCounter(text: string): (start: number, end: number) => [number, number] {
  let unit = 0, points = 0;
  const count = (from: number, to: number) => {
    let n = 0;
    for (let i = from; i < to; i++, n++) {
      // A high surrogate followed by a low one is one code point.
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    }
    return n;
  };
  return (start, end) => {
    points += count(unit, start);
    unit = start;
    return [points, points + count(start, end)];
  };
}

function passes(e: Entity, min: MinScore | undefined): boolean {
  if (min === undefined) return true;
  const bar = typeof min === 'number' ? min : min[e.type] ?? min['*'] ?? 0;
  return e.score >= bar;
}

export interface PredictReport { documents: number; sentences: number; windowed: number; entities: number; seconds: number }

/** A document on its way through: its text, how many sentences it has given so far, and its code-point counter. */
interface OpenDocument<D> { doc: D; index: number; text: string; sentences: number; cp?: (start: number, end: number) => [number, number] }

/** A sentence on its way through: its words, its windows' starts, the candidates its windows kept so far, and the windows still out. */
interface OpenSentence<D> { p: OpenDocument<D>; k: number; sentence: DocumentSentence; starts: number[]; found: Candidate[]; left: number }

/** What `tagSentences` emits, in input order: each sentence of a document with its entities, then the document's end. */
export type SentenceEvent<D> =
  | { kind: 'sentence'; doc: D; text: string; index: number; sentence: TaggedSentence; entities: Entity[] }
  | { kind: 'end'; doc: D; text: string; sentences: number };

/** What a document source gives: its text, or its words when it comes tokenised (one sentence, joined by spaces). */
export type DocumentInput = string | { tokens: readonly string[] };

/** A document's text and its sentences, made as they are asked for; pre-tokenised words are one sentence, joined by single spaces. */
function documentOf(input: DocumentInput, clitics: NerModel['clitics']): { text: string; sentences: Iterable<DocumentSentence> } {
  if (typeof input === 'string') return { text: input, sentences: documentSentences(input, clitics) };
  let at = 0;
  const tokens = input.tokens.map((w) => { const t = { text: w, start: at, end: at + w.length }; at += w.length + 1; return t; });
  return { text: input.tokens.join(' '), sentences: tokens.length ? [{ tokens, start: 0, end: tokens.at(-1)!.end }] : [] };
}

/**
 * Tags documents as they arrive and emits each sentence, in input order, once it and every sentence
 * before it are tagged, then each document's end. `read` gives a document's text (or its words) from
 * whatever the caller streams (a line, a JSON object).
 */
export async function* tagSentences<D>(model: NerModel, device: Device, docs: AsyncIterable<D> | Iterable<D>, read: (d: D) => DocumentInput, o: TagOptions = {},
  report?: PredictReport): AsyncGenerator<SentenceEvent<D>> {
  const size = o.maxWords ?? MAX_WORDS, batchSize = o.batch ?? EVAL_BATCH;
  const settings = { threshold: o.threshold ?? model.defaultThreshold, mode: o.mode ?? DEFAULT_MODE, dedupe: o.dedupe };
  const rng = new RNG(o.seed ?? DEFAULT_SEED);
  const r = report ?? { documents: 0, sentences: 0, windowed: 0, entities: 0, seconds: 0 };
  const t0 = performance.now();
  model.eval();
  /** Sentences and document ends not yet emitted, in input order. */
  const waiting: (OpenSentence<D> | { end: OpenDocument<D> })[] = [];
  let queue: { s: OpenSentence<D>; w: number }[] = [];
  let tagged = 0;
  const flush = async () => {
    if (!queue.length) return;
    // The origin names the document and sentence in errors (a sentence too long for BERT's positions, say).
    const words = ({ s, w }: { s: OpenSentence<D>; w: number }) => s.sentence.tokens.slice(s.starts[w], s.starts[w] + size).map((t) => t.text);
    const b = model.batch(queue.map((q) => ({ origin: `document ${q.s.p.index}, sentence ${q.s.k + 1}`, tokens: words(q) })), device);
    const raw = await model.infer(b, o.inference ?? {}, rng);
    model.disposeBatch(b);
    tagged += queue.length;
    o.onBatch?.(tagged);
    queue.forEach(({ s, w }, i) => {
      const at = s.starts[w];
      const cands = model.decode(raw[i], settings).map((c) => ({ ...c, left: c.left + at, right: c.right + at }));
      for (const c of cands) if (s.starts.length === 1 || owner(s.starts, size, (c.left + c.right + 1) / 2) === w) s.found.push(c);
      s.left--;
    });
    queue = [];
  };
  const ready = function* (): Generator<SentenceEvent<D>> {
    while (waiting.length && ('end' in waiting[0] || waiting[0].left === 0)) {
      const x = waiting.shift()!;
      if ('end' in x) { yield { kind: 'end', doc: x.end.doc, text: x.end.text, sentences: x.end.sentences }; continue; }
      // Windows overlap: their merged entities are filtered again, as one sentence's would be.
      const merged = x.starts.length > 1 ? filterCandidates(x.found, settings.mode, settings.dedupe) : x.found;
      const entities = entitiesOf(model, merged, x).filter((e) => passes(e, o.minScore));
      r.entities += entities.length;
      const { tokens, start, end } = x.sentence;
      const sentence: TaggedSentence = { tokens: tokens.map((t) => t.text), start, end, ...(x.starts.length > 1 ? { windowed: true as const } : {}) };
      yield { kind: 'sentence', doc: x.p.doc, text: x.p.text, index: x.k, sentence, entities };
    }
  };
  for await (const doc of docs) {
    r.documents++;
    const { text, sentences } = documentOf(read(doc), model.clitics);
    const p: OpenDocument<D> = { doc, index: r.documents, text, sentences: 0 };
    for (const sentence of sentences) {
      const starts = windowStarts(sentence.tokens.length, size);
      const x: OpenSentence<D> = { p, k: p.sentences++, sentence, starts, found: [], left: starts.length };
      r.sentences++;
      if (starts.length > 1) r.windowed++;
      waiting.push(x);
      for (let w = 0; w < starts.length; w++) {
        queue.push({ s: x, w });
        if (queue.length >= batchSize) { await flush(); yield* ready(); }
      }
    }
    waiting.push({ end: p });
    yield* ready();
  }
  await flush();
  yield* ready();
  r.seconds = (performance.now() - t0) / 1000;
}

/**
 * Tags documents as they arrive and yields each, in input order, once all its sentences are tagged;
 * each document is held whole until then.
 */
export async function* tagStream<D>(model: NerModel, device: Device, docs: AsyncIterable<D> | Iterable<D>, read: (d: D) => DocumentInput, o: TagOptions = {},
  report?: PredictReport): AsyncGenerator<{ doc: D; tagged: TaggedDocument }> {
  let sentences: TaggedSentence[] = [], entities: Entity[] = [];
  for await (const e of tagSentences(model, device, docs, read, o, report)) {
    if (e.kind === 'sentence') { sentences.push(e.sentence); for (const x of e.entities) entities.push(x); continue; }
    yield { doc: e.doc, tagged: { text: e.text, sentences, entities } };
    sentences = [];
    entities = [];
  }
}

/** A sentence's kept candidates as entity objects, each (span, type) once, in document order. */
function entitiesOf(model: NerModel, cands: Candidate[], x: OpenSentence<unknown>): Entity[] {
  // Nested filtering keeps candidates with identical boundaries and type, as the official code does; its
  // scorer works on sets, so they are one entity. The first is the highest-scoring.
  const seen = new Set<string>();
  const unique = cands.filter((c) => { const key = `${c.left},${c.right},${c.type}`; if (seen.has(key)) return false; seen.add(key); return true; });
  const toks = x.sentence.tokens, text = x.p.text;
  const spans = unique.map((c) => ({ c, start: toks[c.left].start, end: toks[c.right].end })).sort((a, b) => a.start - b.start || b.end - a.end);
  if (spans.length) x.p.cp ??= codePointCounter(text);
  return spans.map(({ c, start, end }) => {
    const [startCp, endCp] = x.p.cp!(start, end);
    return {
      type: model.types[c.type - 1], text: text.slice(start, end), score: Math.min(1, Math.max(0, model.confidence(c))),
      start, end, startCp, endCp, sentence: x.k, tokenStart: c.left, tokenEnd: c.right + 1,
    };
  });
}
