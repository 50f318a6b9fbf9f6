/**
 * The scratch encoder's words: the vocabulary keeps words seen at least minFreq times (most frequent
 * first), everything else reads as [UNK]; word dropout turns known words into [UNK] at its rate while
 * training and never in evaluation.
 */
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { buildVocab, describeVocab, PAD, UNK, unknownShare } from '../../src/ner/encoders/vocab.js';
import { parseVocab } from '../../src/text/vocab-file.js';

const s = suite('word vocabulary and word dropout');
const sent = (tokens: string[]) => ({ origin: 't', tokens, entities: [] });

s('minFreq cuts rare words; order is by frequency, then alphabetical; lowercase merges case', () => {
  const data = [sent(['b', 'a', 'b', 'c']), sent(['a', 'b', 'D', 'd'])];
  const all = buildVocab(data, 1);
  if (all.join(' ') !== `${PAD} ${UNK} b a D c d`) throw new Error(all.join(' '));
  const frequent = buildVocab(data, 2);
  if (frequent.join(' ') !== `${PAD} ${UNK} b a`) throw new Error(frequent.join(' '));
  const lower = buildVocab(data, 2, true);
  if (lower.join(' ') !== `${PAD} ${UNK} b a d`) throw new Error(lower.join(' '));
});

s('the log says what the cutoff costs, and notes a cutoff that leaves much of a small set unknown', () => {
  const data = [sent(['b', 'a', 'b', 'c']), sent(['a', 'b', 'D', 'd'])];
  const frequent = buildVocab(data, 2); // keeps a, b: 5 of 8 tokens
  if (unknownShare(data, frequent) !== 3 / 8) throw new Error(`share ${unknownShare(data, frequent)}`);
  if (unknownShare(data, buildVocab(data, 2, true), true) !== 1 / 8) throw new Error('lower-cased words are looked up lower-cased');
  const line = describeVocab(data, frequent, 2);
  if (!line.startsWith('vocabulary 4 (words seen >= 2 times; 37.5 % of training tokens read as unknown); note: minFreq 2 leaves 37.5 %')) throw new Error(line);
  if (describeVocab(data, buildVocab(data, 1), 1) !== 'vocabulary 7 (words seen >= 1 time; 0.0 % of training tokens read as unknown)') throw new Error(describeVocab(data, buildVocab(data, 1), 1));
  const big = Array.from({ length: 20 }, () => sent(['a', 'b', 'c', 'd', 'e', 'f', 'g']));
  big.push(sent(['rare']));
  if (describeVocab(big, buildVocab(big, 2), 2).includes('note')) throw new Error('a cutoff costing 0.7 % of the tokens needs no note');
});

s('the vocabulary always survives its own file: empty words, line breaks and the data\'s own [PAD] / [UNK] stay out of it', () => {
  const data = [sent(['EU', '', 'rejects', UNK, PAD, 'a\nb', 'EU'])];
  const vocab = buildVocab(data, 1);
  if (vocab.join('|') !== `${PAD}|${UNK}|EU|rejects`) throw new Error(vocab.join('|'));
  const back = parseVocab(vocab.join('\n') + '\n', 'vocab.txt'); // what a model folder's reader does
  if (back.join('|') !== vocab.join('|')) throw new Error('the written vocabulary reads back differently');
});

s('unknown words read as [UNK]; word dropout replaces known words at its rate in training only', () => {
  const vocab = [PAD, UNK, 'a', 'b'];
  const model = new DiffusionNER({ vocab, types: ['X'], hidden: 4, lstmLayers: 1, proposals: 2, heads: 2, ffn: 4, dropout: 0, wordDropout: 0.3 }, { device: T.cpu, rng: new T.RNG(5) });
  const tokens = Array.from({ length: 4000 }, (_, i) => (i % 2 ? 'a' : 'b'));
  const ids = (training: boolean) => {
    if (training) model.train(); else model.eval();
    const b = model.batch([{ tokens: [...tokens, 'zebra'], entities: [] }], T.cpu);
    const v = Array.from(b.ids.array as Int32Array);
    DiffusionNER.disposeBatch(b);
    return v;
  };
  const evalIds = ids(false);
  if (evalIds.at(-1) !== 1 || evalIds.slice(0, -1).some((id, i) => id !== (i % 2 ? 2 : 3))) throw new Error('evaluation: known words keep their ids, unknown ones are [UNK]');
  const trainIds = ids(true).slice(0, -1);
  const dropped = trainIds.filter((id) => id === 1).length / trainIds.length;
  if (Math.abs(dropped - 0.3) > 0.03) throw new Error(`word dropout rate ${dropped}, want 0.3`);
  if (trainIds.some((id, i) => id !== 1 && id !== (i % 2 ? 2 : 3))) throw new Error('a kept word changed id');
});

s.run();
