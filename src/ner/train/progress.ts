/** Progress on stderr for long work: a redrawn bar on a terminal, plain lines for pipes and logs. */

/** `true` redraws a bar, `'lines'` writes a plain line at each tenth (for pipes and logs), `false` is silent. */
export type ProgressMode = boolean | 'lines';

/** Sentences per second and seconds left, after `done` of `total` in `secs`. */
function rateAndEta(done: number, total: number, secs: number): { rate: string; eta: number } {
  return { rate: (done / Math.max(secs, 1e-9)).toFixed(1), eta: done ? (secs / done) * (total - done) : 0 };
}

/** Redraws the bar: `label [####....] done/total  rate sent/s  ETA ...  extra`. */
export function progressBar(label: string, done: number, total: number, t0: number, extra: string): void {
  const { rate, eta } = rateAndEta(done, total, (performance.now() - t0) / 1000);
  const width = 24, fill = Math.round((width * done) / total);
  const bar = '#'.repeat(fill) + '.'.repeat(width - fill);
  process.stderr.write(`\r${label} [${bar}] ${done}/${total}  ${rate} sent/s  ETA ${clock(eta)}  ${extra}   `);
}

/** Seconds as `12 min 0 s` (rounded to the second first, so never `11 min 60 s`) or `42 s`. */
export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** The bar's content as one plain line, for logs that are not a terminal. */
export function progressLine(label: string, done: number, total: number, secs: number, extra: string): string {
  const { rate, eta } = rateAndEta(done, total, secs);
  return `${label}: ${done}/${total} sentences (${Math.floor((100 * done) / Math.max(total, 1))} %), ${rate} sent/s, ETA ${clock(eta)}${extra ? `, ${extra}` : ''}`;
}

/** Reports `done` of `total` in the given mode: the bar on every call, or a line at each new tenth. */
export function progressReporter(label: string, total: number, mode: ProgressMode): { update(done: number): void; end(): void } {
  const t0 = performance.now();
  let tenthsShown = 0;
  return {
    update(done) {
      if (mode === true) progressBar(label, done, total, t0, '');
      const tenths = Math.floor((10 * done) / total);
      if (mode === 'lines' && tenths > tenthsShown) {
        tenthsShown = tenths;
        process.stderr.write(progressLine(label, done, total, (performance.now() - t0) / 1000, '') + '\n');
      }
    },
    end() { if (mode === true) process.stderr.write('\n'); },
  };
}
