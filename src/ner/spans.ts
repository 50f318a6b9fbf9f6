/**
 * Entity spans as every model predicts them, and the filters that turn scored candidates into entities:
 * flat data keeps no two spans that share a word, nested data keeps no two that cross. Spans here are
 * inclusive word indices with a type index 1..C (0 is "no entity"); data files use `end` exclusive and
 * type names, and `goldSpans` is the one conversion between the two.
 */
import type { Entity } from './data.js';

export interface Span { left: number; right: number; type: number }
/** A scored candidate: `score` ranks candidates for the filters (its scale is the model's own). */
export interface Candidate extends Span { score: number; leftScore: number; rightScore: number; typeScore: number }
export type GoldSpan = Span;

/** The filtering modes: flat (no shared word) or nested (no crossing). */
export const FILTER_MODES = ['flat', 'nested'] as const;
export type FilterMode = (typeof FILTER_MODES)[number];

/** A sentence's entities (end exclusive, type names) as inclusive spans with type indices 1..C (0 for an unknown type). */
export function goldSpans(entities: readonly Entity[], types: readonly string[]): GoldSpan[] {
  return entities.map((e) => ({ left: e.start, right: e.end - 1, type: types.indexOf(e.type) + 1 }));
}

export function overlaps(a: Span, b: Span): boolean {
  return a.left <= b.right && b.left <= a.right;
}

export function crosses(a: Span, b: Span): boolean {
  return (a.left < b.left && b.left <= a.right && a.right < b.right) || (b.left < a.left && a.left <= b.right && b.right < a.right);
}

/** Greedy by score (stable for ties): flat drops overlaps, nested drops crossings; `dedupe` first keeps one candidate per boundary pair. */
export function filterCandidates(cands: Candidate[], mode: FilterMode, dedupe = false): Candidate[] {
  if (dedupe) {
    const best = new Map<string, Candidate>();
    for (const c of cands) {
      const key = `${c.left},${c.right}`, b = best.get(key);
      if (!b || c.typeScore > b.typeScore) best.set(key, c);
    }
    cands = cands.filter((c) => best.get(`${c.left},${c.right}`) === c);
  }
  const sorted = cands.map((c, i) => [c, i] as const).sort((x, y) => y[0].score - x[0].score || x[1] - y[1]).map(([c]) => c);
  const kept: Candidate[] = [];
  for (const c of sorted) {
    const clash = kept.some((k) => (mode === 'flat' ? overlaps(c, k) : crosses(c, k)));
    if (!clash) kept.push(c);
  }
  return kept;
}
