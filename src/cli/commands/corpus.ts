/**
 * `diffusionner corpus submit|status|collect`: a corpus tagged by workers on other processes or machines,
 * through Redis (src/corpus). The action is the first argument; each action takes its own flags.
 */
import { existsSync, statSync } from 'node:fs';
import { collectCorpus } from '../../corpus/collect.js';
import type { InputFormat } from '../../corpus/inputs.js';
import { CORPUS_NAME, DEFAULT_REDIS } from '../../corpus/redis.js';
import { corpusStatus, formatStatus } from '../../corpus/status.js';
import { submitCorpus } from '../../corpus/submit.js';
import { weightsHash } from '../../corpus/weights.js';
import { TEXT_FIELD } from '../../ner/inputs.js';
import type { Command } from '../command.js';
import { checkOutputPath, modelDirOf, type Values } from '../common.js';
import { UsageError } from '../parse.js';

const DEFAULT_SHARD_SIZE = 500;

/** The flags each action takes (--redis and --name go with every one). */
const ACTION_FLAGS = {
  submit: ['model', 'input', 'format', 'text-field', 'shard-size'],
  status: ['json'],
  collect: ['out', 'wait', 'out-dir'],
} as const;
type Action = keyof typeof ACTION_FLAGS;

const say = (line: string) => process.stderr.write(`${line}\n`);

export const corpusCommand: Command = {
  name: 'corpus',
  usage: 'corpus submit|status|collect --redis URL --name NAME [submit: --model DIR|NAME --input FILE... [--format text|jsonl] [--text-field NAME] [--shard-size N]] [status: --json] [collect: --out FILE [--wait] [--out-dir DIR]]',
  summary: 'Tags a corpus with workers on any number of machines, through Redis: submit cuts the input files into shard jobs (the documents travel in the jobs), `diffusionner worker` processes tag them, status shows the progress, and collect writes every document\'s result in input order. Only workers whose model has the same weights (sha256 of model.safetensors) take a corpus\'s shards.',
  more: [
    'actions:',
    '  submit   --model DIR|NAME --input FILE [FILE...] [--format text|jsonl] [--text-field NAME] [--shard-size N]',
    '           queues the documents of the files (in the order given: every --input, then the files listed after them) in shards of N (default 500);',
    '           a text file\'s lines are documents (blank lines skipped), a JSONL file\'s records too. A line that cannot be read (malformed JSON, no',
    '           text field) is kept as a document that comes out as {"file", "line", "error"}. A name that exists already is refused.',
    '  status   [--json]   shards done of all, documents, documents that came out as errors, jobs waiting/active/failed, workers, rate and time left.',
    '  collect  --out FILE [--wait] [--out-dir DIR]   one JSON line per document, in input order: the predict --json object with "file" and "line"',
    '           (its physical line in its file), or {"file", "line", "error"}. Fails, writing nothing, while shards are left, unless --wait.',
    'Redis: see docs/CORPUS.md (append-only persistence and maxmemory-policy noeviction).',
  ].join('\n'),
  flags: [
    'redis', 'name', ['model', { help: 'submit: the model to tag with, a folder or a bundled model\'s name; only workers with its weights (sha256 of model.safetensors) take the shards' }],
    ['input', { help: 'submit: an input file (one document per line); repeat it, or list more files after it' }],
    ['format', { help: 'submit: text (a document per line) or jsonl (a JSON object per line with a text field, or pre-tokenised "tokens"); default: jsonl for a .jsonl file, else text' }],
    ['text-field', { help: 'submit: the JSONL field that holds a document\'s text (default "text"); an "id" field is copied to the output' }],
    ['shard-size', { help: 'submit: documents per shard job (default 500)' }], ['json', { help: 'status: print JSON instead of text' }],
    ['out', { arg: 'FILE', help: 'collect: the file to write (written whole, then renamed into place)' }],
    ['wait', { help: 'collect: wait (showing progress) until every shard is done, instead of failing while some are left' }],
    ['out-dir', { help: 'collect: the folder the workers wrote shard files into (their --out-dir), for shards not kept in Redis' }],
  ],
  positionals: true,
  async run({ values, positionals }) {
    const action = actionOf(positionals[0]);
    checkFlagsOf(action, values);
    if (action !== 'submit' && positionals.length > 1) throw new UsageError(`corpus ${action} takes no arguments besides its flags (got '${positionals[1]}')`);
    const redis = (values.redis as string | undefined) ?? DEFAULT_REDIS;
    const name = nameOf(values);
    if (action === 'submit') await submit(values, positionals.slice(1), redis, name);
    else if (action === 'status') {
      const s = await corpusStatus(redis, name);
      console.log(values.json ? JSON.stringify(s) : formatStatus(s));
    } else await collect(values, redis, name);
  },
};

function actionOf(word: string | undefined): Action {
  const actions = Object.keys(ACTION_FLAGS).join(', ');
  if (word === undefined) throw new UsageError(`corpus needs an action first: ${actions}`);
  if (!(word in ACTION_FLAGS)) throw new UsageError(`unknown corpus action '${word}'; the actions are ${actions}`);
  return word as Action;
}

/** A flag of another action is an error, not ignored. */
function checkFlagsOf(action: Action, values: Values): void {
  const own = new Set<string>(['redis', 'name', ...ACTION_FLAGS[action]]);
  const wrong = Object.keys(values).find((f) => !own.has(f) && values[f] !== undefined);
  if (!wrong) return;
  const owner = (Object.keys(ACTION_FLAGS) as Action[]).find((a) => (ACTION_FLAGS[a] as readonly string[]).includes(wrong));
  throw new UsageError(`--${wrong} does not go with corpus ${action}${owner ? ` (it is for corpus ${owner})` : ''}`);
}

function nameOf(values: Values): string {
  const name = values.name as string | undefined;
  if (name === undefined) throw new UsageError('corpus needs --name NAME (the corpus\'s name)');
  if (!CORPUS_NAME.test(name)) throw new UsageError(`--name must be 1 to 100 letters, digits, '.', '_' or '-', got '${name}'`);
  return name;
}

async function submit(values: Values, extra: string[], redis: string, name: string): Promise<void> {
  const files = [...((values.input as string[] | undefined) ?? []), ...extra];
  if (!files.length) throw new UsageError('corpus submit needs --input FILE (one or more files of documents)');
  for (const f of files) {
    if (!existsSync(f)) throw new Error(`${f}: no such file (--input)`);
    if (!statSync(f).isFile()) throw new Error(`${f}: not a file (--input)`);
  }
  const { dir } = modelDirOf('corpus submit', values);
  const s = await submitCorpus({
    redis, name, model: values.model as string, weights: await weightsHash(dir), files,
    format: values.format as InputFormat | undefined, textField: (values['text-field'] as string | undefined) ?? TEXT_FIELD,
    shardSize: (values['shard-size'] as number | undefined) ?? DEFAULT_SHARD_SIZE, progress: say,
  });
  const unreadable = s.unreadable ? ` (${s.unreadable} unreadable line(s) will come out as errors)` : '';
  say(`corpus ${name}: ${s.documents} documents${unreadable} in ${s.shards} shard(s) on queue ${s.queue}; start workers with: diffusionner worker --redis ${redis} --model ${values.model}`);
}

async function collect(values: Values, redis: string, name: string): Promise<void> {
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('corpus collect needs --out FILE (where to write the results)');
  checkOutputPath(out, '--out');
  const outDir = values['out-dir'] as string | undefined;
  if (outDir && !(existsSync(outDir) && statSync(outDir).isDirectory())) throw new Error(`${outDir}: no such folder (--out-dir)`);
  const s = await collectCorpus({ redis, name, out, outDir, wait: !!values.wait, progress: say });
  say(`corpus ${name}: wrote ${s.documents} documents (${s.errors} as errors) from ${s.shards} shard(s) to ${out}`);
}
