/**
 * A first run compiles every GPU kernel on first use (Mesa keeps them in its shader cache, so later runs
 * skip it). lavapipe compiles a kernel when its first dispatch runs, so the cost shows as the wall time
 * over which new kernels keep appearing: once that passes a few seconds, stderr says what is happening
 * and counts the kernels, and `done()` sums it up. A warm run prepares its kernels within a second or
 * two and prints nothing.
 * DNER_COMPILE_REPORT=FILE also writes each pipeline's first dispatch as JSON, for bench/first-run.ts to replay.
 */
import { writeFileSync } from 'node:fs';
import type { Device } from '../tensor/device.js';

const SHOW_AFTER_MS = 3000, EVERY_MS = 2000;
// A kernel first used long after the others (a training run's first dev scoring, say) is counted, but
// does not stretch the compile time over the work in between.
const BURST_GAP_MS = 10_000;

/** Where the lines go and what the time is (tests give their own). */
export interface ProgressSink { write(text: string): void; tty: boolean; now(): number }
const stderrSink: ProgressSink = { write: (t) => process.stderr.write(t), tty: !!process.stderr.isTTY, now: () => performance.now() };

export function showCompileProgress(device: Device, sink: ProgressSink = stderrSink): { done(): void } {
  if (device.kind !== 'webgpu') return { done() {} };
  const backend = device.backend, tty = sink.tty;
  if (process.env.DNER_COMPILE_REPORT) backend.firstDispatches = [];
  let first = 0, lastNew = 0, shown = false, lastShown = 0;
  const line = () => `preparing GPU kernels (a first run compiles them; Mesa caches them for later runs): ${backend.counters.pipelinesCompiled} so far, ${((lastNew - first) / 1000).toFixed(0)} s`;
  backend.onCompile = () => {
    const now = sink.now();
    first ||= now;
    if (now - lastNew < BURST_GAP_MS || lastNew === 0) lastNew = now;
    if (now - first < SHOW_AFTER_MS || now - lastShown < EVERY_MS) return;
    shown = true; lastShown = now;
    sink.write(tty ? `\r${line()}   ` : `${line()}\n`);
  };
  return {
    done() {
      backend.onCompile = null;
      if (process.env.DNER_COMPILE_REPORT) writeFileSync(process.env.DNER_COMPILE_REPORT, JSON.stringify(backend.firstDispatches));
      if (shown) sink.write(`${tty ? '\r' : ''}prepared ${backend.counters.pipelinesCompiled} GPU kernels over ${((lastNew - first) / 1000).toFixed(0)} s (first use; cached for later runs)${tty ? '   ' : ''}\n`);
    },
  };
}
