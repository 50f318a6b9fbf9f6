/** BOPN as the registry sees it: its kind, config rules, how to build and open it, its defaults and its trace. */
import { dirname } from 'node:path';
import { checkFolderVocab } from '../../ner/encoders/folder-vocab.js';
import type { EncoderKind } from '../../ner/encoders/sentence-encoder.js';
import type { Device } from '../../tensor/device.js';
import type { RNG } from '../../tensor/random.js';
import { traceView } from '../../ner/trace.js';
import { type BopnConfig, checkModelConfig, defaultTrainConfig, TRAIN_CONFIG_RULES } from './config.js';
import { BOPN } from './model.js';
import { formatSummary, formatTrace, traceSentence, type Trace } from './trace.js';
import { renderTraceHtml } from './trace-html.js';

export { BOPN } from './model.js';

export const bopn = {
  kind: 'bopn',
  summary: 'boundary offset prediction over a word-pair grid per type (Tang et al.)',
  configRules: TRAIN_CONFIG_RULES,
  /** The read-out of the label grid and the optional overlap filter. */
  inferenceFlags: ['decoding', 'overlap-filter'],
  defaultTrainConfig,
  /** Its trace: the encoder, the grid and the offset labels of one sentence, the votes and the entities they make. */
  trace: traceView<Trace>({
    run: (model, device, tokens, { inference, ...o }) => traceSentence(model as BOPN, device, tokens, { ...o, inference }),
    text: formatTrace,
    summary: formatSummary,
    html: renderTraceHtml,
  }),
  create(config: Record<string, unknown>, device: Device, rng: RNG): BOPN {
    return new BOPN(config as unknown as BopnConfig, { device, rng });
  },
  fromFolder(config: unknown, file: string, vocab: string[], device: Device, rng?: RNG): BOPN {
    const c = checkModelConfig(config, file);
    checkFolderVocab(dirname(file), (c.encoder as EncoderKind | undefined) ?? 'scratch', vocab.length);
    return new BOPN({ ...(c as unknown as BopnConfig), vocab }, { device, rng });
  },
};
