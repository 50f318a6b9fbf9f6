import type { Command } from '../command.js';
import { deviceOf } from '../common.js';
import { kernelHelp, KERNELS, runKernel } from '../kernel-playground.js';
import { UsageError } from '../parse.js';

export const kernelCommand: Command = {
  name: 'kernel',
  usage: 'kernel NAME [--shape a,b,...] [--device webgpu|cpu] [--adapter N|NAME] [--seed N]   (kernel --list)',
  summary: 'Runs one kernel on random input: its error against the cpu reference, its time and its rate.',
  flags: ['list', 'shape', 'device', 'adapter', 'seed'],
  positionals: true,
  async run({ values, positionals }) {
    const [name] = positionals;
    if (values.list || !name) { console.log(`kernels:\n${kernelHelp()}`); return; }
    if (!KERNELS[name]) throw new UsageError(`unknown kernel '${name}'; kernels: ${Object.keys(KERNELS).join(', ')}`);
    const r = await runKernel(name, values.shape as number[] | undefined, await deviceOf(values), (values.seed as number | undefined) ?? 0);
    const dims = Object.entries(r.shape).map(([k, v]) => `${k}=${v}`).join(' ');
    console.log(`${r.kernel} (${dims}) on ${r.device}: max |error| vs cpu reference ${r.maxAbsError.toExponential(2)} (${r.maxRelError.toExponential(2)} of the largest value); ${r.ms.toFixed(3)} ms (${r.timing}, best of 5)${r.rate ? `, ${r.rate}` : ''}`);
  },
};
