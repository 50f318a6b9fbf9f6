/**
 * Tagging documents with any model, streaming: each document is split into sentences and words
 * (documents.ts), tagged in batches across documents, and emitted in input order as soon as it is
 * complete, so any number of documents runs in bounded memory (each document is held whole while it is
 * tagged: a 50 MB one-line document holds about 2.8 GB). Every entity is the toolkit's one entity object
 * (Entity below): type, text, a confidence in [0, 1], offsets into the document in UTF-16 code units and
 * in code points, and the sentence and word span it came from. A sentence longer than `maxWords` words
 * is tagged in overlapping windows of that many words (its cost grows with its length, and the training
 * data has no such sentences); each window keeps the entities whose middle is nearer its centre than any
 * other window's, the merged set is filtered again, and the sentence is marked `windowed`.
 */
import type { Readable } from 'node:stream';
import type { Device } from '../tensor/device.js';
import { RNG } from '../tensor/random.js';
import type { TextToken } from '../text/tokenize.js';
import type { InferenceSettings, NerModel } from './contract.js';
import { DEFAULT_MODE, DEFAULT_SEED, EVAL_BATCH, MAX_WORDS } from './defaults.js';
import { type DocumentSentence, splitDocument } from './documents.js';
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

/** Code-point offsets of a document's UTF-16 offsets, counted once per document. */
function codePointIndex(text: string): (utf16: number) => number {
  const cp = new Int32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    cp[i] = n;
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point: its second unit maps to the same count.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { cp[++i] = n; }
    n++;
  }
  cp[text.length] = n;
  return (i) => cp[i];
}

function passes(e: Entity, min: MinScore | undefined): boolean {
  if (min === undefined) return true;
  const bar = typeof min === 'number' ? min : min[e.type] ?? min['*'] ?? 0;
  return e.score >= bar;
}

export interface PredictReport { documents: number; sentences: number; windowed: number; entities: number; seconds: number }

/** A document on its way through: its sentences, the candidates found so far, and the windows still out. */
interface Pending<D> {
  doc: D; index: number; text: string; sentences: TaggedSentence[]; toks: TextToken[][];
  /** Per sentence, the window starts and the candidates kept from its windows so far (in sentence words). */
  windows: number[][]; found: Candidate[][];
  left: number;
  /** UTF-16 -> code-point offsets, counted once the document has an entity. */
  cp?: (utf16: number) => number;
}

/** What a document source gives: its text, or its words when it comes tokenised (one sentence, joined by spaces). */
export type DocumentInput = string | { tokens: readonly string[] };

/** A pre-tokenised sentence as a document: its words joined by single spaces, with their offsets. */
function tokensAsSentence(words: readonly string[]): { text: string; sentences: DocumentSentence[] } {
  let at = 0;
  const tokens = words.map((w) => { const t = { text: w, start: at, end: at + w.length }; at += w.length + 1; return t; });
  return { text: words.join(' '), sentences: tokens.length ? [{ tokens, start: 0, end: tokens.at(-1)!.end }] : [] };
}

/**
 * Tags documents as they arrive and yields each, in input order, once all its sentences are tagged.
 * `read` gives a document's text (or its words) from whatever the caller streams (a line, a JSON object).
 */
export async function* tagStream<D>(model: NerModel, device: Device, docs: AsyncIterable<D> | Iterable<D>, read: (d: D) => DocumentInput, o: TagOptions = {},
  report?: PredictReport): AsyncGenerator<{ doc: D; tagged: TaggedDocument }> {
  const size = o.maxWords ?? MAX_WORDS, batchSize = o.batch ?? EVAL_BATCH;
  const settings = { threshold: o.threshold ?? model.defaultThreshold, mode: o.mode ?? DEFAULT_MODE, dedupe: o.dedupe };
  const rng = new RNG(o.seed ?? DEFAULT_SEED);
  const r = report ?? { documents: 0, sentences: 0, windowed: 0, entities: 0, seconds: 0 };
  const t0 = performance.now();
  model.eval();
  const waiting: Pending<D>[] = [];
  let queue: { p: Pending<D>; k: number; w: number }[] = [];
  let tagged = 0;
  const flush = async () => {
    if (!queue.length) return;
    // The origin names the document and sentence in errors (a sentence too long for BERT's positions, say).
    const words = (q: { p: Pending<D>; k: number; w: number }) => q.p.toks[q.k].slice(q.p.windows[q.k][q.w], q.p.windows[q.k][q.w] + size).map((t) => t.text);
    const b = model.batch(queue.map((q) => ({ origin: `document ${q.p.index}, sentence ${q.k + 1}`, tokens: words(q) })), device);
    const raw = await model.infer(b, o.inference ?? {}, rng);
    model.disposeBatch(b);
    tagged += queue.length;
    o.onBatch?.(tagged);
    queue.forEach(({ p, k, w }, i) => {
      const starts = p.windows[k], at = starts[w];
      const cands = model.decode(raw[i], settings).map((c) => ({ ...c, left: c.left + at, right: c.right + at }));
      p.found[k].push(...(starts.length > 1 ? cands.filter((c) => owner(starts, size, (c.left + c.right + 1) / 2) === w) : cands));
      p.left--;
    });
    queue = [];
  };
  const ready = function* (): Generator<{ doc: D; tagged: TaggedDocument }> {
    while (waiting.length && waiting[0].left === 0) {
      const p = waiting.shift()!;
      const entities = p.found.flatMap((cands, k) => {
        // Windows overlap: their merged entities are filtered again, as one sentence's would be.
        const merged = p.windows[k].length > 1 ? filterCandidates(cands, settings.mode, settings.dedupe) : cands;
        return entitiesOf(model, merged, p, k).filter((e) => passes(e, o.minScore));
      });
      r.entities += entities.length;
      yield { doc: p.doc, tagged: { text: p.text, sentences: p.sentences, entities } };
    }
  };
  for await (const doc of docs) {
    r.documents++;
    const input = read(doc);
    const { text, sentences } = typeof input === 'string' ? { text: input, sentences: splitDocument(input, model.clitics) } : tokensAsSentence(input.tokens);
    const windows = sentences.map((x) => windowStarts(x.tokens.length, size));
    const p: Pending<D> = {
      doc, index: r.documents, text, toks: sentences.map((x) => x.tokens), windows, found: sentences.map(() => []), left: windows.reduce((n, w) => n + w.length, 0),
      sentences: sentences.map((x, k) => ({ tokens: x.tokens.map((t) => t.text), start: x.start, end: x.end, ...(windows[k].length > 1 ? { windowed: true as const } : {}) })),
    };
    r.sentences += sentences.length;
    r.windowed += windows.filter((w) => w.length > 1).length;
    waiting.push(p);
    for (let k = 0; k < windows.length; k++) {
      for (let w = 0; w < windows[k].length; w++) {
        queue.push({ p, k, w });
        if (queue.length >= batchSize) { await flush(); yield* ready(); }
      }
    }
    yield* ready();
  }
  await flush();
  yield* ready();
  r.seconds = (performance.now() - t0) / 1000;
}

/** A sentence's kept candidates as entity objects, each (span, type) once, in document order. */
function entitiesOf(model: NerModel, cands: Candidate[], p: Pending<unknown>, k: number): Entity[] {
  // Nested filtering keeps candidates with identical boundaries and type, as the official code does; its
  // scorer works on sets, so they are one entity. The first is the highest-scoring.
  const seen = new Set<string>();
  const unique = cands.filter((c) => { const key = `${c.left},${c.right},${c.type}`; if (seen.has(key)) return false; seen.add(key); return true; });
  const toks = p.toks[k];
  if (unique.length) p.cp ??= codePointIndex(p.text);
  const cp = p.cp!;
  return unique.map((c) => {
    const start = toks[c.left].start, end = toks[c.right].end;
    return {
      type: model.types[c.type - 1], text: p.text.slice(start, end), score: Math.min(1, Math.max(0, model.confidence(c))),
      start, end, startCp: cp(start), endCp: cp(end), sentence: k, tokenStart: c.left, tokenEnd: c.right + 1,
    };
  }).sort((a, b) => a.start - b.start || b.end - a.end);
}
