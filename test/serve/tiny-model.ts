/** A tiny trained model folder for the server's tests (not a test file itself). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { train } from '../../src/api.js';

/**
 * A tiny DiffusionNER trained for two epochs on the cpu device (a second or two). Its selection.json is
 * set to φ 0, so that it finds entities (it learns too little to pass the default φ).
 */
export async function tinyModel(where: string): Promise<string> {
  const sentence = (i: number) => ({ tokens: ['x', `w${i % 3}`, 'Paris', 'y'], entities: [{ start: 2, end: 3, type: 'LOC' }] });
  writeFileSync(join(where, 'train.jsonl'), Array.from({ length: 6 }, (_, i) => JSON.stringify(sentence(i))).join('\n') + '\n');
  const r = await train({
    data: { train: join(where, 'train.jsonl'), dev: join(where, 'train.jsonl') },
    model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0 },
    train: { epochs: 2, batch: 3, lr: 1e-3 }, eval: { mode: 'flat', proposals: 4 }, out: join(where, 'run'),
  }, { device: 'cpu' });
  const selection = join(r.modelDir, 'selection.json');
  writeFileSync(selection, JSON.stringify({ ...JSON.parse(readFileSync(selection, 'utf8')), threshold: 0 }));
  return r.modelDir;
}
