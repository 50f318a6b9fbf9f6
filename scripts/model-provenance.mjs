/**
 * Writes a bundled model's provenance.json from its training run and a test evaluation over several φ:
 *   node scripts/model-provenance.mjs <set> <evalJson>
 * where <set> names configs/<set>.json (its run folder holds metrics.json and model/selection.json) and
 * <evalJson> is what `diffusionner eval ... --threshold A,B,... --json FILE` wrote for the exported model.
 * The result goes to models/<set>/provenance.json; the bundle's README section in docs/RESULTS.md quotes it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const [set, evalJson] = process.argv.slice(2);
if (!set || !evalJson) {
  console.error('usage: node scripts/model-provenance.mjs <set> <evalJson>');
  process.exit(2);
}
const config = JSON.parse(readFileSync(`configs/${set}.json`, 'utf8'));
const run = config.out;
const selection = JSON.parse(readFileSync(`${run}/model/selection.json`, 'utf8'));
const metrics = JSON.parse(readFileSync(`${run}/metrics.json`, 'utf8'));
const evaluation = JSON.parse(readFileSync(evalJson, 'utf8'));
const atThreshold = (phi) => {
  const r = evaluation.sweep?.find((x) => x.threshold === phi);
  if (!r) throw new Error(`${evalJson}: no result at φ ${phi}; evaluate with --threshold ${phi},...`);
  return r;
};
const finished = metrics.epochs.filter((e) => e.complete && e.dev);
const best = finished.reduce((a, b) => (b.dev.micro.f1 > a.dev.micro.f1 ? b : a));
const last = finished[finished.length - 1];
const prf = (m) => ({ precision: m.precision, recall: m.recall, f1: m.f1 });
const chosen = atThreshold(selection.threshold), official = atThreshold(config.eval.threshold);
const thresholds = evaluation.sweep.map((x) => x.threshold).join(',');
const provenance = {
  command: `npx diffusionner train --config configs/${set}.json [--resume]`,
  export: `npx diffusionner export --model ${run}/model --out models/${set} --f16`,
  epochs: last.epoch, ofEpochs: config.train.epochs, steps: last.steps, bestEpoch: best.epoch,
  devF1ByEpoch: finished.map((e) => Number(e.dev.micro.f1.toFixed(2))),
  selection: `epoch: best dev F1 over the finished epochs (each at its best φ); φ: best dev F1 of ${Object.keys(selection.f1ByThreshold).join(', ')} from one DDIM run over dev (selection.json)`,
  dev: prf(best.dev.micro), devByThreshold: selection.f1ByThreshold,
  test: prf(chosen.micro),
  testCommand: `npx diffusionner eval --model models/${set} --data ${config.data.test.replace(/^(\.\.\/)+shared/, '../shared')} --gamma ${config.eval.steps} --k-eval ${config.eval.proposals} --threshold ${thresholds}`,
  testPerType: Object.fromEntries(Object.entries(chosen.perType).map(([k, v]) => [k, prf(v)])),
  sampling: { gamma: config.eval.steps, kEval: config.eval.proposals, eta: config.eval.eta, threshold: selection.threshold, seed: 0 },
  testAtOfficialThreshold: { threshold: config.eval.threshold, ...prf(official.micro) },
  // The trainer's own test evaluation at the end of the run samples with the training seed.
  ...(metrics.test ? { testByTrainer: { seed: config.train.seed ?? 48, threshold: metrics.test.threshold, ...prf(metrics.test.micro) } } : {}),
  machine: `${cpus().length} vCPU (${cpus()[0].model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, lavapipe, Node ${process.versions.node.split('.')[0]}`,
  date: new Date().toISOString().slice(0, 10),
};
writeFileSync(`models/${set}/provenance.json`, JSON.stringify(provenance, null, 1) + '\n');
console.log(JSON.stringify({ test: provenance.test, official: provenance.testAtOfficialThreshold, phi: selection.threshold, bestEpoch: best.epoch }));
