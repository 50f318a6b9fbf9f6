/** BINDER as the registry sees it: its kind, config rules, how to build and open it, its defaults and its trace. */
import { dirname } from 'node:path';
import { checkFolderVocab } from '../../ner/encoders/folder-vocab.js';
import type { EncoderKind } from '../../ner/encoders/sentence-encoder.js';
import { PAD, UNK } from '../../ner/encoders/vocab.js';
import type { Device } from '../../tensor/device.js';
import type { RNG } from '../../tensor/random.js';
import type { TypeInfo } from '../../ner/contract.js';
import { traceView } from '../../ner/trace.js';
import { BINDER_DEFAULTS, type BinderConfig, checkModelConfig, defaultTrainConfig, TRAIN_CONFIG_RULES } from './config.js';
import { descriptionTokens, typeDescriptions } from './descriptions.js';
import { Binder } from './model.js';
import { formatSummary, formatTrace, traceSentence, type Trace } from './trace.js';
import { renderTraceHtml } from './trace-html.js';

export { Binder } from './model.js';

/**
 * A new model's config with one description per type (the types file's, else a built-in set's) and (the
 * scratch encoder) its vocabulary grown by the descriptions' words (and characters) that the training data
 * lacks, so that the type encoder reads every description word even when it is rare in the text.
 */
export function withDescriptions(config: BinderConfig, given: Readonly<Record<string, string>> = {}): BinderConfig {
  if ((config.typeInputs ?? BINDER_DEFAULTS.typeInputs) !== 'descriptions') return config;
  const descriptions = typeDescriptions(config.types, given);
  // BERT's WordPiece vocabulary reads every word (its pieces, or [UNK]): it is the folder's, unchanged.
  if (config.encoder === 'bert') return { ...config, descriptions };
  const words = descriptions.flatMap((d) => descriptionTokens(d, config.clitics ?? 'split')).map((w) => (config.lowercase ? w.toLowerCase() : w));
  const known = new Set(config.vocab);
  const vocab = [...config.vocab];
  for (const w of words) if (!known.has(w) && w !== PAD && w !== UNK) { known.add(w); vocab.push(w); }
  let chars = config.chars;
  if (chars && chars.length) {
    const seen = new Set(chars);
    chars = [...chars];
    for (const ch of words.join('')) if (!seen.has(ch)) { seen.add(ch); chars.push(ch); }
  }
  return { ...config, descriptions, vocab, ...(chars ? { chars } : {}) };
}

export const binder = {
  kind: 'binder',
  summary: 'bi-encoder contrastive span-type matching with a [CLS] threshold (Zhang et al., ICLR 2023)',
  configRules: TRAIN_CONFIG_RULES,
  inferenceFlags: [] as string[],
  defaultTrainConfig,
  /** Its trace: the layers, θ, each type's [CLS] threshold and the spans above it with their margins. */
  trace: traceView<Trace>({
    run: (model, device, tokens, { inference: _inference, ...o }) => traceSentence(model as Binder, device, tokens, o),
    text: formatTrace,
    summary: formatSummary,
    html: renderTraceHtml,
  }),
  create(config: Record<string, unknown>, device: Device, rng: RNG, info?: TypeInfo): Binder {
    return new Binder(withDescriptions(config as unknown as BinderConfig, info?.descriptions), { device, rng });
  },
  fromFolder(config: unknown, file: string, vocab: string[], device: Device, rng?: RNG): Binder {
    const c = checkModelConfig(config, file);
    checkFolderVocab(dirname(file), (c.encoder as EncoderKind | undefined) ?? 'scratch', vocab.length);
    return new Binder({ ...(c as unknown as BinderConfig), vocab }, { device, rng });
  },
};
