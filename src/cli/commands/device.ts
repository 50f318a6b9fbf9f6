import { getDevice, selectAdapter } from '../../tensor/device.js';
import { listAdapters } from '../../tensor/webgpu/adapters.js';
import { pickVariant } from '../../kernels/matmul.js';
import type { Command } from '../command.js';

export const deviceCommand: Command = {
  name: 'device',
  usage: 'device [--list] [--adapter N|NAME] [--json]',
  summary: 'The WebGPU adapter: its name, features, limits and the matmul variant it gets; --list numbers every adapter for --adapter.',
  flags: [['list', { help: 'list the WebGPU adapters (GPUs), numbered as --adapter takes them' }], 'adapter', 'json'],
  positionals: false,
  async run({ values }) {
    if (values.list) {
      const adapters = await listAdapters();
      if (values.json) { console.log(JSON.stringify(adapters)); return; }
      if (!adapters.length) console.log('no WebGPU adapters (run npm run setup, or install a Vulkan driver)');
      for (const a of adapters) console.log(`${a.index}: ${a.name} (${a.backend})`);
      return;
    }
    if (values.adapter !== undefined) await selectAdapter(values.adapter as string);
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
