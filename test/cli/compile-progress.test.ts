import { suite } from 'uvu';
import { showCompileProgress } from '../../src/cli/compile-progress.js';
import type { Device } from '../../src/tensor/device.js';

const s = suite('the first run says that kernels are compiling');

/** A WebGPU device as far as the progress needs one, and a clock and stderr of our own. */
function fake(tty: boolean) {
  const backend = { counters: { pipelinesCompiled: 0 }, onCompile: null as (() => void) | null };
  let clock = 1000;
  const out: string[] = [];
  const compileAt = (ms: number) => { clock = 1000 + ms; backend.counters.pipelinesCompiled++; backend.onCompile?.(); };
  const device = { kind: 'webgpu', backend } as unknown as Device;
  return { device, out, compileAt, sink: { write: (t: string) => { out.push(t); }, tty, now: () => clock } };
}

s('a warm run, whose kernels all appear within 3 s, prints nothing', () => {
  const f = fake(false);
  const p = showCompileProgress(f.device, f.sink);
  for (let ms = 0; ms <= 2900; ms += 100) f.compileAt(ms);
  p.done();
  if (f.out.length) throw new Error(JSON.stringify(f.out));
  if (f.device.kind === 'webgpu' && (f.device.backend as unknown as { onCompile: unknown }).onCompile !== null) throw new Error('the hook stays installed after done()');
});

s('a cold run counts its kernels every 2 s once they have kept appearing for 3 s, then sums up', () => {
  const f = fake(false);
  const p = showCompileProgress(f.device, f.sink);
  for (let ms = 0; ms <= 10_000; ms += 500) f.compileAt(ms);
  p.done();
  const want = [
    'preparing GPU kernels (a first run compiles them; Mesa caches them for later runs): 7 so far, 3 s\n',
    'preparing GPU kernels (a first run compiles them; Mesa caches them for later runs): 11 so far, 5 s\n',
    'preparing GPU kernels (a first run compiles them; Mesa caches them for later runs): 15 so far, 7 s\n',
    'preparing GPU kernels (a first run compiles them; Mesa caches them for later runs): 19 so far, 9 s\n',
    'prepared 21 GPU kernels over 10 s (first use; cached for later runs)\n',
  ];
  if (JSON.stringify(f.out) !== JSON.stringify(want)) throw new Error(JSON.stringify(f.out, null, 1));
});

s('a kernel first used long after the first burst is counted without stretching the compile time', () => {
  const f = fake(false);
  const p = showCompileProgress(f.device, f.sink);
  for (let ms = 0; ms <= 4000; ms += 1000) f.compileAt(ms);
  f.compileAt(600_000);
  p.done();
  if (f.out.at(-1) !== 'prepared 6 GPU kernels over 4 s (first use; cached for later runs)\n') throw new Error(JSON.stringify(f.out));
});

s('on a terminal the count rewrites one line', () => {
  const f = fake(true);
  const p = showCompileProgress(f.device, f.sink);
  for (let ms = 0; ms <= 6000; ms += 1000) f.compileAt(ms);
  p.done();
  if (!f.out.length || !f.out.every((t) => t.startsWith('\r')) || !f.out.at(-1)!.startsWith('\rprepared 7 GPU kernels over 6 s')) throw new Error(JSON.stringify(f.out));
  if (f.out.slice(0, -1).some((t) => t.includes('\n'))) throw new Error(`a progress line ended the line: ${JSON.stringify(f.out)}`);
});

s('the cpu device has no kernels to compile and prints nothing', () => {
  const out: string[] = [];
  showCompileProgress({ kind: 'cpu' } as unknown as Device, { write: (t) => { out.push(t); }, tty: false, now: () => 0 }).done();
  if (out.length) throw new Error(JSON.stringify(out));
});

s.run();
