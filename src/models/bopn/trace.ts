/**
 * A trace of one sentence through BOPN: every module's forward (shapes and statistics, values on request),
 * each type's predicted label grid over (start, end) word pairs with each cell's probability, the spans
 * the offset labels vote for (which cells voted, per family), and the entities the decoding keeps.
 */
import type { Device } from '../../tensor/device.js';
import { recordForwards, type ForwardRecord } from '../../nn/hooks.js';
import { DEFAULT_MODE } from '../../ner/defaults.js';
import type { InferenceSettings } from '../../ner/contract.js';
import type { FilterMode } from '../../ner/spans.js';
import { formatModuleTable, moduleValuesFilter } from '../../ner/trace.js';
import { type OffsetDecoding, readGrid, type Vote, votedIn } from './decode.js';
import type { BOPN } from './model.js';

export interface TracedVote { start: number; end: number; type: string; startVotes: Vote[]; endVotes: Vote[]; centre: boolean; kept: boolean }

export interface Trace {
  kind: 'bopn';
  tokens: string[];
  types: string[];
  /** The offset label names, by index (labels in `grids` index them). */
  labels: string[];
  window: number;
  options: { decoding: OffsetDecoding; overlapFilter: boolean; threshold: number; mode: FilterMode };
  modules: ForwardRecord[];
  /** Per type: the argmax label of every (start, end) cell and its probability, row-major n × n. */
  grids: { type: string; labels: number[]; probs: number[] }[];
  votes: TracedVote[];
  entities: { start: number; end: number; type: string; text: string; score: number; by: 'centre' | 'votes' }[];
}

export interface TraceOptions { threshold?: number; mode?: FilterMode; dedupe?: boolean; values?: boolean | readonly string[]; inference?: InferenceSettings }

export async function traceSentence(model: BOPN, device: Device, tokens: string[], o: TraceOptions = {}): Promise<Trace> {
  if (tokens.length === 0) throw new Error('trace: the sentence has no words');
  const inference = model.inferenceSettings(o.inference ?? {});
  const options = { ...inference, threshold: o.threshold ?? model.defaultThreshold, mode: o.mode ?? DEFAULT_MODE };
  const values = Array.isArray(o.values) ? moduleValuesFilter(o.values, [...model.namedModules()].map(([n]) => n)) : !!o.values;
  model.eval();
  const rec = recordForwards(model, { values });
  rec.phase('encode');
  const b = model.batch([{ tokens }], device);
  let grid;
  try {
    [grid] = await model.infer(b, inference);
  } finally {
    model.disposeBatch(b);
  }
  const n = tokens.length, M = model.types.length, S = model.c.window;
  const kept = model.decode(grid, { threshold: options.threshold, mode: options.mode, dedupe: o.dedupe });
  const keptKey = new Set(kept.map((c) => `${c.type - 1},${c.left},${c.right}`));
  const { centres, voted } = readGrid(grid.labels, n, M, S, grid.probs);
  const centreKey = new Set(centres.map((c) => `${c.type},${c.start},${c.end}`));
  const key = (v: { type: number; start: number; end: number }) => `${v.type},${v.start},${v.end}`;
  return {
    kind: 'bopn', tokens, types: [...model.types], labels: model.labelNames, window: S, options, modules: await rec.finish(),
    grids: model.types.map((type, y) => ({ type, labels: Array.from(grid.labels.subarray(y * n * n, (y + 1) * n * n)), probs: Array.from(grid.probs.subarray(y * n * n, (y + 1) * n * n)) })),
    votes: voted.map((v) => ({ start: v.start, end: v.end, type: model.types[v.type], startVotes: v.startVotes, endVotes: v.endVotes, centre: centreKey.has(key(v)), kept: keptKey.has(key(v)) && (centreKey.has(key(v)) || votedIn(v, inference.decoding, S)) })),
    entities: kept.map((c) => ({ start: c.left, end: c.right + 1, type: model.types[c.type - 1], text: tokens.slice(c.left, c.right + 1).join(' '), score: c.score, by: centreKey.has(`${c.type - 1},${c.left},${c.right}`) ? 'centre' as const : 'votes' as const }))
      .sort((x, y) => x.start - y.start || x.end - y.end),
  };
}

/** The non-`none` cells of each type's grid: `(i,j) label p`, upper triangle. */
export function formatGrids(t: Trace): string {
  const n = t.tokens.length;
  return t.grids.map((g) => {
    const cells: string[] = [];
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
      const k = i * n + j;
      if (t.labels[g.labels[k]] !== 'none') cells.push(`(${i},${j}) ${t.labels[g.labels[k]]} ${g.probs[k].toFixed(2)}`);
    }
    return `  ${g.type}: ${cells.length ? cells.join('  ') : '(every cell none)'}`;
  }).join('\n');
}

/** Each voted span with its votes per family and whether the decoding kept it. */
export function formatVotes(t: Trace): string {
  if (!t.votes.length) return '  (no offset label votes for a span)';
  const words = (s: number, e: number) => t.tokens.slice(s, e + 1).join(' ');
  const list = (vs: Vote[]) => vs.map((v) => `${v.label}@(${v.i},${v.j})`).join(' ') || '-';
  return t.votes.map((v) => `  [${v.start}, ${v.end}] ${v.type.padEnd(6)} start votes ${v.startVotes.length} (${list(v.startVotes)}), end votes ${v.endVotes.length} (${list(v.endVotes)})` +
    `${v.centre ? ', also a centre' : ''} -> ${v.kept ? 'KEPT' : 'not kept'}  "${words(v.start, v.end)}"`).join('\n');
}

/** The trace as `diffusionner trace` prints it: the words, the layer table, the grids, the votes, the entities. */
export function formatTrace(t: Trace): string {
  return [
    `${t.tokens.join(' ')}\n`,
    formatModuleTable(t.modules),
    `\nLabel grids (argmax label and its probability; cells that are none left out; row = start word, column = end word):`,
    formatGrids(t),
    `\nOffset votes (S = ${t.window}; decoding ${t.options.decoding}):`,
    formatVotes(t),
    `\nentities: ${t.entities.length ? t.entities.map((e) => `${e.text} [${e.type}] ${e.score.toFixed(2)} (${e.by})`).join(', ') : '(none)'}`,
  ].join('\n');
}

/** How the grid made the entities, briefly. */
export function formatSummary(t: Trace): string {
  const centres = t.entities.filter((e) => e.by === 'centre').length;
  return `How it was read (BOPN, decoding ${t.options.decoding}): ${centres} entities from centre cells, ${t.entities.length - centres} from offset votes alone.\n` +
    `Offset votes (S = ${t.window}):\n${formatVotes(t)}`;
}
