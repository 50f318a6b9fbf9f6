import { suite } from 'uvu';
import { KERNELS, runKernel } from '../../src/cli/kernel-playground.js';
import { assertThrows, DEVICES } from '../helpers.js';

const s = suite('kernel playground');

const SMALL: Record<string, number[]> = {
  matmul: [7, 5, 9], softmax: [3, 33], layernorm: [5, 12], attention: [2, 2, 3, 5, 4], lstm: [2, 4, 5, 4], pointer: [2, 3, 5, 8], 'cross-entropy': [7, 5], conv3d: [2, 3, 3, 4, 5, 2], 'cln-grid': [2, 5, 7, 3],
  gelu: [37], add: [3, 5], sum: [4, 9], transpose: [3, 7], 'index-select': [9, 4, 5], 'index-add': [9, 4, 5], dropout: [41],
};

s('every kernel runs against its cpu reference on every device, with a time', async () => {
  if (Object.keys(SMALL).sort().join() !== Object.keys(KERNELS).sort().join()) throw new Error('a kernel has no small test shape');
  for (const dev of DEVICES) {
    for (const [name, shape] of Object.entries(SMALL)) {
      const r = await runKernel(name, shape, dev, 1);
      if (!(r.maxRelError < 1e-4) || !(r.ms >= 0)) throw new Error(`${name} on ${dev.name}: error ${r.maxRelError}, ${r.ms} ms`);
    }
  }
});

s('unknown kernels and bad shapes are one-line errors that say what to pass', async () => {
  await assertThrows(() => runKernel('fft', undefined, DEVICES[0]), /unknown kernel 'fft'; kernels: matmul, /);
  await assertThrows(() => runKernel('matmul', [3, 4], DEVICES[0]), /kernel matmul takes --shape M,N,K/);
  await assertThrows(() => runKernel('softmax', [3, 0], DEVICES[0]), /positive whole numbers/);
});

s.run();
