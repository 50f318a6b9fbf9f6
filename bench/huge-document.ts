/**
 * Memory on one huge document: a single line of about --mb MB (default 50) of CoNLL-2003 training
 * sentences in natural spacing, given to `predict --json` with a bundled model. The predict process's
 * resident memory is sampled every 5 s for --seconds (default 120), then the process is stopped: the
 * whole line would take hours on lavapipe, and what matters is whether memory grows with the document.
 * Each --repo (default: this checkout) runs in turn on the same document, so that a checkout of the code
 * before a change is measured beside it in one run (`git worktree add /tmp/before REV` and link its
 * node_modules).
 * --per-line writes the same sentences one per line instead (many small documents), as a control.
 *   npx tsx bench/huge-document.ts [--mb 50] [--seconds 120] [--model NAME|DIR] [--repo DIR ...] [--per-line]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseJsonl } from '../src/ner/data.js';
import { benchDir } from './common.js';
import { headline, naturalSpacing } from './natural-text.js';

const { values } = parseArgs({ options: { mb: { type: 'string' }, seconds: { type: 'string' }, model: { type: 'string' }, repo: { type: 'string', multiple: true }, 'per-line': { type: 'boolean' } } });
/** The control: the same sentences one per line, so many small documents, which predict has always streamed. */
const perLine = values['per-line'] ?? false;
const mb = Number(values.mb ?? 50), seconds = Number(values.seconds ?? 120), model = values.model ?? 'conll2003';
const repos = (values.repo ?? [join(benchDir, '..')]).map((r) => resolve(r));

/** The document: training sentences as running text, repeated to the size asked for, on one line. */
function hugeDocument(): { file: string; words: number } {
  const file = join(tmpdir(), `huge-document-${mb}MB${perLine ? '-per-line' : ''}.txt`);
  const source = '../shared/data/conll2003/train.jsonl';
  const sentences = parseJsonl(readFileSync(join(benchDir, '..', source), 'utf8'), source).filter((s) => !headline(s.tokens));
  const paragraph = sentences.map((s) => naturalSpacing(s.tokens)).join(perLine ? '\n' : ' ');
  const copies = Math.ceil(mb * 1e6 / Buffer.byteLength(paragraph));
  const words = copies * sentences.reduce((n, s) => n + s.tokens.length, 0);
  if (!existsSync(file) || statSync(file).size !== copies * (Buffer.byteLength(paragraph) + 1)) writeFileSync(file, `${paragraph}${perLine ? '\n' : ' '}`.repeat(copies).trimEnd() + '\n');
  return { file, words };
}

const rssGB = (pid: number, field: 'VmRSS' | 'VmHWM') => {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 / 1024 : NaN;
};

async function measure(repo: string, file: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/diffusionner.ts'), 'predict', '--model', model, '--file', file, '--json'],
    { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  let lastProgress = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { const l = d.trim().split('\n').filter((x) => x.startsWith('predict:')).at(-1); if (l) lastProgress = l; });
  const samples: string[] = [];
  let peak = 0;
  for (let t = 5; t <= seconds && child.exitCode === null; t += 5) {
    await new Promise((r) => setTimeout(r, 5000));
    if (child.exitCode !== null) break;
    samples.push(rssGB(child.pid!, 'VmRSS').toFixed(2));
    peak = rssGB(child.pid!, 'VmHWM');
  }
  child.kill('SIGKILL');
  console.log(`${repo}: resident GB every 5 s: ${samples.join(', ')}; peak ${peak.toFixed(2)} GB; ${lastProgress || 'no progress line'}`);
}

const { file, words } = hugeDocument();
console.log(`${file}: ${(statSync(file).size / 1e6).toFixed(1)} MB ${perLine ? 'one sentence per line' : 'on one line'}, ${(words / 1e6).toFixed(1)} M words; predict --model ${model} --json, ${seconds} s each`);
for (const repo of repos) await measure(repo, file);
