/**
 * Builds the three-model table of docs/COMPARISON.md from the runs themselves: each row's run folder
 * (metrics.json, train.log) and its test evaluation (`eval --json`). The rows are listed in
 * docs/comparison-runs.json; the table replaces what lies between the two marker comments of the doc.
 * Inference sentences/s are the trainer's own test scoring at the end of the run (eval's where absent),
 * so they come from the same host and moment as the training figures.
 *
 *   npx tsx scripts/compare-models.ts            # print the table
 *   npx tsx scripts/compare-models.ts --write    # and put it into docs/COMPARISON.md
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = join(root, 'docs', 'COMPARISON.md');
const BEGIN = '<!-- table: scripts/compare-models.ts -->';
const END = '<!-- end of table -->';

interface RowSpec {
  model: string;
  dataset: string;
  /** The training run's folder, relative to the repository. */
  run: string;
  /** `eval --json` of the chosen model on test. */
  eval: string;
  /** Where the run predates the trainer's own peak-memory record: the externally sampled VmHWM. */
  peakRssMiB?: number;
  /** What a reader must know to read the row's speed figures (another run beside it, say): a footnote. */
  note?: string;
}
interface Scores { precision: number; recall: number; f1: number }
interface Epoch { trainSeconds: number; trainSentencesPerSecond: number; peakRssMiB?: number; peakGpuLiveMiB?: number; matmulProbe?: { gflops: number } }
interface Evaluation { micro: Scores; sentencesPerSecond: number; byLength: Record<string, Scores>; byNesting: Record<string, Scores & { gold: number }> }

const readJson = <T>(path: string): T => {
  if (!existsSync(path)) throw new Error(`${path}: missing (run the row's commands in docs/COMPARISON.md first)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
};
const f = (x: number, digits = 2) => x.toFixed(digits);
const range = (xs: number[], digits: number) => {
  const lo = Math.min(...xs), hi = Math.max(...xs);
  return lo === hi ? f(lo, digits) : `${f(lo, digits)}–${f(hi, digits)}`;
};

function row(spec: RowSpec, footnote: string): string[] {
  const metrics = readJson<{ epochs: Epoch[]; test?: { sentencesPerSecond: number } }>(join(root, spec.run, 'metrics.json'));
  const ev = readJson<Evaluation>(join(root, spec.eval));
  const log = readFileSync(join(root, spec.run, 'train.log'), 'utf8');
  const parameters = /model: ([\d,]+) parameters/.exec(log)?.[1] ?? '?';
  const epochs = metrics.epochs;
  const seconds = epochs.reduce((s, e) => s + e.trainSeconds, 0);
  const sentences = epochs.reduce((s, e) => s + e.trainSeconds * e.trainSentencesPerSecond, 0);
  const rss = epochs.some((e) => e.peakRssMiB) ? Math.max(...epochs.map((e) => e.peakRssMiB ?? 0)) : spec.peakRssMiB;
  const gpu = epochs.some((e) => e.peakGpuLiveMiB) ? f(Math.max(...epochs.map((e) => e.peakGpuLiveMiB ?? 0)), 0) : '—';
  const probes = epochs.flatMap((e) => (e.matmulProbe ? [e.matmulProbe.gflops] : []));
  const { outermost, nested } = ev.byNesting;
  const L = ev.byLength;
  return [
    spec.model, spec.dataset,
    `${f(ev.micro.precision)} / ${f(ev.micro.recall)} / **${f(ev.micro.f1)}**`,
    ['1', '2', '3', '4+'].map((k) => f(L[k]?.f1 ?? NaN, 1)).join(' / '),
    nested.gold ? `${f(nested.f1, 1)} / ${f(outermost.f1, 1)}` : '—',
    `${epochs.length} ep, ${f(seconds / 60, 0)} min${footnote}`,
    f(sentences / seconds, 1), f(metrics.test?.sentencesPerSecond ?? ev.sentencesPerSecond, 1),
    rss ? `${f(rss / 1024, 1)} GiB${epochs.some((e) => e.peakRssMiB) ? '' : ' (sampled)'}` : '—', gpu,
    parameters, probes.length ? range(probes, 0) : '—',
  ];
}

export function comparisonTable(specs: RowSpec[]): string {
  const head = ['model', 'data', 'test P / R / F1', 'F1 by length 1 / 2 / 3 / 4+', 'nested / outermost F1', 'training',
    'train sent/s', 'infer sent/s', 'peak RSS', 'peak live GPU MiB', 'parameters', 'matmul probe GFLOP/s'];
  const noted = specs.filter((s) => s.note);
  const marker = (s: RowSpec) => (s.note ? ` [${noted.indexOf(s) + 1}]` : '');
  const lines = [head, head.map((h, i) => (i < 2 ? '---' : '---:'))].concat(specs.map((s) => row(s, marker(s))));
  const table = lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const notes = noted.map((s, i) => `[${i + 1}] ${s.model}, ${s.dataset}: ${s.note}`);
  return notes.length ? `${table}\n\n${notes.join('\n\n')}` : table;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const specs = readJson<RowSpec[]>(join(root, 'docs', 'comparison-runs.json'));
  const table = comparisonTable(specs);
  console.log(table);
  if (process.argv.includes('--write')) {
    const doc = readFileSync(DOC, 'utf8');
    const a = doc.indexOf(BEGIN), b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${DOC}: the markers ${BEGIN} and ${END} are missing`);
    writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${table}\n${doc.slice(b)}`);
    console.error(`wrote the table into ${DOC}`);
  }
}
