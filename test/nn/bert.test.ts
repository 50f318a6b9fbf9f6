import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { basicTokenize, WordPieceTokenizer } from '../../src/text/wordpiece.js';
import { assertClose, assertThrows, DEVICES } from '../helpers.js';

const s = suite('BERT: WordPiece tokenizer, Hugging Face checkpoint folder, hidden states vs PyTorch, pooling');
const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'tiny-bert');

s('BasicTokenizer rules: control characters, CJK, accents, punctuation, lower-casing', () => {
  const cases: [string, string[], boolean][] = [
    ['Hello, World!', ['hello', ',', 'world', '!'], true],
    ['Café naïve', ['cafe', 'naive'], true],
    ['Café', ['Café'], false],
    ['中国人', ['中', '国', '人'], true],
    ['a\u0000b\u200bc\td', ['abc', 'd'], true], // NUL and a format character (category Cf) vanish
    ['IL-2 (T-cells)', ['il', '-', '2', '(', 't', '-', 'cells', ')'], true],
    ['x\u3000y', ['x', 'y'], true], // ideographic space is whitespace
  ];
  for (const [text, want, lower] of cases) {
    const got = basicTokenize(text, { lowercase: lower });
    if (got.join('|') !== want.join('|')) throw new Error(`${JSON.stringify(text)}: ${got.join('|')}, want ${want.join('|')}`);
  }
});

s('WordPiece: greedy longest match with ## continuations, [UNK] for uncoverable or over-long words', () => {
  const tok = new WordPieceTokenizer(['[UNK]', '[CLS]', '[SEP]', 'un', '##aff', '##able', 'unaff', '##a', 'runn', '##ing']);
  const check = (w: string, want: string[]) => { const got = tok.wordPiece(w); if (got.join(' ') !== want.join(' ')) throw new Error(`${w}: ${got}`); };
  check('unaffable', ['unaff', '##able']);
  check('running', ['runn', '##ing']);
  check('unx', ['[UNK]']);
  check('a'.repeat(101), ['[UNK]']);
  const e = tok.encodeWords(['running', '', 'unaffable']);
  if (e.spans.map((x) => x.join('-')).join(',') !== '1-3,3-4,4-6') throw new Error(JSON.stringify(e));
});

s('a Hugging Face folder loads and its hidden states match PyTorch (max rel. error <= 1e-4) on every device', async () => {
  const tok = WordPieceTokenizer.fromFile(join(dir, 'vocab.txt'), { lowercase: true });
  const expected = nn.readSafetensors(join(dir, 'expected.safetensors'));
  const sentences = JSON.parse(nn.safetensorsMetadata(join(dir, 'expected.safetensors')).sentences) as string[][];
  const ids = expected.get('ids')!, mask = expected.get('mask')!, hidden = expected.get('hidden')!;
  const [B, S] = ids.shape;
  // The tokenizer must reproduce the ids and word spans the Python port of BertTokenizer produced.
  sentences.forEach((words, b) => {
    const e = tok.encodeWords(words);
    const want = Array.from(ids.data.slice(b * S, b * S + e.ids.length));
    if (e.ids.join() !== want.join()) throw new Error(`sentence ${b}: ids ${e.ids} want ${want}`);
    if (e.spans.flat().join() !== Array.from(expected.get(`spans.${b}`)!.data).join()) throw new Error(`sentence ${b}: spans ${JSON.stringify(e.spans)}`);
  });
  for (const dev of DEVICES) {
    const bert = (await nn.BertModel.fromPretrained(dir, { device: dev })).eval();
    const h = await bert.forward(T.tensor(ids.data, { shape: [B, S], device: dev }), T.tensor(mask.data, { shape: [B, S], device: dev })).data();
    // Real tokens only (padding rows are not defined the same way). Relative error is measured against
    // the largest magnitude of the expected states; each element must also be within 1e-4 relative + 1e-5.
    let worstAbs = 0, scale = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < S; t++) {
      if (mask.data[b * S + t] === 0) continue;
      for (let e = 0; e < 32; e++) {
        const i = (b * S + t) * 32 + e;
        const err = Math.abs(h[i] - hidden.data[i]);
        if (err > 1e-4 * Math.abs(hidden.data[i]) + 1e-5) throw new Error(`${dev.name}: state ${i}: ${h[i]} vs ${hidden.data[i]}`);
        worstAbs = Math.max(worstAbs, err);
        scale = Math.max(scale, Math.abs(hidden.data[i]));
      }
    }
    const worst = worstAbs / scale;
    if (process.env.DNER_VERBOSE) console.log(`  ${dev.name}: BERT max abs error ${worstAbs.toExponential(2)}, relative to max |h| ${worst.toExponential(2)}`);
    if (!(worst <= 1e-4)) throw new Error(`${dev.name}: max relative error ${worst}`);
  }
});

s('sub-word -> word max and mean pooling', async () => {
  for (const dev of DEVICES) {
    const h = T.tensor([[[1, 10], [3, 0], [2, 5], [7, 7]], [[0, 0], [4, -1], [6, -3], [9, 9]]], { device: dev });
    const spans: [number, number][][] = [[[1, 3], [3, 4]], [[1, 3]]];
    assertClose(await nn.poolWords(h, spans, 'max').data(), [3, 5, 7, 7, 6, -1, 0, 0], { atol: 0 }, `${dev.name} max`);
    assertClose(await nn.poolWords(h, spans, 'mean').data(), [2.5, 2.5, 7, 7, 5, -2, 0, 0], { atol: 1e-6 }, `${dev.name} mean`);
    // A word with no sub-words (an empty span) pools to zeros, not to a neighbour's piece.
    const gaps: [number, number][][] = [[[1, 2], [2, 2], [2, 4]], [[1, 1], [1, 3], [3, 3]]];
    assertClose(await nn.poolWords(h, gaps, 'max').data(), [3, 0, 0, 0, 7, 7, 0, 0, 6, -1, 0, 0], { atol: 0 }, `${dev.name} max, empty spans`);
    assertClose(await nn.poolWords(h, gaps, 'mean').data(), [3, 0, 0, 0, 4.5, 6, 0, 0, 5, -2, 0, 0], { atol: 1e-6 }, `${dev.name} mean, empty spans`);
  }
});

s('config.json problems are reported with the file and field', async () => {
  await assertThrows(() => nn.parseBertConfig('{"vocab_size": 10}', 'c.json'), /c\.json: field 'hidden_size' must be a whole number in \[1, 8192\], got undefined/);
  await assertThrows(() => nn.parseBertConfig('{bad', 'c.json'), /c\.json: not valid JSON/);
  await assertThrows(() => nn.BertModel.fromPretrained('/nonexistent'), /no config\.json/);
});

s.run();
