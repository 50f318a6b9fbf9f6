/**
 * `npx tsx bench/probe-rownorm.ts [rows] [d] [rounds]`: the layerNorm kernels that lavapipe can run
 * (DNER_LAYERNORM=rows: one row per invocation; subgroup: γ and β shared across a subgroup), timed in
 * alternation with the copy kernel in one run. GB/s as the memory suite counts them (8 bytes an element).
 * The wall figure moves with the shared host; GB per CPU-second (the process's user + system time,
 * lavapipe's threads included) moves less, so both are printed.
 */
import * as T from '../src/index.js';

const [rows, d, rounds] = [Number(process.argv[2] ?? 4096), Number(process.argv[3] ?? 1024), Number(process.argv[4] ?? 9)];
const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
const x = T.randn([rows, d], { device: dev });
const gamma = T.randn([d], { device: dev }), beta = T.randn([d], { device: dev });
const layerNorm = (variant: string) => () => {
  process.env.DNER_LAYERNORM = variant;
  try { T.layerNorm(x, gamma, beta).dispose(); } finally { delete process.env.DNER_LAYERNORM; }
};
const variants: [string, () => void][] = [
  ['copy', () => T.clone(x).dispose()],
  ['layerNorm, row per invocation', layerNorm('rows')],
  ['layerNorm, γ β shared by subgroup', layerNorm('subgroup')],
];
const reps = Math.max(1, Math.ceil(4e7 / (rows * d)));
const gb = (8 * rows * d * reps) / 1e9;
const wall = new Map<string, number[]>(), cpu = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const [name, f] of variants) {
    f(); await dev.backend.sync();
    const t = performance.now(), c = process.cpuUsage();
    for (let k = 0; k < reps; k++) f();
    await dev.backend.sync();
    const used = process.cpuUsage(c);
    wall.set(name, [...(wall.get(name) ?? []), gb / ((performance.now() - t) / 1000)]);
    cpu.set(name, [...(cpu.get(name) ?? []), gb / ((used.user + used.system) / 1e6)]);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`[${rows}, ${d}], ${rounds} rounds of ${reps} calls each, in alternation`);
for (const [name] of variants) {
  console.log(`${name.padEnd(36)} ${median(wall.get(name)!).toFixed(2)} GB/s wall (median; best ${Math.max(...wall.get(name)!).toFixed(2)}), ${median(cpu.get(name)!).toFixed(2)} GB per CPU-second`);
}
process.exit(0);
