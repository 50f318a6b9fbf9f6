/**
 * BINDER's read-out (spec §3.4, the official src/utils.py): only the span scores are used. A span (i ≤ j,
 * real words, at most maxSpanWidth words) is an entity of type k when its score beats that type's
 * threshold, the score of the [CLS] cell (0, 0): span[k, i, j] > span[k, 0, 0].
 *
 * Score in [0, 1]: sigmoid(span[k, i, j] − span[k, 0, 0]), so a span is kept by the official rule exactly
 * when its score is above 0.5, the default threshold; a threshold φ keeps the spans whose margin is above
 * logit(φ) (φ = 0 keeps every span, φ = 1 none).
 *
 * Flat data (the official postprocess_flat_predictions): greedily by (−span score, start, end), with the
 * raw span score as the official code ranks (not the margin), a span is accepted when it shares no word
 * with an accepted one (adjacent spans may both stay; the same span with a second type is refused).
 * Nested data: every kept span (a span may take several types), as the official code.
 */
import { overlaps } from '../../ner/spans.js';
import type { FilterMode } from '../../ner/spans.js';

/** One sentence's span scores over its real words and its types' thresholds. */
export interface SpanScores {
  /** Words. */
  n: number;
  /** span[k, i, j] for the real words i, j (0-based, the [CLS] left out): (M, n, n), row-major. */
  spans: Float32Array;
  /** span[k, 0, 0], each type's [CLS] score (M). */
  thresholds: Float32Array;
  maxSpanWidth: number;
}

/** A kept span: inclusive word indices, type index 0..M−1, its raw score, its margin over the threshold and its score in [0, 1]. */
export interface ScoredSpan { start: number; end: number; type: number; raw: number; margin: number; score: number }

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The margin a span must exceed to have a score above φ: logit(φ) (−∞ at φ ≤ 0, +∞ at φ ≥ 1, 0 at the default 0.5). */
export function marginCut(threshold: number): number {
  if (threshold <= 0) return -Infinity;
  if (threshold >= 1) return Infinity;
  return Math.log(threshold / (1 - threshold));
}

/** Every span of every type whose margin is above logit(φ) and whose width is at most maxSpanWidth, by (type, start, end). */
export function keptSpans(s: SpanScores, threshold: number): ScoredSpan[] {
  const M = s.thresholds.length, n = s.n, cut = marginCut(threshold), out: ScoredSpan[] = [];
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) for (let j = i; j < n && j - i < s.maxSpanWidth; j++) {
    const raw = s.spans[(k * n + i) * n + j], margin = raw - s.thresholds[k];
    if (margin > cut) out.push({ start: i, end: j, type: k, raw, margin, score: sigmoid(margin) });
  }
  return out;
}

/** The official flat read-out: by (−raw score, start, end) (ties then by type), each span kept unless it shares a word with one kept before. */
export function flatGreedy(spans: readonly ScoredSpan[]): ScoredSpan[] {
  const order = [...spans].sort((a, b) => b.raw - a.raw || a.start - b.start || a.end - b.end || a.type - b.type);
  const kept: ScoredSpan[] = [];
  const span = (x: ScoredSpan) => ({ left: x.start, right: x.end, type: x.type });
  for (const c of order) if (!kept.some((k) => overlaps(span(c), span(k)))) kept.push(c);
  return kept.sort((a, b) => a.start - b.start || a.end - b.end || a.type - b.type);
}

/** The entities of one sentence at threshold φ, flat or nested. */
export function decodeSpans(s: SpanScores, threshold: number, mode: FilterMode): ScoredSpan[] {
  const kept = keptSpans(s, threshold);
  return mode === 'flat' ? flatGreedy(kept) : kept;
}
