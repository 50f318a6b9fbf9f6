import { suite } from 'uvu';
import { distanceId, gridFeatures } from '../../../src/models/bopn/grid-features.js';

const s = suite('BOPN grid features');

s('distance buckets: 1, 2–3, 4–7, …, 256+; +9 below the diagonal; 19 on it', () => {
  const cases: [number, number, number][] = [[0, 0, 19], [5, 5, 19], [1, 0, 1], [2, 0, 2], [3, 0, 2], [4, 0, 3], [7, 0, 3], [8, 0, 4], [255, 0, 8], [256, 0, 9], [1000, 0, 9],
    [0, 1, 10], [0, 3, 11], [0, 4, 12], [0, 256, 18], [0, 999, 18]];
  for (const [i, j, want] of cases) if (distanceId(i, j) !== want) throw new Error(`(${i}, ${j}): ${distanceId(i, j)}, want ${want}`);
});

s('regions: 2 on and above the diagonal, 1 below, 0 for padding', () => {
  const { region, distance } = gridFeatures([2, 3], 3);
  const first = Array.from(region.subarray(0, 9)).join(''), second = Array.from(region.subarray(9, 18)).join('');
  if (first !== '220120000' || second !== '222122112') throw new Error(`${first} ${second}`);
  if (distance[0] !== 19 || distance[1] !== 10 || distance[3] !== 1 || distance[2] !== 0) throw new Error(Array.from(distance.subarray(0, 9)).join(','));
});

s.run();
