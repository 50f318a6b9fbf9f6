/**
 * Dynamic batching (src/serve/batcher.ts) with a fake tagger: requests that arrive together share a
 * batch, in order, up to maxBatch texts; those that arrive while a batch runs form the next; a full queue
 * refuses at once; a failed batch fails every request in it and nothing else.
 */
import { suite } from 'uvu';
import { Batcher, DeviceLane, QueueFullError } from '../../src/serve/batcher.js';
import { assertThrows } from '../helpers.js';

const s = suite('serve: dynamic batching');

/** A tagger that records each batch and answers `text!` per text after `ms`. */
function fakeTagger(ms = 5, fail?: (texts: string[]) => boolean) {
  const batches: string[][] = [];
  const tag = async (texts: string[]) => {
    batches.push(texts);
    await new Promise((r) => setTimeout(r, ms));
    if (fail?.(texts)) throw new Error('boom');
    return texts.map((t) => `${t}!`);
  };
  return { tag, batches };
}

s('concurrent requests share one batch, each gets its own results in order', async () => {
  const { tag, batches } = fakeTagger();
  const sizes: number[] = [];
  const b = new Batcher(tag, new DeviceLane(), { maxBatch: 32, maxWaitMs: 20, maxQueue: 100, onBatch: (n) => sizes.push(n) });
  const out = await Promise.all([['a'], ['b', 'c'], [], ['d']].map((t) => b.submit(t)));
  if (JSON.stringify(out) !== JSON.stringify([['a!'], ['b!', 'c!'], [], ['d!']])) throw new Error(JSON.stringify(out));
  if (batches.length !== 1 || sizes.join() !== '4') throw new Error(JSON.stringify(batches));
});

s('a batch holds at most maxBatch texts; a bigger request is a batch of its own; the rest wait for the next', async () => {
  const { tag, batches } = fakeTagger();
  const b = new Batcher(tag, new DeviceLane(), { maxBatch: 3, maxWaitMs: 50, maxQueue: 100 });
  const out = await Promise.all([['a', 'b'], ['c', 'd'], ['e', 'f', 'g', 'h'], ['i']].map((t) => b.submit(t)));
  if (out.flat().join('') !== 'a!b!c!d!e!f!g!h!i!') throw new Error(JSON.stringify(out));
  if (JSON.stringify(batches) !== JSON.stringify([['a', 'b'], ['c', 'd'], ['e', 'f', 'g', 'h'], ['i']])) throw new Error(JSON.stringify(batches));
});

s('requests that arrive while a batch runs gather into the next one', async () => {
  const { tag, batches } = fakeTagger(40);
  const b = new Batcher(tag, new DeviceLane(), { maxBatch: 64, maxWaitMs: 1, maxQueue: 100 });
  const first = b.submit(['a']);
  await new Promise((r) => setTimeout(r, 10)); // 'a' is running now
  const rest = ['b', 'c', 'd', 'e'].map((t) => b.submit([t]));
  await Promise.all([first, ...rest]);
  if (JSON.stringify(batches) !== JSON.stringify([['a'], ['b', 'c', 'd', 'e']])) throw new Error(JSON.stringify(batches));
});

s('past maxQueue waiting requests, submit refuses at once; the queued ones still finish', async () => {
  const { tag } = fakeTagger(30);
  const b = new Batcher(tag, new DeviceLane(), { maxBatch: 1, maxWaitMs: 0, maxQueue: 2 });
  const running = b.submit(['a']);
  await new Promise((r) => setTimeout(r, 5));
  const queued = [b.submit(['b']), b.submit(['c'])];
  if (b.queueDepth !== 2) throw new Error(`queue depth ${b.queueDepth}`);
  await assertThrows(() => b.submit(['d']), /the queue is full \(2 requests waiting\)/);
  const got = await Promise.all([running, ...queued]);
  if (got.flat().join('') !== 'a!b!c!') throw new Error(JSON.stringify(got));
  const refused = await b.submit(['e']).catch((e) => e);
  if (refused instanceof QueueFullError || refused.join() !== 'e!') throw new Error(String(refused));
});

s('a failing batch rejects its own requests only; two batchers on one lane never overlap on the device', async () => {
  let active = 0, most = 0;
  const tag = async (texts: string[]) => {
    active++; most = Math.max(most, active);
    await new Promise((r) => setTimeout(r, 10));
    active--;
    if (texts.includes('bad')) throw new Error('boom');
    return texts.map((t) => `${t}!`);
  };
  const lane = new DeviceLane();
  const one = new Batcher(tag, lane, { maxBatch: 8, maxWaitMs: 5, maxQueue: 10 });
  const two = new Batcher(tag, lane, { maxBatch: 8, maxWaitMs: 5, maxQueue: 10 });
  const results = await Promise.allSettled([one.submit(['x', 'bad']), one.submit(['y']), two.submit(['z'])]);
  if (results[0].status !== 'rejected' || results[1].status !== 'rejected' || results[2].status !== 'fulfilled') throw new Error(JSON.stringify(results));
  if (most !== 1) throw new Error(`${most} batches ran on the device at once`);
  const after = await one.submit(['w']);
  if (after.join() !== 'w!') throw new Error('the batcher did not recover after a failed batch');
});

s.run();
