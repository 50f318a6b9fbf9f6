/**
 * Tagging text with any model, streaming: documents are split into sentences (for now one per line) and
 * words, tagged in batches across documents, and emitted in input order as soon as each is complete, so
 * input of any size runs in bounded memory. Every entity is the toolkit's one entity object (Entity
 * below): type, text, a confidence in [0, 1], offsets into the document in UTF-16 code units and in code
 * points, and the sentence and word span it came from. A sentence longer than `maxWords` words is cut
 * into pieces of at most that many (counted and reported), because the model's cost grows with the
 * sentence and the training data has no such sentences.
 */
import type { Readable } from 'node:stream';
import type { Device } from '../tensor/device.js';
import { RNG } from '../tensor/random.js';
import { tokenizeText, type TextToken } from '../text/tokenize.js';
import type { InferenceSettings, NerModel } from './contract.js';
import { DEFAULT_MODE, DEFAULT_SEED, EVAL_BATCH, MAX_WORDS } from './defaults.js';
import type { Candidate, FilterMode } from './spans.js';

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
}

/** Lines of a byte stream, decoded strictly: invalid UTF-8 is an error naming the line. */
export async function* readLines(stream: Readable | AsyncIterable<Uint8Array>, name: string): AsyncGenerator<{ text: string; line: number }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending: Buffer = Buffer.alloc(0), line = 0;
  const decode = (bytes: Buffer) => {
    line++;
    try { return decoder.decode(bytes); } catch { throw new Error(`${name}:${line}: invalid UTF-8`); }
  };
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    pending = Buffer.concat([pending, Buffer.from(chunk)]);
    let nl: number;
    while ((nl = pending.indexOf(10)) >= 0) {
      const text = decode(pending.subarray(0, nl)).replace(/\r$/, '');
      pending = pending.subarray(nl + 1);
      yield { text, line };
    }
  }
  if (pending.length) yield { text: decode(pending), line };
}

/**
 * A document's sentences: each line's words (offsets into the document), cut into pieces of at most
 * maxWords; `cut` counts the lines that were.
 */
export function sentencesOf(text: string, clitics: NerModel['clitics'], maxWords: number): { sentences: TextToken[][]; cut: number } {
  const sentences: TextToken[][] = [];
  let offset = 0, cut = 0;
  for (const line of text.split('\n')) {
    const toks = tokenizeText(line, clitics).map((t) => ({ ...t, start: t.start + offset, end: t.end + offset }));
    if (toks.length > maxWords) cut++;
    for (let i = 0; i < toks.length; i += maxWords) sentences.push(toks.slice(i, i + maxWords));
    offset += line.length + 1;
  }
  return { sentences, cut };
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

export interface PredictReport { documents: number; sentences: number; cut: number; entities: number; seconds: number }

interface Pending<D> {
  doc: D; index: number; text: string; sentences: TaggedSentence[]; toks: TextToken[][]; found: Entity[][]; left: number;
  /** UTF-16 -> code-point offsets, counted once the document has an entity. */
  cp?: (utf16: number) => number;
}

/**
 * Tags documents as they arrive and yields each, in input order, once all its sentences are tagged.
 * `textOf` reads a document's text from whatever the caller streams (a line record, a JSON object).
 */
export async function* tagStream<D>(model: NerModel, device: Device, docs: AsyncIterable<D> | Iterable<D>, textOf: (d: D) => string, o: TagOptions = {},
  report?: PredictReport): AsyncGenerator<{ doc: D; tagged: TaggedDocument }> {
  const maxWords = o.maxWords ?? MAX_WORDS, batchSize = o.batch ?? EVAL_BATCH;
  const settings = { threshold: o.threshold ?? model.defaultThreshold, mode: o.mode ?? DEFAULT_MODE, dedupe: o.dedupe };
  const rng = new RNG(o.seed ?? DEFAULT_SEED);
  const r = report ?? { documents: 0, sentences: 0, cut: 0, entities: 0, seconds: 0 };
  const t0 = performance.now();
  model.eval();
  const waiting: Pending<D>[] = [];
  let queue: { p: Pending<D>; k: number }[] = [];
  const flush = async () => {
    if (!queue.length) return;
    // The origin names the document and sentence in errors (a sentence too long for BERT's positions, say).
    const b = model.batch(queue.map(({ p, k }) => ({ origin: `document ${p.index}, sentence ${k + 1}`, tokens: p.toks[k].map((t) => t.text) })), device);
    const raw = await model.infer(b, o.inference ?? {}, rng);
    model.disposeBatch(b);
    queue.forEach(({ p, k }, i) => {
      p.found[k] = entitiesOf(model, model.decode(raw[i], settings), p, k).filter((e) => passes(e, o.minScore));
      p.left--;
    });
    r.sentences += queue.length;
    queue = [];
  };
  const ready = function* (): Generator<{ doc: D; tagged: TaggedDocument }> {
    while (waiting.length && waiting[0].left === 0) {
      const p = waiting.shift()!;
      const entities = p.found.flat();
      r.entities += entities.length;
      yield { doc: p.doc, tagged: { text: p.text, sentences: p.sentences, entities } };
    }
  };
  for await (const doc of docs) {
    r.documents++;
    const text = textOf(doc);
    const { sentences: sents, cut } = sentencesOf(text, model.clitics, maxWords);
    const p: Pending<D> = {
      doc, index: r.documents, text, toks: sents, found: sents.map(() => []), left: sents.length,
      sentences: sents.map((t) => ({ tokens: t.map((x) => x.text), start: t[0].start, end: t.at(-1)!.end })),
    };
    r.cut += cut;
    waiting.push(p);
    for (let k = 0; k < sents.length; k++) {
      queue.push({ p, k });
      if (queue.length >= batchSize) { await flush(); yield* ready(); }
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
