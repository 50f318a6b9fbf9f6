/**
 * The `diffusionner` command: one file per command under commands/, one flag table (flags.ts) that every
 * command's parser, checks and --help read. Bad input exits 2 with one line on stderr.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';
import { averageCommand } from './commands/average.js';
import { corpusCommand } from './commands/corpus.js';
import { deviceCommand } from './commands/device.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { kernelCommand } from './commands/kernel.js';
import { modelsCommand } from './commands/models.js';
import { predictCommand } from './commands/predict.js';
import { progressCommand } from './commands/progress.js';
import { serveCommand } from './commands/serve.js';
import { traceCommand } from './commands/trace.js';
import { trainCommand } from './commands/train.js';
import { workerCommand } from './commands/worker.js';
import { commandHelp, parseCommand, UsageError } from './parse.js';

const COMMANDS: Command[] = [trainCommand, evalCommand, predictCommand, traceCommand, exportCommand, averageCommand, progressCommand, serveCommand, corpusCommand, workerCommand, modelsCommand, deviceCommand, kernelCommand];
const byName = new Map(COMMANDS.map((c) => [c.name, c]));

/** The package's version (package.json is two folders up from src/cli and from dist/cli alike). */
export function version(): string {
  return (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
}

const usage = () => [
  'usage: diffusionner <command> [flags]   (diffusionner <command> --help explains each flag)',
  '',
  ...COMMANDS.map((c) => `  diffusionner ${c.usage}`),
  '',
  'diffusionner --version prints the version.',
].join('\n');

function die(msg: string): never {
  process.stderr.write(`diffusionner: ${msg}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') { console.log(version()); return; }
  if (name === undefined) { process.stderr.write(`${usage()}\n`); process.exit(2); }
  if (name === '--help' || name === '-h' || name === 'help') { console.log(usage()); return; }
  const cmd = byName.get(name);
  if (!cmd) die(`unknown command '${name}'; the commands are ${COMMANDS.map((c) => c.name).join(', ')} (diffusionner --help shows the usage)`);
  if (rest.includes('--help') || rest.includes('-h')) { console.log(commandHelp(`diffusionner ${cmd.usage}`, cmd.summary, cmd.flags, cmd.more)); return; }
  let parsed;
  try { parsed = parseCommand(name, rest, cmd.flags, { positionals: cmd.positionals, lists: cmd.lists }); } catch (e) {
    if (e instanceof UsageError) die(`${e.message} (diffusionner ${name} --help shows its flags)`);
    throw e;
  }
  try { await cmd.run(parsed); } catch (e) {
    if (e instanceof UsageError) die(`${e.message} (diffusionner ${name} --help shows its flags)`);
    throw e;
  }
}

// Exit once stdout has taken everything: output piped to another program may still be in flight.
main(process.argv.slice(2)).then(() => process.stdout.write('', () => process.exit(0)), (e: Error) => die(e.message.split('\n')[0]));
