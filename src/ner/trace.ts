/**
 * What every model's trace shares: the per-layer table of module calls recorded by forward hooks (shape,
 * mean, std, min, max and non-finite count of each output), grouped by phase (encode, step 1, ...), the
 * choice of modules whose tensor values a trace keeps, and a kind's trace functions as the registry's view.
 */
import type { ForwardRecord } from '../nn/hooks.js';
import type { Device } from '../tensor/device.js';
import type { NerModel, TraceSettings, TraceView } from './contract.js';

const fmt = (v: number) => (Number.isNaN(v) ? 'nan' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

/** The layer table's column names. */
export const MODULE_TABLE_HEAD = ['phase', 'module', 'output', 'shape', 'mean', 'std', 'min', 'max', 'non-finite'] as const;

/** The layer table's rows as text cells (MODULE_TABLE_HEAD's columns): one row per output of each module call of the chosen phases. */
export function moduleTableRows(modules: readonly ForwardRecord[], phases: (phase: string) => boolean = () => true): string[][] {
  // Dropout is the identity outside training: its rows would repeat their input.
  const rows = modules.filter((r) => phases(r.phase) && r.module !== '' && r.kind !== 'Dropout');
  return rows.flatMap((r) => Object.entries(r.outputs).map(([k, s]) => [
    r.phase, r.module + (r.call && !r.phase.startsWith('step') ? `#${r.call}` : ''), k, `[${s.shape.join('×')}]`, fmt(s.mean), fmt(s.std), fmt(s.min), fmt(s.max), String(s.nonFinite),
  ]));
}

/** The per-layer table: one row per module call of the chosen phases. */
export function formatModuleTable(modules: readonly ForwardRecord[], phases: (phase: string) => boolean = () => true): string {
  const head = [...MODULE_TABLE_HEAD];
  const body = moduleTableRows(modules, phases);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/**
 * Which modules' tensor values a trace keeps: `patterns` are dotted module names (as the layer table
 * shows them, without `#call`), `*` matching any characters, dots included (`decoder.span_layers.0.*`);
 * `all` (or `*`) is every module. A pattern that names no module of `names` is an error that lists them,
 * so a typo (or a sentence taken for the list) fails before the run.
 */
export function moduleValuesFilter(patterns: readonly string[], names: readonly string[]): (module: string) => boolean {
  const items = patterns.map((p) => p.trim()).filter((p) => p !== '');
  if (items.length === 0) throw new Error('--values needs module names (e.g. lstm,decoder.left_pointer), a pattern with * (decoder.span_layers.0.*) or all');
  if (items.some((p) => p === 'all' || p === '*')) return () => true;
  const res = items.map((p) => [p, new RegExp(`^${p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)] as const);
  const named = names.filter((n) => n !== '');
  for (const [p, re] of res) {
    if (!named.some((n) => re.test(n))) {
      const shown = named.length > 12 ? `${named.slice(0, 12).join(', ')}, … (${named.length} in all; the layer table lists them)` : named.join(', ');
      throw new Error(`--values: no module is called '${p}'; the modules are ${shown}`);
    }
  }
  return (m) => res.some(([, re]) => re.test(m));
}

/**
 * A kind's TraceView from its own trace functions, typed with its Trace: the registry hands a view only
 * traces its run made, as `unknown`, and only the page options it knows of.
 */
export function traceView<T>(v: {
  run(model: NerModel, device: Device, tokens: string[], o: TraceSettings): Promise<T>;
  text(t: T): string;
  summary(t: T): string;
  html(t: T, o: { label?: string; compare?: { trace: T; label: string } }): string;
}): TraceView {
  return {
    run: v.run,
    text: (t) => v.text(t as T),
    summary: (t) => v.summary(t as T),
    html: (t, o = {}) => v.html(t as T, { label: o.label, compare: o.compare && { trace: o.compare.trace as T, label: o.compare.label } }),
  };
}
