/** Strict micro and per-type precision, recall and F1 over predicted and gold spans. */
import type { Span } from './spans.js';

export interface Scores { precision: number; recall: number; f1: number; tp: number; predicted: number; gold: number }

function prf(tp: number, predicted: number, gold: number): Scores {
  const precision = predicted ? (100 * tp) / predicted : 0, recall = gold ? (100 * tp) / gold : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, tp, predicted, gold };
}

/**
 * Strict micro P/R/F1 (×100) over sets of (sentence, left, right, type) (duplicates collapse), and the
 * same per type. `types` names the class indices 1..C.
 */
export function score(gold: Span[][], predicted: Span[][], types: readonly string[]): { micro: Scores; perType: Record<string, Scores> } {
  if (gold.length !== predicted.length) throw new Error(`score: ${gold.length} gold sentences but ${predicted.length} predicted`);
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
  for (const [n, [a, p, g]] of Object.entries(per)) perType[n] = prf(a, p, g);
  return { micro: prf(tp, P.size, G.size), perType };
}
