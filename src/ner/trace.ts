/**
 * What every model's trace shares: the per-layer table of module calls recorded by forward hooks (shape,
 * mean, std, min, max and non-finite count of each output), grouped by phase (encode, step 1, ...).
 */
import type { ForwardRecord } from '../nn/hooks.js';

const fmt = (v: number) => (Number.isNaN(v) ? 'nan' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

/** The per-layer table: one row per module call of the chosen phases. */
export function formatModuleTable(modules: readonly ForwardRecord[], phases: (phase: string) => boolean = () => true): string {
  // Dropout is the identity outside training: its rows would repeat their input.
  const rows = modules.filter((r) => phases(r.phase) && r.module !== '' && r.kind !== 'Dropout');
  const head = ['phase', 'module', 'output', 'shape', 'mean', 'std', 'min', 'max', 'non-finite'];
  const body = rows.flatMap((r) => Object.entries(r.outputs).map(([k, s]) => [
    r.phase, r.module + (r.call && !r.phase.startsWith('step') ? `#${r.call}` : ''), k, `[${s.shape.join('×')}]`, fmt(s.mean), fmt(s.std), fmt(s.min), fmt(s.max), String(s.nonFinite),
  ]));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

