/**
 * Choosing a WebGPU adapter (src/tensor/webgpu/adapters.ts): Dawn's list read from its error text, and a
 * choice by number or by name resolved to the name Dawn selects by, with errors that list the adapters.
 */
import { suite } from 'uvu';
import { parseAdapterList, resolveAdapterChoice } from '../../src/tensor/webgpu/adapters.js';

const s = suite('adapters: listing and choosing');

const DAWN_ERROR = `no suitable backends found
Available adapters:
 * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'
 * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'
 * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'
`;

s('the list comes from Dawn\'s error text, numbered in its order', () => {
  const list = parseAdapterList(DAWN_ERROR);
  if (JSON.stringify(list) !== JSON.stringify([
    { index: 0, backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
    { index: 1, backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
    { index: 2, backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
  ])) throw new Error(JSON.stringify(list));
  if (parseAdapterList('no suitable backends found').length !== 0) throw new Error('an empty list');
});

s('a number or a case-sensitive part of a name picks an adapter; the errors list them', () => {
  const list = parseAdapterList(DAWN_ERROR);
  if (resolveAdapterChoice('2', list).name !== 'llvmpipe (LLVM 15.0.6, 256 bits)') throw new Error('by number');
  if (resolveAdapterChoice('llvm', list).index !== 2 || resolveAdapterChoice('H100', list).index !== 0) throw new Error('by name');
  const expect = (choice: string, re: RegExp) => {
    try { resolveAdapterChoice(choice, list); } catch (e) { if (re.test((e as Error).message)) return; throw e; }
    throw new Error(`${choice} was accepted`);
  };
  expect('3', /^--adapter 3: there is no adapter 3; the adapters are 0: NVIDIA H100 80GB HBM3 \(vulkan\); 1: NVIDIA/);
  expect('h100', /no adapter's name contains it \(names are case-sensitive\)/);
  // Dawn selects by name: the second of two identical GPUs cannot be reached from one process.
  expect('1', /adapter 1 has the same name as adapter 0 .* only the first can be chosen; to run one process per identical GPU/);
});

s.run();
