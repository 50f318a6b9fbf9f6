/**
 * Self time by function of a V8 .cpuprofile (`node --cpu-prof`, or bench/probe-host.ts's third
 * argument), largest first, divided by `per` (e.g. the number of runs profiled):
 *   node bench/cpuprofile-top.mjs FILE [per] [top]
 */
import { readFileSync } from 'node:fs';

function selfTimes(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const frame = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const ms = new Map();
  p.samples.forEach((id, i) => {
    const f = frame.get(id);
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    ms.set(key, (ms.get(key) ?? 0) + p.timeDeltas[i] / 1000);
  });
  return ms;
}

const [file, per = '1', top = '30'] = process.argv.slice(2);
if (!file) { console.error('usage: node bench/cpuprofile-top.mjs FILE [per] [top]'); process.exit(2); }
const rows = [...selfTimes(file)].map(([k, v]) => [k, v / Number(per)]).sort((x, y) => y[1] - x[1]);
const total = rows.reduce((s, [, v]) => s + v, 0);
const idle = rows.filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
console.log(`${total.toFixed(1)} ms (profile ÷ ${per}): ${(total - idle).toFixed(1)} busy, ${idle.toFixed(1)} idle`);
for (const [k, v] of rows.slice(0, Number(top))) console.log(`${v.toFixed(2).padStart(9)} ms  ${k}`);
