import { getDevice } from '../../tensor/device.js';
import { pickVariant } from '../../kernels/matmul.js';
import type { Command } from '../command.js';

export const deviceCommand: Command = {
  name: 'device',
  usage: 'device [--json]',
  summary: 'The WebGPU adapter: its name, features, limits and the matmul variant it gets.',
  flags: ['json'],
  positionals: false,
  async run({ values }) {
    // The adapter whatever DNER_DEVICE says: this command is about the WebGPU side.
    const gpu = await getDevice('webgpu');
    if (gpu.kind !== 'webgpu') throw new Error('no WebGPU adapter');
    const r = gpu.backend.report;
    const matmul = pickVariant(gpu, { batch: 1, M: 1024, N: 1024, K: 1024, transA: false, transB: false, aStride: 0, bStride: 0, act: 'none' }).variant;
    if (values.json) { console.log(JSON.stringify({ ...r, timestampQueries: gpu.backend.hasTimestamps, matmulVariant: matmul }, null, 1)); return; }
    console.log(`${r.description} (vendor ${r.vendor || '?'}, architecture ${r.architecture || '?'}${r.isSoftware ? ', software rasteriser' : ''})`);
    console.log(`subgroups: ${r.subgroupSize ? `${r.subgroupSize} lanes` : 'off'}; timestamp queries: ${gpu.backend.hasTimestamps ? 'yes' : 'no'}; matmul variant: ${matmul}`);
    console.log(`features: ${r.features.join(', ')}`);
    console.log('limits:');
    for (const [k, v] of Object.entries(r.limits)) console.log(`  ${k.padEnd(44)} ${v}`);
  },
};
