import { basename } from 'node:path';
import { resolveModelDir } from '../../models/index.js';
import { SERVE_DEFAULTS, startServer } from '../../serve/server.js';
import type { Command } from '../command.js';
import { deviceOf } from '../common.js';
import { UsageError } from '../parse.js';

/** `--model [NAME=]DIR`: each model's name (default: the bundled name, or the folder's name) and folder; names are unique. */
export function servedModels(specs: readonly string[]): { name: string; dir: string }[] {
  if (!specs.length) throw new UsageError('serve needs --model [NAME=]DIR at least once (a model folder, or a bundled model\'s name: diffusionner models)');
  const out = specs.map((spec) => {
    const m = /^([\w.-]+)=(.+)$/.exec(spec);
    const dir = resolveModelDir(m ? m[2] : spec);
    const name = m ? m[1] : /^[\w-]+$/.test(spec) ? spec : basename(dir.replace(/\/+$/, ''));
    return { name, dir };
  });
  const dup = out.find((m, i) => out.findIndex((x) => x.name === m.name) !== i);
  if (dup) throw new UsageError(`two models are named '${dup.name}'; name them apart with --model NAME=DIR`);
  return out;
}

export const serveCommand: Command = {
  name: 'serve',
  usage: 'serve --model [NAME=]DIR|NAME [--model ...] [--port N] [--host HOST] [--max-batch N] [--max-wait-ms MS] [--max-queue N] [--max-texts N] [--device webgpu|cpu] [--adapter N|NAME] [--no-verify]',
  summary: 'An HTTP server for tagging: POST /v1/ner {"texts": [...], "model"?: NAME} answers {"results": [{"sentences", "entities"}]} in input order, with the document handling of predict. Concurrent requests are tagged together in device batches. A page at / tags pasted text; /healthz, /readyz (after a warm-up inference) and /metrics (Prometheus) are for operators. SIGTERM or Ctrl-C finishes the requests in flight and exits 0.',
  more: `Errors are one line of JSON, {"error": "..."}: 400 bad JSON or fields, 404 unknown route, 413 too many texts (--max-texts) or a body over ${SERVE_DEFAULTS.bodyLimitBytes / 1024 / 1024} MiB, 503 with Retry-After when --max-queue requests already wait or the server is stopping.\nexample: diffusionner serve --model conll2003 --model genia --port 8080\n         curl -s localhost:8080/v1/ner -H 'content-type: application/json' -d '{"texts": ["Angela Merkel visited Paris ."]}'`,
  flags: [['model', { multiple: true, arg: '[NAME=]DIR|NAME', help: 'a model to serve: a folder or a bundled model\'s name, optionally named (repeat for several; the first answers requests that name none)' }],
    'port', 'host', 'max-batch', 'max-wait-ms', 'max-queue', 'max-texts', 'device', 'adapter', 'no-verify'],
  positionals: false,
  async run({ values }) {
    const models = servedModels((values.model as string[] | undefined) ?? []);
    const device = await deviceOf(values);
    const log = (line: string) => process.stderr.write(`serve: ${line}\n`);
    const server = await startServer({
      models, device, verify: !values['no-verify'], log,
      host: values.host as string | undefined, port: values.port as number | undefined,
      maxBatch: values['max-batch'] as number | undefined, maxWaitMs: values['max-wait-ms'] as number | undefined,
      maxQueue: values['max-queue'] as number | undefined, maxTexts: values['max-texts'] as number | undefined,
    });
    log(`listening on ${server.url} (warming up; /readyz answers 200 once ready)`);
    let stopping: Promise<void> | null = null;
    const stop = (signal: string) => {
      if (stopping) { log(`${signal} again: exiting at once`); process.exit(1); }
      log(`${signal}: finishing the requests in flight, refusing new ones`);
      stopping = server.close().then(() => { log('stopped'); process.exit(0); }, (e: Error) => { log(`stop failed: ${e.message}`); process.exit(1); });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    const t0 = performance.now();
    await server.ready;
    log(`ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // Serve until a signal ends the process.
    await new Promise<never>(() => {});
  },
};
