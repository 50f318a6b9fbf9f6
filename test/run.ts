/**
 * The test runner behind `npm test`: loads every test/**\/*.test.ts (or those whose path contains one of
 * the command-line words), runs them with uvu, and closes with an "N passed, N failed" line.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));

function find(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return find(p);
    return f.endsWith('.test.ts') ? [p] : [];
  }).sort();
}

const files = find(root).filter((f) => filters.length === 0 || filters.some((w) => relative(root, f).includes(w)));
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: unknown[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
const { exec } = await import('uvu');
const { setup, teardown } = await import('./helpers.js');
await setup();

for (const [i, f] of files.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([relative(root, f)]);
  await import(pathToFileURL(f).href);
}

// uvu prints totals but returns nothing: count what it writes to report the standard closing line. It
// also prints each file's name as the file starts, which times the files (the suite has a time budget).
let captured = '';
const names = files.map((f) => relative(root, f));
const seconds = new Map<string, number>();
const running: { file: { name: string; since: number } | null } = { file: null };
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  captured += text;
  const started = names.find((n) => !seconds.has(n) && n !== running.file?.name && text.includes(n));
  if (started) {
    const now = performance.now();
    if (running.file) seconds.set(running.file.name, (now - running.file.since) / 1000);
    running.file = { name: started, since: now };
  }
  return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;
await exec();
process.stdout.write = write;
if (running.file) seconds.set(running.file.name, (performance.now() - running.file.since) / 1000);
const slowest = [...seconds].sort((a, b) => b[1] - a[1]).slice(0, 5);
if (slowest.length > 1) console.log(`slowest files: ${slowest.map(([n, t]) => `${n} ${t.toFixed(0)} s`).join(', ')}`);
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
await teardown();
console.log(`${passed} passed, ${total - passed} failed`);
if (total === 0 || passed !== total) process.exitCode = 1;
