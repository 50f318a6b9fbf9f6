/**
 * DiffusionNER's BERT input (spec §1.2): [CLS] (left context [SEP])? sentence ([SEP] right context)?,
 * each word encoded on its own, no closing [SEP]; a word with no pieces has an empty span; context is
 * trimmed from its far ends to fit BERT's positions, and a sentence that cannot fit is an error.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { bertInput } from '../../src/ner/encoders/bert-input.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { parseBertConfig } from '../../src/nn/bert.js';
import { readVocabFile } from '../../src/text/vocab-file.js';
import { WordPieceTokenizer } from '../../src/text/wordpiece.js';
import { assertThrows } from '../helpers.js';
import { readFileSync } from 'node:fs';

const s = suite('BERT input of DiffusionNER (context, no closing [SEP], empty words)');
const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'tiny-bert');
const tok = WordPieceTokenizer.fromFile(join(dir, 'vocab.txt'), { lowercase: true });
const show = (ids: number[]) => ids.map((i) => tok.idToToken[i]).join(' ');

s('layout without and with context, and the sentence words\' spans', () => {
  const plain = bertInput(tok, { tokens: ['the', 'proteins'] }, 512);
  if (show(plain.ids) !== '[CLS] the protein ##s') throw new Error(show(plain.ids));
  if (JSON.stringify(plain.spans) !== '[[1,2],[2,4]]') throw new Error(JSON.stringify(plain.spans));
  const ctx = bertInput(tok, { tokens: ['eu', 'rejects'], ltokens: ['the', 'cells'], rtokens: ['lamb'] }, 512);
  if (show(ctx.ids) !== '[CLS] the cell ##s [SEP] eu rejects [SEP] lamb') throw new Error(show(ctx.ids));
  if (JSON.stringify(ctx.spans) !== '[[5,6],[6,7]]') throw new Error(JSON.stringify(ctx.spans));
  const empty = bertInput(tok, { tokens: ['the', '\u200b', 'eu'] }, 512);
  if (show(empty.ids) !== '[CLS] the eu' || JSON.stringify(empty.spans) !== '[[1,2],[2,2],[2,3]]') throw new Error(`${show(empty.ids)} ${JSON.stringify(empty.spans)}`);
});

s('context is trimmed from its far ends to fit; a sentence that cannot fit is an error', async () => {
  const r = bertInput(tok, { tokens: ['eu'], ltokens: ['the', 'a', 'of'], rtokens: ['in', 'and'] }, 6);
  // [CLS] L [SEP] eu [SEP] R within 6: the longer left side loses its first words first.
  if (show(r.ids) !== '[CLS] of [SEP] eu [SEP] in' || r.contextTrimmed !== 3) throw new Error(`${show(r.ids)} trimmed ${r.contextTrimmed}`);
  const only = bertInput(tok, { tokens: ['eu', 'lamb'], ltokens: ['\u200b'], rtokens: ['the'] }, 3);
  if (show(only.ids) !== '[CLS] eu lamb' || only.contextTrimmed !== 2) throw new Error(`${show(only.ids)} trimmed ${only.contextTrimmed}`);
  await assertThrows(() => bertInput(tok, { tokens: ['eu', 'rejects', 'lamb'] }, 3), /4 sub-words, more than BERT's 3 positions/);
});

s('closingSep (BINDER): a [SEP] closes the sequence, after the right context, and counts in the length', async () => {
  const plain = bertInput(tok, { tokens: ['the', 'proteins'] }, 5, true);
  if (show(plain.ids) !== '[CLS] the protein ##s [SEP]' || JSON.stringify(plain.spans) !== '[[1,2],[2,4]]') throw new Error(`${show(plain.ids)} ${JSON.stringify(plain.spans)}`);
  const ctx = bertInput(tok, { tokens: ['eu'], ltokens: ['the', 'a'], rtokens: ['in', 'and'] }, 7, true);
  // [CLS] L [SEP] eu [SEP] R [SEP] within 7: the left side's first word goes, then the right side's last.
  if (show(ctx.ids) !== '[CLS] a [SEP] eu [SEP] in [SEP]' || ctx.contextTrimmed !== 2) throw new Error(`${show(ctx.ids)} trimmed ${ctx.contextTrimmed}`);
  await assertThrows(() => bertInput(tok, { tokens: ['the', 'proteins'] }, 4, true), /5 sub-words, more than BERT's 4 positions/);
});

s('DiffusionNER batches use it: context from the data, and a too-long sentence names its origin', async () => {
  const bert = parseBertConfig(readFileSync(join(dir, 'config.json'), 'utf8'), 'config.json');
  const model = new DiffusionNER({ vocab: readVocabFile(join(dir, 'vocab.txt')), types: ['ORG'], hidden: 8, lstmLayers: 1, proposals: 2, heads: 2, ffn: 8, encoder: 'bert', bert, lowercase: true }, { device: T.cpu });
  const b = model.batch([{ tokens: ['eu'], ltokens: ['the'] }, { tokens: ['lamb', 'call'] }], T.cpu);
  const ids = Array.from(await b.pieces!.ids.data()), S = b.pieces!.ids.shape[1];
  if (show(ids.slice(0, 4)) !== '[CLS] the [SEP] eu' || show(ids.slice(S, S + 3)) !== '[CLS] lamb call') throw new Error(`${show(ids)}`);
  if (JSON.stringify(b.pieces!.spans) !== '[[[3,4]],[[1,2],[2,3]]]') throw new Error(JSON.stringify(b.pieces!.spans));
  DiffusionNER.disposeBatch(b);
  const long = { origin: 'dev.jsonl:7', tokens: Array.from({ length: bert.max_position_embeddings }, () => 'eu') };
  await assertThrows(() => model.batch([long], T.cpu), /dev\.jsonl:7: \d+ sub-words, more than BERT's \d+ positions/);
  model.dispose();
});

s.run();
