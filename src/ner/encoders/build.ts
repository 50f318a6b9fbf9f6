/**
 * The encoder of a new training run, from the config's model section and the training set: the scratch
 * encoder's vocabularies (words seen >= minFreq times, characters), or a BERT folder's config and
 * WordPiece vocabulary, and the clitic convention predict will split plain text by.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BertModel, parseBertConfig } from '../../nn/bert.js';
import type { Device } from '../../tensor/device.js';
import { cliticStyle } from '../../text/tokenize.js';
import { readVocabFile } from '../../text/vocab-file.js';
import type { Sentence } from '../data.js';
import type { EncoderConfig, SentenceEncoder } from './sentence-encoder.js';
import { buildCharVocab, buildVocab, describeVocab } from './vocab.js';

export interface NewEncoder {
  config: EncoderConfig;
  /** The BERT folder whose weights the new model starts from (encoder bert). */
  bertDir?: string;
  /** The log's description of the vocabulary. */
  describe: string;
}

/** `settings` is the config's model section; the returned config holds them with the vocabularies filled in. */
export function newEncoderConfig(settings: Record<string, unknown>, trainSet: readonly Sentence[]): NewEncoder {
  const { minFreq, bertPath, ...rest } = settings as { minFreq?: number; bertPath?: string; lowercase?: boolean; charEmbedding?: number } & Record<string, unknown>;
  // How predict will split plain text: the config's choice, else the training data's convention.
  const clitics = (rest.clitics as EncoderConfig['clitics']) ?? cliticStyle(trainSet.map((x) => x.tokens));
  if (rest.encoder === 'bert') {
    const dir = bertPath!;
    const bertCfgPath = join(dir, 'config.json');
    if (!existsSync(bertCfgPath)) throw new Error(`${dir}: not a BERT folder (no config.json)`);
    const vocab = readVocabFile(join(dir, 'vocab.txt'));
    return { config: { ...rest, hidden: rest.hidden as number, clitics, vocab, bert: parseBertConfig(readFileSync(bertCfgPath, 'utf8'), bertCfgPath) }, bertDir: dir, describe: `vocabulary ${vocab.length}` };
  }
  const vocab = buildVocab(trainSet, minFreq ?? 1, rest.lowercase ?? false);
  return {
    config: { ...rest, hidden: rest.hidden as number, clitics, vocab, chars: (rest.charEmbedding ?? 0) > 0 ? buildCharVocab(trainSet) : [] },
    describe: describeVocab(trainSet, vocab, minFreq ?? 1, rest.lowercase ?? false),
  };
}

/** Copies a BERT folder's weights into a new model's encoder. */
export async function loadPretrainedBert(encoder: SentenceEncoder, dir: string, device: Device): Promise<void> {
  const pre = await BertModel.fromPretrained(dir, { device });
  await encoder.bert!.loadStateDict(pre.stateDict());
  pre.dispose();
}
