/**
 * `npm run bench [-- <suite> ...] [--quick] [--tag NAME]`: runs the named suites (all when none is named),
 * prints a table per suite and writes bench/results/<suite>[-tag].json and bench/RESULTS.md.
 */
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { getDevice } from '../src/index.js';
import { printTable, type Result, type SuiteContext, writeResults } from './common.js';

const SUITES: Record<string, () => Promise<{ run: (ctx: SuiteContext) => Promise<void> }>> = {
  matmul: () => import('./suites/matmul.js'),
  memory: () => import('./suites/memory.js'),
  layers: () => import('./suites/layers.js'),
  e2e: () => import('./suites/e2e.js'),
  serve: () => import('./suites/serve.js'),
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false }, tag: { type: 'string' } },
});
const names = positionals.length ? positionals : Object.keys(SUITES);
for (const n of names) {
  if (!SUITES[n]) {
    console.error(`unknown suite '${n}'; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}

const gpu = await getDevice('webgpu');
const rep = gpu.kind === 'webgpu' ? gpu.backend.report : null;
const adapter = rep ? `${rep.description} (${rep.vendor}, ${rep.architecture})` : 'none';
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(`adapter: ${adapter}\nmachine: ${machine}`);

for (const name of names) {
  const results: Result[] = [];
  const ctx: SuiteContext = {
    quick: values.quick!,
    adapter,
    record: (r) => {
      const full = { suite: name, adapter: r.adapter ?? adapter, ...r } as Result;
      results.push(full);
      console.log(`  ${full.name} [${full.variant}, ${full.device}]: ${full.value.toFixed(2)} ${full.unit}`);
    },
  };
  console.log(`\n== ${name}${values.quick ? ' (quick)' : ''}`);
  const suite = await SUITES[name]();
  await suite.run(ctx);
  console.log('');
  printTable(results);
  const file = writeResults(name, values.tag, results, {
    command: `npm run bench -- ${name}${values.quick ? ' --quick' : ''}${values.tag ? ` --tag ${values.tag}` : ''}`,
    adapter,
    machine,
    date: new Date().toISOString().slice(0, 10),
  });
  console.log(`wrote ${file}`);
}
process.exit(0);
