/**
 * Tagging raw text with a trained model, streaming: lines are read, tokenised and tagged in batches, so
 * input of any size runs in bounded memory. Each non-empty line is one sentence; a line longer than
 * `maxWords` tokens is split into pieces of at most `maxWords` (counted and reported), because the
 * model's cost grows with the sentence and the training data has no such sentences.
 */
import type { Readable } from 'node:stream';
import type { Device } from '../tensor/device.js';
import { RNG } from '../tensor/random.js';
import { tokenizeText, type TextToken } from '../text/tokenize.js';
import { DiffusionNER } from './model.js';

export interface PredictOptions { steps?: number; proposals?: number; eta?: number; threshold?: number; mode?: 'flat' | 'nested'; dedupe?: boolean; seed?: number; batch?: number; maxWords?: number }

export interface TaggedEntity { start: number; end: number; type: string; text: string; score: number; charStart: number; charEnd: number }
export interface TaggedSentence { line: number; tokens: string[]; entities: TaggedEntity[] }

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

export interface PredictReport { lines: number; sentences: number; split: number; entities: number; seconds: number }

export async function predictStream(model: DiffusionNER, device: Device, lines: AsyncIterable<{ text: string; line: number }>, o: PredictOptions, emit: (s: TaggedSentence) => void): Promise<PredictReport> {
  const maxWords = o.maxWords ?? 256, batchSize = o.batch ?? 16;
  const rng = new RNG(o.seed ?? 0);
  model.eval();
  const report: PredictReport = { lines: 0, sentences: 0, split: 0, entities: 0, seconds: 0 };
  const t0 = performance.now();
  let queue: { line: number; text: string; toks: TextToken[] }[] = [];
  const flush = async () => {
    if (!queue.length) return;
    // The origin names the input line in errors (a line too long for BERT's positions, say).
    const b = model.batch(queue.map((q) => ({ origin: `line ${q.line}`, tokens: q.toks.map((t) => t.text), entities: [] })), device);
    const pred = await model.predict(b, { steps: o.steps ?? 5, proposals: o.proposals, eta: o.eta ?? 1, threshold: o.threshold ?? 2.5, mode: o.mode ?? 'flat', dedupe: o.dedupe, rng });
    DiffusionNER.disposeBatch(b);
    queue.forEach((q, i) => {
      // Nested filtering keeps candidates with identical boundaries and type, as the official code does; its
      // scorer works on sets, so they are one entity. The first is the highest-scoring.
      const seen = new Set<string>();
      const unique = pred[i].filter((c) => { const k = `${c.left},${c.right},${c.type}`; if (seen.has(k)) return false; seen.add(k); return true; });
      const entities = unique.map((c) => ({
        start: c.left, end: c.right + 1, type: model.c.types[c.type - 1], score: c.score,
        text: q.text.slice(q.toks[c.left].start, q.toks[c.right].end), charStart: q.toks[c.left].start, charEnd: q.toks[c.right].end,
      })).sort((a, b) => a.start - b.start || b.end - a.end);
      report.entities += entities.length;
      emit({ line: q.line, tokens: q.toks.map((t) => t.text), entities });
    });
    report.sentences += queue.length;
    queue = [];
  };
  for await (const { text, line } of lines) {
    report.lines++;
    const toks = tokenizeText(text, model.c.clitics);
    if (!toks.length) continue;
    if (toks.length > maxWords) report.split++;
    for (let i = 0; i < toks.length; i += maxWords) {
      queue.push({ line, text, toks: toks.slice(i, i + maxWords) });
      if (queue.length >= batchSize) await flush();
    }
  }
  await flush();
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
