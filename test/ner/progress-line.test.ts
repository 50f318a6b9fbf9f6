/**
 * The trainer's progress line for logs: durations roll over at whole minutes (a bug once printed
 * `ETA 11 min 60 s`), and the line carries count, percentage, rate and ETA.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { clock, progressLine } from '../../src/ner/train/progress.js';

const s = suite('progress line');

s('clock rounds to the second before splitting minutes', () => {
  assert.is(clock(719.6), '12 min 0 s');
  assert.is(clock(59.6), '1 min 0 s');
  assert.is(clock(59.4), '59 s');
  assert.is(clock(0), '0 s');
  assert.is(clock(3725), '62 min 5 s');
});

s('clock never shows 60 seconds and reads back to the rounded total', () => {
  fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (x) => {
    const m = /^(?:(\d+) min )?(\d+) s$/.exec(clock(x));
    assert.ok(m, clock(x));
    const secs = Number(m![2]);
    assert.ok(secs < 60, clock(x));
    assert.is(Number(m![1] ?? 0) * 60 + secs, Math.round(x));
  }));
});

s('the line has count, percentage, rate and ETA', () => {
  assert.is(progressLine('epoch 2', 5000, 17291, 250, 'loss 0.307'),
    'epoch 2: 5000/17291 sentences (28 %), 20.0 sent/s, ETA 10 min 15 s, loss 0.307');
  assert.is(progressLine('dev', 0, 10, 0, ''), 'dev: 0/10 sentences (0 %), 0.0 sent/s, ETA 0 s');
});

s.run();
