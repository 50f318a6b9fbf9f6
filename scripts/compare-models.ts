/**
 * Builds the three-model table of docs/COMPARISON.md from the runs themselves: each row's run folder
 * (metrics.json, train.log) and its test evaluation (`eval --json`). The rows are listed in
 * docs/comparison-runs.json; the table replaces what lies between the two marker comments of the doc.
 * runs/ is never committed, so `--write` also stores each row's figures in docs/comparison-runs.json, and a
 * row whose run folder is absent (a fresh clone) is rebuilt from them.
 * Inference sentences/s are the trainer's own test scoring at the end of the run (eval's where absent),
 * so they come from the same host and moment as the training figures.
 *
 *   npx tsx scripts/compare-models.ts            # print the table
 *   npx tsx scripts/compare-models.ts --write    # and put it into docs/COMPARISON.md
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(root, 'docs', 'COMPARISON.md');
const BEGIN = '<!-- table: scripts/compare-models.ts -->';
const END = '<!-- end of table -->';

export interface RowSpec {
  model: string;
  dataset: string;
  /** The training run's folder, relative to the repository (or absolute). */
  run: string;
  /** `eval --json` of the chosen model on test. */
  eval: string;
  /** Where the run predates the trainer's own peak-memory record: the externally sampled VmHWM. */
  peakRssMiB?: number;
  /** What a reader must know to read the row's speed figures (another run beside it, say): a footnote. */
  note?: string;
  /** The row's figures as last read from its run; the table is rebuilt from them where the run is absent. */
  figures?: Figures;
}
interface Scores { precision: number; recall: number; f1: number }
interface Epoch { trainSeconds: number; trainSentencesPerSecond: number; peakRssMiB?: number; peakGpuLiveMiB?: number; matmulProbe?: { gflops: number } }
interface Evaluation { micro: Scores; sentencesPerSecond: number; byLength: Record<string, Scores>; byNesting: Record<string, Scores & { gold: number }> }
/** One row's numbers: what the table shows, kept in docs/comparison-runs.json because runs/ is never committed. */
export interface Figures {
  test: Scores;
  /** F1 for entities of 1, 2, 3 and 4+ words. */
  f1ByLength: [number, number, number, number];
  /** Nested and outermost F1, on data with nested entities; null on flat data. */
  nestedOutermostF1: [number, number] | null;
  epochs: number;
  trainSeconds: number;
  trainSentencesPerSecond: number;
  inferSentencesPerSecond: number;
  peakRssMiB: number | null;
  /** True where the peak RSS was sampled from /proc by hand rather than recorded by the trainer. */
  peakRssSampled: boolean;
  peakGpuLiveMiB: number | null;
  parameters: number | null;
  /** The lowest and highest 512 × 512 matmul probe of the run's epochs, GFLOP/s. */
  matmulProbeGflops: [number, number] | null;
}

const readJson = <T>(path: string): T => {
  if (!existsSync(path)) throw new Error(`${path}: missing (run the row's commands in docs/COMPARISON.md first)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
};
const f = (x: number, digits = 2) => x.toFixed(digits);
const range = ([lo, hi]: [number, number], digits: number) => (f(lo, digits) === f(hi, digits) ? f(lo, digits) : `${f(lo, digits)}–${f(hi, digits)}`);

/** Reads a row's figures from its run folder and its test evaluation. */
function readFigures(spec: RowSpec): Figures {
  const metrics = readJson<{ epochs: Epoch[]; test?: { sentencesPerSecond: number } }>(resolve(root, spec.run, 'metrics.json'));
  const ev = readJson<Evaluation>(resolve(root, spec.eval));
  const log = readFileSync(resolve(root, spec.run, 'train.log'), 'utf8');
  const parameters = /model: ([\d,]+) parameters/.exec(log)?.[1];
  const epochs = metrics.epochs;
  const seconds = epochs.reduce((s, e) => s + e.trainSeconds, 0);
  const sentences = epochs.reduce((s, e) => s + e.trainSeconds * e.trainSentencesPerSecond, 0);
  const recorded = epochs.some((e) => e.peakRssMiB);
  const probes = epochs.flatMap((e) => (e.matmulProbe ? [e.matmulProbe.gflops] : []));
  const { outermost, nested } = ev.byNesting;
  return {
    test: { precision: ev.micro.precision, recall: ev.micro.recall, f1: ev.micro.f1 },
    f1ByLength: (['1', '2', '3', '4+'] as const).map((k) => ev.byLength[k]?.f1 ?? NaN) as Figures['f1ByLength'],
    nestedOutermostF1: nested.gold ? [nested.f1, outermost.f1] : null,
    epochs: epochs.length,
    trainSeconds: seconds,
    trainSentencesPerSecond: sentences / seconds,
    inferSentencesPerSecond: metrics.test?.sentencesPerSecond ?? ev.sentencesPerSecond,
    peakRssMiB: recorded ? Math.max(...epochs.map((e) => e.peakRssMiB ?? 0)) : spec.peakRssMiB ?? null,
    peakRssSampled: !recorded && spec.peakRssMiB !== undefined,
    peakGpuLiveMiB: epochs.some((e) => e.peakGpuLiveMiB) ? Math.max(...epochs.map((e) => e.peakGpuLiveMiB ?? 0)) : null,
    parameters: parameters ? Number(parameters.replaceAll(',', '')) : null,
    matmulProbeGflops: probes.length ? [Math.min(...probes), Math.max(...probes)] : null,
  };
}

/** The run's figures where its folder is here (they replace the stored ones), else the stored figures. */
export function figuresOf(spec: RowSpec): Figures {
  if (existsSync(resolve(root, spec.run, 'metrics.json')) || !spec.figures) return readFigures(spec);
  return spec.figures;
}

function row(spec: RowSpec, x: Figures, footnote: string): string[] {
  return [
    spec.model, spec.dataset,
    `${f(x.test.precision)} / ${f(x.test.recall)} / **${f(x.test.f1)}**`,
    x.f1ByLength.map((v) => f(v, 1)).join(' / '),
    x.nestedOutermostF1 ? `${f(x.nestedOutermostF1[0], 1)} / ${f(x.nestedOutermostF1[1], 1)}` : '—',
    `${x.epochs} ep, ${f(x.trainSeconds / 60, 0)} min${footnote}`,
    f(x.trainSentencesPerSecond, 1), f(x.inferSentencesPerSecond, 1),
    x.peakRssMiB ? `${f(x.peakRssMiB / 1024, 1)} GiB${x.peakRssSampled ? ' (sampled)' : ''}` : '—',
    x.peakGpuLiveMiB ? f(x.peakGpuLiveMiB, 0) : '—',
    x.parameters ? x.parameters.toLocaleString('en-US') : '?',
    x.matmulProbeGflops ? range(x.matmulProbeGflops, 0) : '—',
  ];
}

/** The table, each row's figures from its run where present, else as stored (`figuresOf`). */
export function comparisonTable(specs: RowSpec[]): string {
  const head = ['model', 'data', 'test P / R / F1', 'F1 by length 1 / 2 / 3 / 4+', 'nested / outermost F1', 'training',
    'train sent/s', 'infer sent/s', 'peak RSS', 'peak live GPU MiB', 'parameters', 'matmul probe GFLOP/s'];
  const noted = specs.filter((s) => s.note);
  const marker = (s: RowSpec) => (s.note ? ` [${noted.indexOf(s) + 1}]` : '');
  const lines = [head, head.map((h, i) => (i < 2 ? '---' : '---:'))].concat(specs.map((s) => row(s, figuresOf(s), marker(s))));
  const table = lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const notes = noted.map((s, i) => `[${i + 1}] ${s.model}, ${s.dataset}: ${s.note}`);
  return notes.length ? `${table}\n\n${notes.join('\n\n')}` : table;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const specsPath = join(root, 'docs', 'comparison-runs.json');
  const specs = readJson<RowSpec[]>(specsPath).map((s) => ({ ...s, figures: figuresOf(s) }));
  const table = comparisonTable(specs);
  console.log(table);
  if (process.argv.includes('--write')) {
    const doc = readFileSync(DOC, 'utf8');
    const a = doc.indexOf(BEGIN), b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${DOC}: the markers ${BEGIN} and ${END} are missing`);
    writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${table}\n${doc.slice(b)}`);
    writeFileSync(specsPath, `[\n${specs.map((s) => `  ${JSON.stringify(s)}`).join(',\n')}\n]\n`);
    console.error(`wrote the table into ${DOC} and the figures into ${specsPath}`);
  }
}
