/**
 * One shard's tagging, in process: every document's line in order, a batch that throws retried one
 * document at a time so only the document that throws becomes an error, over-long and unreadable
 * documents as errors, and a shard where every document throws failed as a whole (a broken worker).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { loadModel, train } from '../../src/api.js';
import type { ShardJob } from '../../src/corpus/job.js';
import { tagShard, type Tagger } from '../../src/corpus/tag-shard.js';
import type { NerModel } from '../../src/ner/contract.js';
import { assertThrows } from '../helpers.js';

const s = suite('corpus: tagging one shard');
const dir = mkdtempSync(join(tmpdir(), 'dner-tag-shard-'));

/** The model, except that a batch holding the word `word` throws. */
function failingOn(model: NerModel, word: string): NerModel {
  return new Proxy(model, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== 'batch') return typeof value === 'function' ? value.bind(target) : value;
      return (sentences: { tokens: string[] }[], ...rest: unknown[]) => {
        if (sentences.some((x) => x.tokens.includes(word))) throw new Error(`cannot tag ${word}`);
        return (value as (...a: unknown[]) => unknown).call(target, sentences, ...rest);
      };
    },
  });
}

const job = (docs: ShardJob['docs']): ShardJob => ({ corpus: 'c', shard: 0, model: 'm', weights: 'w', files: ['a.txt', 'b.jsonl'], docs });

s('a document that makes its batch throw is the only error; the rest are tagged, in order', async () => {
  const data = join(dir, 'train.jsonl');
  writeFileSync(data, Array.from({ length: 4 }, (_, i) => JSON.stringify({ tokens: ['x', `w${i}`, 'Paris'], entities: [{ start: 2, end: 3, type: 'LOC' }] })).join('\n') + '\n');
  const r = await train({ data: { train: data, dev: data }, model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0 }, train: { epochs: 1, batch: 2, lr: 1e-2 }, eval: { mode: 'flat', proposals: 4 }, out: join(dir, 'run') }, { device: 'cpu' });
  const model = await loadModel(r.modelDir, { device: 'cpu' });
  const tagger: Tagger = { model: failingOn(model.ner, 'BOOM'), device: model.device, options: { threshold: 0, batch: 4 } };
  const docs: ShardJob['docs'] = [
    ...Array.from({ length: 9 }, (_, i) => ({ file: 0, line: i + 1, text: i === 5 ? 'x BOOM Paris' : `x w${i} Paris . Paris y` })),
    { file: 1, line: 1, error: 'malformed JSON (x)' }, { file: 1, line: 2, tokens: ['Paris', 'x'], id: 7 }, { file: 1, line: 3, text: 'Paris '.repeat(20) },
  ];
  const { lines, failed } = await tagShard(tagger, job(docs), 100);
  const out = lines.map((l) => JSON.parse(l) as { file: string; line: number; id?: unknown; error?: string; sentences?: unknown[] });
  if (out.length !== 12 || failed !== 3) throw new Error(`${out.length} lines, ${failed} failed`);
  if (out.map((o) => `${o.file}:${o.line}`).join(' ') !== 'a.txt:1 a.txt:2 a.txt:3 a.txt:4 a.txt:5 a.txt:6 a.txt:7 a.txt:8 a.txt:9 b.jsonl:1 b.jsonl:2 b.jsonl:3') throw new Error('order');
  if (out[5].error !== 'cannot tag BOOM' || out.some((o, i) => i < 9 && i !== 5 && o.sentences?.length !== 2)) throw new Error(JSON.stringify(out.slice(0, 9)));
  if (out[9].error !== 'malformed JSON (x)' || out[10].id !== 7 || out[10].sentences?.length !== 1 || out[11].error !== 'document of 120 characters, longer than --max-doc-chars 100') throw new Error(JSON.stringify(out.slice(9)));
  // The documents given back before the failing batch are exactly what they are without the failure.
  const plain = await tagShard({ ...tagger, model: model.ner }, job(docs.slice(0, 4)), 100);
  if (plain.lines.join('\n') !== lines.slice(0, 4).join('\n')) throw new Error('the documents before the failing batch changed');
  // Every document throwing is a broken worker, not bad documents: the shard fails, to be retried.
  await assertThrows(() => tagShard(tagger, job([{ file: 0, line: 1, text: 'BOOM' }, { file: 0, line: 2, text: 'x BOOM' }]), 100), /every document of the shard failed to tag: cannot tag BOOM/);
  model.dispose();
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
