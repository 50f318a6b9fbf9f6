/**
 * One parser and validator for every command: the command's flags from the table (flags.ts), each value
 * checked against its rule with an error naming the flag and what it accepts, negative numbers read as
 * values (`--eta -1` is refused for its range, not as an unknown option), and a misspelt flag answered
 * with the one it most likely meant.
 */
import { parseArgs } from 'node:util';
import type { MinScore } from '../ner/predict.js';
import { editDistance } from '../text/edit-distance.js';
import { FLAGS, type FlagName, type FlagSpec, type ValueRule } from './flags.js';

export class UsageError extends Error {}

export type FlagValue = string | string[] | boolean | number | number[] | MinScore | undefined;
export interface Parsed { values: Record<string, FlagValue>; positionals: string[] }

/** A command's flags: names from the table, optionally narrowed (eval's list-valued --gamma). */
export type CommandFlags = readonly (FlagName | [FlagName, Partial<FlagSpec>])[];

export function flagSpecs(flags: CommandFlags): Record<string, FlagSpec> {
  return Object.fromEntries([...flags, 'help' as const].map((f) => (Array.isArray(f) ? [f[0], { ...FLAGS[f[0]], ...f[1] }] : [f, FLAGS[f]])));
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function describe(rule: ValueRule): string {
  if (typeof rule === 'string') return rule === 'min-score' ? 'a score in [0, 1] or TYPE=score pairs separated by commas' : 'a value';
  if ('int' in rule) return `a whole number >= ${rule.int}${rule.max !== undefined ? ` and <= ${rule.max}` : ''}`;
  if ('number' in rule) return rule.number === 'positive' ? 'a positive number' : 'a number >= 0';
  if ('list' in rule) return `${rule.list === 'int' ? `whole numbers >= ${rule.min ?? 1}` : 'numbers >= 0'} separated by commas`;
  return rule.choice.length === 2 ? rule.choice.join(' or ') : `one of ${rule.choice.join(', ')}`;
}

function one(raw: string, rule: ValueRule): number | undefined {
  if (!NUMBER.test(raw.trim())) return undefined;
  const n = Number(raw);
  if (typeof rule === 'object' && 'int' in rule) return Number.isInteger(n) && n >= rule.int && (rule.max === undefined || n <= rule.max) ? n : undefined;
  if (typeof rule === 'object' && 'number' in rule) return (rule.number === 'positive' ? n > 0 : n >= 0) ? n : undefined;
  return n;
}

/** A flag's raw value checked and converted, or a UsageError naming the flag and what it accepts. */
export function checkValue(flag: string, raw: string, rule: ValueRule | undefined, list = false): FlagValue {
  const bad = (): never => { throw new UsageError(`--${flag} must be ${describe(rule!)}${list ? ' (or a comma-separated list of them)' : ''}, got '${raw}'`); };
  if (rule === undefined || rule === 'path' || rule === 'text') {
    if (rule === 'path' && raw === '') throw new UsageError(`--${flag} needs a path, got ''`);
    return raw;
  }
  if (rule === 'min-score') return parseMinScore(flag, raw);
  if ('choice' in rule) return rule.choice.includes(raw) ? raw : bad();
  if ('list' in rule) {
    const items = raw.split(',').map((x) => one(x, rule.list === 'int' ? { int: rule.min ?? 1, max: rule.max } : { number: 'nonneg' }));
    return items.length && items.every((x) => x !== undefined) ? (items as number[]) : bad();
  }
  if (list) {
    const items = raw.split(',').map((x) => one(x, rule));
    return items.every((x) => x !== undefined) ? (items as number[]) : bad();
  }
  return one(raw, rule) ?? bad();
}

function parseMinScore(flag: string, raw: string): MinScore {
  const out: Record<string, number> = {};
  for (const part of raw.split(',')) {
    const m = /^(?:([^=\s]+)=)?(.+)$/.exec(part.trim());
    const v = m && NUMBER.test(m[2]) ? Number(m[2]) : NaN;
    if (!m || !(v >= 0 && v <= 1)) throw new UsageError(`--${flag} must be a score in [0, 1] or TYPE=score pairs separated by commas (e.g. 0.5,PER=0.8), got '${raw}'`);
    out[m[1] ?? '*'] = v;
  }
  return Object.keys(out).length === 1 && '*' in out ? out['*'] : out;
}

/**
 * Parses a command's arguments. `lists` names the flags that take comma-separated lists here. Another
 * command's flag is an error, never ignored.
 */
export function parseCommand(command: string, args: readonly string[], flags: CommandFlags, o: { positionals: boolean; lists?: readonly string[] }): Parsed {
  const specs = flagSpecs(flags);
  // `--eta -1`: a value that looks like a negative number belongs to the flag before it.
  const argv: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : '';
    if (specs[name]?.type === 'string' && i + 1 < args.length && /^-[\d.]/.test(args[i + 1])) { argv.push(`${args[i]}=${args[i + 1]}`); i++; } else argv.push(args[i]);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: o.positionals, strict: true, options: Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, { type: v.type, multiple: !!v.multiple }])) });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']*)'/.exec(msg)?.[1];
    if (unknown) {
      const bare = unknown.replace(/^-+/, '');
      if (bare in FLAGS) throw new UsageError(`${command} does not take --${bare}`);
      const near = Object.keys(specs).map((f) => [f, editDistance(bare, f)] as const).sort((a, b) => a[1] - b[1])[0];
      throw new UsageError(`unknown option ${unknown}${near && near[1] <= 2 ? ` (did you mean --${near[0]}?)` : ''}`);
    }
    const missing = /Option '(-{1,2}[^']*?)(?: <value>)?' argument missing/.exec(msg)?.[1];
    if (missing) throw new UsageError(`${missing.replace(/^-(\w), /, '')} needs a value (${specs[missing.replace(/^.*--/, '')]?.arg ?? 'a value'})`);
    if (/Unexpected argument/.test(msg)) throw new UsageError(`${command} takes no arguments besides its flags (got ${JSON.stringify(msg.split("'")[1] ?? '')})`);
    throw new UsageError(msg.split('\n')[0]);
  }
  const values: Record<string, FlagValue> = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    const spec = specs[k];
    if (Array.isArray(v)) values[k] = v.map((x) => checkValue(k, String(x), spec.value) as string);
    else values[k] = typeof v === 'string' ? checkValue(k, v, spec.value, o.lists?.includes(k)) : (v as boolean);
  }
  return { values, positionals: parsed.positionals };
}

/** A command's --help: its usage line, summary and every flag with its words. */
export function commandHelp(usage: string, summary: string, flags: CommandFlags, more = ''): string {
  const specs = flagSpecs(flags);
  const rows = Object.entries(specs).map(([k, s]) => [`--${k}${s.arg ? ` ${s.arg}` : ''}`, s.help]);
  const width = Math.max(...rows.map((r) => r[0].length));
  return [`usage: ${usage}`, '', summary, ...(more ? ['', more] : []), '', 'flags:', ...rows.map(([a, h]) => `  ${a.padEnd(width)}  ${h}`)].join('\n');
}
