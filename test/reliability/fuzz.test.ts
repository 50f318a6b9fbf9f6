import { suite } from 'uvu';
import { makeCheckpointFuzzer, makeFuzzers, runFuzzer } from './fuzzers.js';

const s = suite('fuzzing every parser (npm run fuzz runs 10,000 cases each)');

for (const f of makeFuzzers()) {
  s(`${f.name}: hostile input parses or is one clean error line naming the file`, async () => { await runFuzzer(f, 300); });
}

s('checkpoint folders: any damaged file is rejected naming it, an intact one loads', async () => {
  const f = await makeCheckpointFuzzer();
  try { await runFuzzer(f, 60); } finally { f.cleanup?.(); }
});

s.run();
