/** DiffusionNER as the registry sees it: its kind, config rules, how to build and open it, its defaults. */
import { dirname } from 'node:path';
import { checkFolderVocab } from '../../ner/encoders/folder-vocab.js';
import type { EncoderKind } from '../../ner/encoders/sentence-encoder.js';
import type { Device } from '../../tensor/device.js';
import type { RNG } from '../../tensor/random.js';
import { traceView } from '../../ner/trace.js';
import type { Trace } from './trace.js';
import { checkModelConfig, defaultTrainConfig, type ModelConfig, TRAIN_CONFIG_RULES } from './config.js';
import { DiffusionNER } from './model.js';
import { formatSummary, formatTrace, traceSentence } from './trace.js';
import { renderTraceHtml } from './trace-html.js';

export { DiffusionNER } from './model.js';

export const diffusionner = {
  kind: 'diffusionner',
  summary: 'boundary-denoising diffusion over spans (Shen et al., ACL 2023)',
  configRules: TRAIN_CONFIG_RULES,
  /** γ, K, η, and the trace's starting timestep. */
  inferenceFlags: ['gamma', 'k-eval', 'eta', 'start-t'],
  defaultTrainConfig,
  /** Its trace: every layer and every DDIM step of one sentence, as text, JSON and an HTML page. */
  trace: traceView<Trace>({
    run: (model, device, tokens, { inference, ...o }) =>
      traceSentence(model as DiffusionNER, device, tokens, { ...o, ...(inference as { steps?: number; proposals?: number; eta?: number; startT?: number }) }),
    text: formatTrace,
    summary: formatSummary,
    html: renderTraceHtml,
  }),
  create(config: Record<string, unknown>, device: Device, rng: RNG): DiffusionNER {
    return new DiffusionNER(config as unknown as ModelConfig, { device, rng });
  },
  /**
   * A model from a folder's config.json and vocabulary. A folder without `init` was trained before the
   * official initialisation existed, with PyTorch's; one without `positionFeatures` before BERT models
   * defaulted to none, when every model had them.
   */
  fromFolder(config: unknown, file: string, vocab: string[], device: Device, rng?: RNG): DiffusionNER {
    const c = checkModelConfig(config, file);
    checkFolderVocab(dirname(file), (c.encoder as EncoderKind | undefined) ?? 'scratch', vocab.length);
    return new DiffusionNER({ init: 'pytorch', positionFeatures: true, ...(c as unknown as ModelConfig), vocab }, { device, rng });
  },
};
