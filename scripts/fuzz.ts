/**
 * `npm run fuzz [-- --runs N --seed S]`: every parser fuzzer of test/reliability/fuzzers.ts with N cases
 * (default 10,000) each; prints cases and time per parser and fails on the first bad case.
 */
import { parseArgs } from 'node:util';
import { makeCheckpointFuzzer, makeFuzzers, runFuzzer } from '../test/reliability/fuzzers.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' } } });
const runs = Number(values.runs), seed = Number(values.seed);
const all = [...makeFuzzers(), await makeCheckpointFuzzer()];
console.log(`| parser | cases | seconds |\n|---|---:|---:|`);
for (const f of all) {
  try {
    const r = await runFuzzer(f, runs, seed);
    console.log(`| ${f.name} | ${r.cases} | ${r.seconds.toFixed(1)} |`);
  } finally {
    f.cleanup?.();
  }
}
process.exit(0);
