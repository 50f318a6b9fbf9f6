/** A model folder's weights hash: what decides which workers may tag a corpus. */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEIGHTS_CHECKSUM_FILE, WEIGHTS_FILE } from '../nn/folder.js';

/**
 * The sha256 of the folder's model.safetensors: read from model.safetensors.sha256 when the folder has
 * one (loading the model checks it against the weights), else computed from the weights.
 */
export async function weightsHash(dir: string): Promise<string> {
  const sumFile = join(dir, WEIGHTS_CHECKSUM_FILE);
  if (existsSync(sumFile)) {
    const m = /^([0-9a-fA-F]{64})\b/.exec(readFileSync(sumFile, 'latin1').trim());
    if (m) return m[1].toLowerCase();
  }
  const weights = join(dir, WEIGHTS_FILE);
  if (!existsSync(weights)) throw new Error(`${dir}: not a model folder (no ${WEIGHTS_FILE})`);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(weights)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
