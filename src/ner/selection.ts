/**
 * The threshold φ chosen on the dev split, kept beside a model folder's weights (selection.json) so that
 * eval, predict and trace use it when no --threshold is given, with the decoding mode (flat or nested)
 * they then use when no --mode is given. Only the final filter depends on φ, so the
 * trainer scores every candidate from one DDIM run over dev (evaluateThresholds).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { oneLine } from '../text/one-line.js';
import { decodeUtf8 } from '../text/utf8.js';
import { FILTER_MODES, type FilterMode } from './spans.js';

export const SELECTION_FILE = 'selection.json';

export interface Selection {
  threshold: number;
  /** Split the choice was made on, and its micro F1 there at every candidate φ. */
  split: string;
  f1ByThreshold: Record<string, number>;
  /** Decoding the model was trained and selected with (flat or nested filtering); absent in older folders. */
  mode?: FilterMode;
}

/**
 * The candidate with the highest F1; on a tie the model's default threshold (DiffusionNER's official φ),
 * then the smaller threshold wins, so the choice does not depend on the order the candidates were listed in.
 */
export function chooseThreshold<R extends { threshold: number; micro: { f1: number } }>(results: readonly R[], preferred: number): R {
  if (!results.length) throw new Error('chooseThreshold: no candidates');
  const rank = (r: R) => [r.micro.f1, r.threshold === preferred ? 1 : 0, -r.threshold];
  return results.reduce((best, r) => {
    const [a, b] = [rank(r), rank(best)];
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i] ? r : best;
    return best;
  });
}

/** The thresholds a run tries: the configured one (else the model's default) first, then the sweep, without repeats. */
export function candidateThresholds(threshold: number | undefined, sweep: readonly number[] | undefined, fallback: number): number[] {
  return [...new Set([threshold ?? fallback, ...(sweep ?? [])])];
}

/** The file's text; model folders take it as an extra file so it is written atomically with the weights. */
export function formatSelection(s: Selection): string {
  return JSON.stringify(s, null, 1) + '\n';
}

/** The recorded choice of a model folder, or undefined when it has none. Malformed files are errors. */
export function readSelection(dir: string): Selection | undefined {
  const file = join(dir, SELECTION_FILE);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try { raw = JSON.parse(decodeUtf8(readFileSync(file), file)); } catch (e) { throw new Error(oneLine(`${file}: not valid JSON (${(e as Error).message})`)); }
  const s = raw as Partial<Selection> | null;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error(`${file}: must hold a JSON object`);
  if (typeof s.threshold !== 'number' || !Number.isFinite(s.threshold) || s.threshold < 0) {
    throw new Error(oneLine(`${file}: field 'threshold' must be a number >= 0, got ${JSON.stringify(s.threshold)}`));
  }
  if (s.mode !== undefined && !FILTER_MODES.includes(s.mode)) throw new Error(oneLine(`${file}: field 'mode' must be "flat" or "nested", got ${JSON.stringify(s.mode)}`));
  return {
    threshold: s.threshold, split: typeof s.split === 'string' ? s.split : 'unknown', f1ByThreshold: typeof s.f1ByThreshold === 'object' && s.f1ByThreshold ? s.f1ByThreshold : {},
    ...(s.mode ? { mode: s.mode } : {}),
  };
}
