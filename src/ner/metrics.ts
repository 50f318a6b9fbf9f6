/**
 * Strict micro and per-type precision, recall and F1 over predicted and gold spans, the same by entity
 * length and by nesting (error analysis), and one sentence's true positives, false positives and false
 * negatives. Spans are sets: a span repeated with the same type counts once, everywhere here.
 */
import type { Span } from './spans.js';

export interface Scores { precision: number; recall: number; f1: number; tp: number; predicted: number; gold: number }

/**
 * A bucket's scores: precision over the predicted entities that fall in the bucket, recall over the gold
 * ones. `tp` is the bucket's correct predictions (precision's numerator) and `found` the bucket's gold
 * entities that were predicted (recall's numerator). They are equal where the bucket is a property of the
 * span alone (its length) and may differ where it depends on the other entities of its set (nesting).
 */
export interface BucketScores extends Scores { found: number }

/** Entity lengths in words: 1, 2, 3, and 4 or more. */
export const LENGTH_BUCKETS = ['1', '2', '3', '4+'] as const;
export type LengthBucket = (typeof LENGTH_BUCKETS)[number];

/**
 * An entity is `nested` when another entity of its own set (the gold entities of its sentence for recall,
 * the predicted ones for precision) contains it: starts at or before it and ends at or after it, with
 * other boundaries (the same span with another type does not count). It is `outermost` otherwise.
 */
export const NESTING_BUCKETS = ['outermost', 'nested'] as const;
export type NestingBucket = (typeof NESTING_BUCKETS)[number];

function prf(tp: number, predicted: number, found: number, gold: number): Scores {
  const precision = predicted ? (100 * tp) / predicted : 0, recall = gold ? (100 * found) / gold : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, tp, predicted, gold };
}

const spanKey = (s: Span) => `${s.left}:${s.right}:${s.type}`;

/** The spans without repeats (the same boundaries and type), first occurrence kept, in order. */
export function uniqueSpans<S extends Span>(spans: readonly S[]): S[] {
  const seen = new Set<string>();
  return spans.filter((s) => { const k = spanKey(s); if (seen.has(k)) return false; seen.add(k); return true; });
}

function checkLengths(gold: readonly unknown[], predicted: readonly unknown[], what: string): void {
  if (gold.length !== predicted.length) throw new Error(`${what}: ${gold.length} gold sentences but ${predicted.length} predicted`);
}

/**
 * Strict micro P/R/F1 (×100) over sets of (sentence, left, right, type) (duplicates collapse), and the
 * same per type. `types` names the class indices 1..C.
 */
export function score(gold: Span[][], predicted: Span[][], types: readonly string[]): { micro: Scores; perType: Record<string, Scores> } {
  checkLengths(gold, predicted, 'score');
  const key = (b: number, s: Span) => `${b}:${s.left}:${s.right}:${s.type}`;
  const G = new Set<string>(), P = new Set<string>();
  gold.forEach((ss, b) => ss.forEach((s) => G.add(key(b, s))));
  predicted.forEach((ss, b) => ss.forEach((s) => P.add(key(b, s))));
  const per: Record<string, [number, number, number]> = {};
  const bump = (t: number, i: 0 | 1 | 2) => { const n = types[t - 1] ?? `type ${t}`; (per[n] ??= [0, 0, 0])[i]++; };
  let tp = 0;
  for (const k of P) { const t = Number(k.split(':')[3]); bump(t, 1); if (G.has(k)) { tp++; bump(t, 0); } }
  for (const k of G) bump(Number(k.split(':')[3]), 2);
  const perType: Record<string, Scores> = {};
  for (const [n, [a, p, g]] of Object.entries(per)) perType[n] = prf(a, p, a, g);
  return { micro: prf(tp, P.size, tp, G.size), perType };
}

/** A span's length bucket (its length in words: right - left + 1). */
export function lengthBucket(s: Span): LengthBucket {
  const n = s.right - s.left + 1;
  return n >= 4 ? '4+' : (String(n) as LengthBucket);
}

/** Whether another span of `set` (other boundaries) contains `s`. */
export function isNested(s: Span, set: readonly Span[]): boolean {
  return set.some((o) => o.left <= s.left && s.right <= o.right && (o.left !== s.left || o.right !== s.right));
}

/**
 * P/R/F1 per bucket: each sentence's unique predicted spans are put in buckets by `bucketOf(span, the
 * sentence's predicted spans)` and its unique gold spans by `bucketOf(span, its gold spans)`. Every
 * bucket is listed, in the order of `names`, empty or not; the buckets' counts sum to the micro counts.
 */
export function scoreBuckets<B extends string>(gold: readonly (readonly Span[])[], predicted: readonly (readonly Span[])[], names: readonly B[],
  bucketOf: (s: Span, set: readonly Span[]) => B): Record<B, BucketScores> {
  checkLengths(gold, predicted, 'scoreBuckets');
  const counts = new Map<B, { tp: number; predicted: number; found: number; gold: number }>(names.map((n) => [n, { tp: 0, predicted: 0, found: 0, gold: 0 }]));
  const at = (b: B) => { const c = counts.get(b); if (!c) throw new Error(`scoreBuckets: bucket '${b}' is not one of ${names.join(', ')}`); return c; };
  gold.forEach((gs, i) => {
    const G = uniqueSpans(gs), P = uniqueSpans(predicted[i]);
    const gk = new Set(G.map(spanKey)), pk = new Set(P.map(spanKey));
    for (const p of P) { const c = at(bucketOf(p, P)); c.predicted++; if (gk.has(spanKey(p))) c.tp++; }
    for (const g of G) { const c = at(bucketOf(g, G)); c.gold++; if (pk.has(spanKey(g))) c.found++; }
  });
  const out = {} as Record<B, BucketScores>;
  for (const [n, c] of counts) out[n] = { ...prf(c.tp, c.predicted, c.found, c.gold), found: c.found };
  return out;
}

/** P/R/F1 by entity length in words (1, 2, 3, 4+): a predicted entity's length for precision, a gold one's for recall. */
export function scoreByLength(gold: readonly (readonly Span[])[], predicted: readonly (readonly Span[])[]): Record<LengthBucket, BucketScores> {
  return scoreBuckets(gold, predicted, LENGTH_BUCKETS, (s) => lengthBucket(s));
}

/** P/R/F1 of outermost and nested entities (NESTING_BUCKETS says which is which). */
export function scoreByNesting(gold: readonly (readonly Span[])[], predicted: readonly (readonly Span[])[]): Record<NestingBucket, BucketScores> {
  return scoreBuckets(gold, predicted, NESTING_BUCKETS, (s, set) => (isNested(s, set) ? 'nested' : 'outermost'));
}

/**
 * One sentence's errors: its unique predicted spans that are gold (true positives) and those that are not
 * (false positives, in the order predicted), and its unique gold spans that were not predicted (false
 * negatives, in the order given).
 */
export function compareSpans<G extends Span, P extends Span>(gold: readonly G[], predicted: readonly P[]): { truePositives: P[]; falsePositives: P[]; falseNegatives: G[] } {
  const G = uniqueSpans(gold), P = uniqueSpans(predicted);
  const gk = new Set(G.map(spanKey)), pk = new Set(P.map(spanKey));
  return { truePositives: P.filter((p) => gk.has(spanKey(p))), falsePositives: P.filter((p) => !gk.has(spanKey(p))), falseNegatives: G.filter((g) => !pk.has(spanKey(g))) };
}
