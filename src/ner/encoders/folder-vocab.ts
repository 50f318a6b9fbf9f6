/**
 * A model folder's vocab.txt gives the word ids its weights were trained with. One from another model
 * would otherwise surface deep in loading as a shape error naming neither file, or (BERT) as ids past
 * the embedding's end.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { safetensorsHeader } from '../../nn/safetensors.js';
import type { EncoderKind } from './sentence-encoder.js';

/** The word embedding's parameter, per encoder (the names model folders have always used). */
const WORD_EMBEDDING: Record<EncoderKind, string> = { scratch: 'word_embed.weight', bert: 'bert.embeddings.word_embeddings.weight' };

/**
 * Checks `dir`'s vocabulary size against the word embedding's rows in its model.safetensors: equal for the
 * scratch encoder (one row per word); for BERT, no more entries than rows (a padded embedding is normal).
 */
export function checkFolderVocab(dir: string, encoder: EncoderKind, vocabSize: number): void {
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) return; // the folder's loader names a missing file
  const rows = safetensorsHeader(weights)[WORD_EMBEDDING[encoder]]?.shape?.[0];
  if (typeof rows !== 'number' || rows === vocabSize || (encoder === 'bert' && vocabSize < rows)) return;
  throw new Error(`${join(dir, 'vocab.txt')}: ${vocabSize} entries, but the word embedding in ${weights} has ${rows} rows (the vocabulary belongs to another model)`);
}
