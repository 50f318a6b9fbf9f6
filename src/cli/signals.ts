/**
 * SIGINT and SIGTERM as a request to stop cleanly: the first aborts a signal the work watches (training
 * finishes its step and writes a checkpoint); a second exits at once, with the status a shell gives a
 * process the signal killed (128 + its number: 130 for SIGINT, 143 for SIGTERM).
 */

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignalName = keyof typeof SIGNALS;

export interface SignalStop {
  /** Aborted by the first SIGINT or SIGTERM; its reason is the signal's name. */
  signal: AbortSignal;
  /** The exit status for the first signal received (0 before one). */
  exitCode(): number;
  /** Removes the handlers (the signals' default action returns). */
  dispose(): void;
}

export interface SignalStopOptions {
  /** What the first signal stops, for its message ("training"). */
  what: string;
  /** Where the messages go (default stderr); tests replace it and `exit`. */
  write?: (line: string) => void;
  exit?: (code: number) => void;
}

export function stopOnSignals(o: SignalStopOptions): SignalStop {
  const ac = new AbortController();
  const write = o.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let first: StopSignalName | undefined;
  const handler = (name: StopSignalName) => {
    if (first) {
      write(`diffusionner: ${name} again: exiting now (the last checkpoint is kept; --resume continues from it)`);
      exit(128 + SIGNALS[name]);
      return;
    }
    first = name;
    write(`diffusionner: ${name}: stopping ${o.what} after the current step and writing a checkpoint (${name === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to exit at once)`);
    ac.abort(name);
  };
  const names = Object.keys(SIGNALS) as StopSignalName[];
  for (const n of names) process.on(n, handler);
  return {
    signal: ac.signal,
    exitCode: () => (first ? 128 + SIGNALS[first] : 0),
    dispose: () => { for (const n of names) process.off(n, handler); },
  };
}

/** A word as a POSIX shell reads it back unchanged: bare when safe, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that resumes this `diffusionner` invocation: the same arguments, with --resume. */
export function resumeCommand(args: readonly string[]): string {
  return ['npx', 'diffusionner', ...args, ...(args.includes('--resume') ? [] : ['--resume'])].map(shellQuote).join(' ');
}
