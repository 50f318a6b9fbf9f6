/**
 * `diffusionner worker`: loads a model once and tags corpus shards from Redis until stopped (src/corpus).
 * SIGINT or SIGTERM finishes the shard in hand, then exits 0; a second one exits at once.
 */
import { existsSync, statSync } from 'node:fs';
import { DEFAULT_REDIS } from '../../corpus/redis.js';
import { type RunningWorker, startWorker } from '../../corpus/worker.js';
import { weightsHash } from '../../corpus/weights.js';
import { DEFAULT_SEED, MAX_WORDS } from '../../ner/defaults.js';
import { reuseLargerPooledBuffers } from '../../tensor/index.js';
import type { Command } from '../command.js';
import { decodingOf, deviceOf, inferenceOf, loadModelOf, modelDirOf } from '../common.js';

const DEFAULT_LOCK_SECONDS = 30;
const DEFAULT_MAX_DOC_CHARS = 1_000_000;
const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

const say = (line: string) => process.stderr.write(`${line}\n`);

export const workerCommand: Command = {
  name: 'worker',
  usage: 'worker --redis URL --model DIR|NAME [--out-dir DIR] [--lock-seconds N] [--max-doc-chars N] [--device webgpu|cpu] [--adapter N|NAME]',
  summary: 'Tags corpus shards (diffusionner corpus submit) from Redis, one at a time, with one model loaded once: run one per GPU or machine. It takes only the shards of corpora submitted with the same weights (sha256 of model.safetensors), tags each as predict --json would, and stores the result in Redis (or as a file in --out-dir). A worker that dies loses nothing: its shard goes back to the queue after --lock-seconds for another. One line per shard on stderr.',
  more: 'SIGINT or SIGTERM: the shard in hand is finished and stored, then the worker exits 0 (a second signal exits at once; that shard is then redone by another worker). The worker waits out a Redis restart.',
  flags: ['redis', 'model', ['out-dir', { help: 'write shard results as files in this folder (a filesystem that collect shares, given there as --out-dir) instead of into Redis' }], 'lock-seconds', 'max-doc-chars', 'device', 'adapter'],
  positionals: false,
  async run({ values }) {
    const redis = (values.redis as string | undefined) ?? DEFAULT_REDIS;
    const outDir = values['out-dir'] as string | undefined;
    // A mount that is missing must not turn into files on the local disk.
    if (outDir && !(existsSync(outDir) && statSync(outDir).isDirectory())) throw new Error(`${outDir}: no such folder (--out-dir)`);
    const { dir, selection } = modelDirOf('worker', values);
    const weights = await weightsHash(dir);
    const device = await deviceOf(values);
    const model = await loadModelOf(dir, device, values);
    reuseLargerPooledBuffers(device); // shards of ever new batch shapes, as in serve: memory flat after warm-up
    // Exactly predict's settings for a model folder: its selection.json, the default seed and window.
    const options = { ...decodingOf(values, model, selection), inference: inferenceOf(values), seed: DEFAULT_SEED, maxWords: MAX_WORDS };
    const running = await startWorker({
      redis, tagger: { model, device, options }, weights, outDir,
      lockSeconds: (values['lock-seconds'] as number | undefined) ?? DEFAULT_LOCK_SECONDS,
      maxDocChars: (values['max-doc-chars'] as number | undefined) ?? DEFAULT_MAX_DOC_CHARS, log: say,
    });
    say(`worker ${running.name}: ${values.model} (weights ${weights.slice(0, 12)}) on the ${device.kind} device, taking shards from queue ${running.queue} at ${redis}`);
    await untilStopped(running);
    model.dispose();
    say(`worker ${running.name}: stopped`);
  },
};

/** Resolves once a first SIGINT or SIGTERM has let the worker finish its shard and disconnect. */
function untilStopped(running: RunningWorker): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (name: keyof typeof SIGNALS) => {
      if (stopping) {
        say(`worker: ${name} again: exiting now (the shard in hand goes back to the queue when its lock runs out)`);
        process.exit(128 + SIGNALS[name]);
      }
      stopping = true;
      say(`worker: ${name}: finishing the shard in hand, then exiting (${name} again exits at once)`);
      running.close().then(resolve, reject);
    };
    for (const name of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) process.on(name, () => onSignal(name));
  });
}
