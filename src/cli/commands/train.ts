import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FilterMode } from '../../ner/spans.js';
import { readSentences } from '../../ner/data.js';
import { checkResumable } from '../../ner/train/resume.js';
import { checkHasEntities } from '../../ner/train/setup.js';
import { DEFAULT_KIND, MODEL_KINDS, modelKind, readTrainConfig, train, type TrainConfig } from '../../models/index.js';
import type { TrainOptions } from '../../ner/train/loop.js';
import type { Device } from '../../tensor/device.js';
import type { Command } from '../command.js';
import { deviceOf } from '../common.js';
import { UsageError } from '../parse.js';
import { resumeCommand, stopOnSignals } from '../signals.js';

/**
 * Trains with SIGINT and SIGTERM as a clean stop: after the checkpoint, where it stopped and the command
 * that resumes, and the exit status of the signal (a second one exits at once).
 */
async function trainUntilDoneOrSignal(cfg: TrainConfig, device: Device, o: TrainOptions): Promise<void> {
  const stop = stopOnSignals({ what: 'training' });
  try {
    const r = await train(cfg, device, { ...o, stopSignal: stop.signal });
    if (r.stopped?.by !== 'signal') return;
    process.stderr.write(`diffusionner: stopped by ${stop.signal.reason} at epoch ${r.stopped.epoch}, step ${r.stopped.step}; to resume: ${resumeCommand(process.argv.slice(2))}\n`);
    process.exit(stop.exitCode());
  } finally {
    stop.dispose();
  }
}

export const trainCommand: Command = {
  name: 'train',
  usage: `train --config FILE [--out DIR] [--resume [--reschedule]] [--init DIR] [--max-steps N] [--epochs N] [--lr X] [--seed N] [--keep-epoch-models] [--device webgpu|cpu] [--adapter N|NAME]\n       diffusionner train --train FILE [--dev FILE] [--test FILE] [--types FILE] [--kind ${MODEL_KINDS.join('|')}] [--mode flat|nested] [--out DIR] ...`,
  summary: 'Trains a model: from a config (configs/*.json; model.kind picks the model), or from data files with the default settings of --kind (default diffusionner). Writes OUT/model (the best epoch on dev), checkpoints, train.log, steps.jsonl and metrics.json.',
  flags: ['config', 'train', 'dev', 'test', 'types', 'kind', 'mode', 'out', 'resume', 'reschedule', 'init', 'max-steps', 'epochs', 'lr', 'seed', 'keep-epoch-models', 'device', 'adapter'],
  positionals: false,
  more: 'Ctrl-C (SIGINT) or SIGTERM stops after the current step: a checkpoint is written, and where it stopped and the command that resumes are printed (exit status 130 or 143); a second one exits at once.',
  async run({ values }) {
    if (!values.config && !values.train) throw new UsageError('train needs --config FILE or --train FILE');
    if (values.config && (values.train || values.dev || values.test || values.types)) throw new UsageError('train takes --config FILE or data files (--train/--dev/--test/--types), not both');
    if (values.config && values.mode) throw new UsageError(`train takes --mode only with data files; with --config the config's eval.mode says it (${values.config})`);
    if (values.config && values.kind) throw new UsageError(`train takes --kind only with data files; with --config the config's model.kind says it (${values.config})`);
    const data = { train: values.train as string, ...(values.dev ? { dev: values.dev as string } : {}), ...(values.test ? { test: values.test as string } : {}), ...(values.types ? { types: values.types as string } : {}) };
    const cfg = values.config ? readTrainConfig(values.config as string) : modelKind((values.kind as string | undefined) ?? DEFAULT_KIND, '--kind').defaultTrainConfig(data, values.mode as FilterMode | undefined);
    for (const k of ['train', 'dev', 'test', 'types'] as const) {
      for (const f of [cfg.data[k] ?? []].flat()) if (!existsSync(f)) throw new Error(`${f}: no such file (data.${k})`);
    }
    cfg.out = (values.out as string | undefined) ?? cfg.out ?? 'runs/out';
    if (existsSync(cfg.out) && !statSync(cfg.out).isDirectory()) throw new Error(`${cfg.out}: is a file, not a folder (--out)`);
    if (values['max-steps'] !== undefined) cfg.train.maxSteps = values['max-steps'] as number;
    if (values.epochs !== undefined) cfg.train.epochs = values.epochs as number;
    if (values.lr !== undefined) cfg.train.lr = values.lr as number;
    if (values.seed !== undefined) cfg.train.seed = values.seed as number;
    if (values['keep-epoch-models']) cfg.train.keepEpochModels = true;
    const init = values.init as string | undefined;
    if (init && !existsSync(init)) throw new Error(`${init}: no such model folder (--init)`);
    if (init && !existsSync(join(init, 'vocab.txt'))) throw new Error(`${init}: not a model folder (no vocab.txt) (--init)`);
    if (values.reschedule && !values.resume) throw new UsageError('--reschedule goes with --resume (it accepts a changed --epochs or --max-steps when continuing a run)');
    if (values.resume) checkResumable(cfg.out);
    const trainFiles = [cfg.data.train].flat(), trainSet = trainFiles.flatMap((f) => readSentences(f));
    for (const k of ['dev', 'test'] as const) for (const f of [cfg.data[k] ?? []].flat()) readSentences(f);
    checkHasEntities(trainFiles, trainSet);
    await trainUntilDoneOrSignal(cfg, await deviceOf(values), { resume: !!values.resume, reschedule: !!values.reschedule, ...(init ? { init } : {}), progress: process.stderr.isTTY ? true : 'lines' });
  },
};
