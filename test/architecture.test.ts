/**
 * The layer map of ../shared/DESIGN.md, checked on the sources: every import between src/ folders points
 * down, only the WebGPU backend talks to Dawn, and the numeric layers do no I/O. A new import that breaks
 * the map fails here with its file and line, instead of surfacing later as an import cycle.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/**
 * What each layer may import (besides itself), as ../shared/DESIGN.md draws it: tensor -> kernels -> ops
 * -> nn -> ner (the task) -> models/<kind> -> models/index (the registry) -> api -> serve, corpus (the
 * HTTP server and the Redis corpus jobs, both on the public API) -> cli; diffusion feeds only
 * models/diffusionner. A model folder is a layer of its own (`models/<kind>`), so no model imports
 * another. index.ts is the package's entry (engine + api).
 */
const ENGINE = ['tensor', 'kernels', 'ops'];
const TASK = [...ENGINE, 'text', 'nn', 'ner'];
const MODEL_KIND_LAYERS: Record<string, string[]> = { 'models/diffusionner': ['diffusion'], 'models/bopn': [], 'models/binder': [] };
const ALLOWED: Record<string, string[]> = {
  tensor: [],
  kernels: ['tensor'],
  ops: ['tensor', 'kernels'],
  text: [],
  diffusion: ENGINE,
  nn: [...ENGINE, 'text'],
  ner: [...ENGINE, 'text', 'nn'],
  ...Object.fromEntries(Object.entries(MODEL_KIND_LAYERS).map(([kind, extra]) => [kind, [...TASK, ...extra]])),
  'models/index': [...TASK, ...Object.keys(MODEL_KIND_LAYERS)],
  engine: ['tensor', 'ops'],
  api: [...TASK, 'models/index'],
  index: ['engine', 'api'],
  serve: [...TASK, 'models/index', 'api'],
  corpus: [...TASK, 'models/index', 'api'],
  cli: [...TASK, 'models/index', 'api', 'engine', 'serve', 'corpus'],
};
/** Layers that compute only: no file system, processes or network. */
const PURE = ['tensor', 'kernels', 'ops', 'diffusion'];

interface Import { file: string; line: number; spec: string }

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return f.endsWith('.ts') && !f.endsWith('.d.ts') ? [p] : [];
  });
}

/** Static `import … from '…'`, `export … from '…'`, side-effect `import '…'` and dynamic `import('…')`. */
function importsOf(file: string, text: string): Import[] {
  const found: Import[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) found.push({ file, line: text.slice(0, m.index).split('\n').length, spec: m[1] });
  }
  return found;
}

/** The layer a file under src/ belongs to: its first folder (models/<kind> for a model), or `index` for src/index.ts. */
function layerOf(file: string): string {
  const [first, second] = relative(src, file).split(sep);
  if (first === 'models') return `models/${second.replace(/\.(ts|js)$/, '')}`;
  return first.replace(/\.(ts|js)$/, '');
}

const all = sources(src).flatMap((f) => importsOf(f, readFileSync(f, 'utf8')));
const where = (i: Import) => `${relative(join(src, '..'), i.file)}:${i.line} imports '${i.spec}'`;

const s = suite('architecture: the layer map');

s('the import scanner sees every form of import', () => {
  const text = "import { a } from '../ops/x.js';\nimport type { T } from \"../tensor/t.js\";\nexport { b } from '../nn/b.js';\nimport '../ner/side.js';\nconst m = await import('../cli/late.js');\n";
  const specs = importsOf('x.ts', text).map((i) => `${i.line}:${i.spec}`).sort();
  const want = ['1:../ops/x.js', '2:../tensor/t.js', '3:../nn/b.js', '4:../ner/side.js', '5:../cli/late.js'];
  if (specs.join(' ') !== want.join(' ')) throw new Error(`scanned ${specs.join(' ')}`);
});

s('every folder under src/ has a place in the map, and imports between them point down', () => {
  const layers = new Set(sources(src).map(layerOf));
  const unmapped = [...layers].filter((l) => !(l in ALLOWED));
  if (unmapped.length) throw new Error(`src/ has layers the map does not name: ${unmapped.join(', ')} (add them to ALLOWED, where DESIGN.md puts them)`);
  const wrong = all.filter((i) => i.spec.startsWith('.')).filter((i) => {
    const from = layerOf(i.file), to = layerOf(resolve(dirname(i.file), i.spec));
    return to !== from && !ALLOWED[from].includes(to);
  });
  if (wrong.length) throw new Error(`imports against the layer map:\n${wrong.map(where).join('\n')}`);
  // The check has teeth: the sources do import across layers.
  if (all.filter((i) => i.spec.startsWith('..')).length < 50) throw new Error('too few cross-folder imports found: is the scanner broken?');
});

s('every model kind has its own layer, and no model imports another or the registry', () => {
  const kinds = readdirSync(join(src, 'models')).filter((f) => statSync(join(src, 'models', f)).isDirectory());
  const missing = kinds.filter((k) => !(`models/${k}` in MODEL_KIND_LAYERS));
  if (missing.length) throw new Error(`src/models/ holds kinds the map does not name: ${missing.join(', ')} (add them to MODEL_KIND_LAYERS)`);
  const across = all.filter((i) => i.spec.startsWith('.') && layerOf(i.file).startsWith('models/') && layerOf(i.file) !== 'models/index').filter((i) => {
    const to = layerOf(resolve(dirname(i.file), i.spec));
    return to.startsWith('models/') && to !== layerOf(i.file);
  });
  if (across.length) throw new Error(`a model imports another model or the registry:\n${across.map(where).join('\n')}`);
  // The rule has something to hold: the registry does import the model folders.
  if (!all.some((i) => layerOf(i.file) === 'models/index' && layerOf(resolve(dirname(i.file), i.spec)) === 'models/diffusionner')) throw new Error('the registry imports no model: is the scanner broken?');
});

s('the task layer knows no model and no diffusion', () => {
  const bad = all.filter((i) => i.spec.startsWith('.') && layerOf(i.file) === 'ner' && /^(models\/|diffusion$)/.test(layerOf(resolve(dirname(i.file), i.spec))));
  if (bad.length) throw new Error(`src/ner imports a model or src/diffusion:\n${bad.map(where).join('\n')}`);
});

s('only the WebGPU backend imports Dawn, and the numeric layers do no I/O', () => {
  const dawn = all.filter((i) => i.spec === 'webgpu' && !relative(src, i.file).startsWith(join('tensor', 'webgpu')));
  if (dawn.length) throw new Error(`Dawn imported outside src/tensor/webgpu:\n${dawn.map(where).join('\n')}`);
  const io = all.filter((i) => PURE.includes(layerOf(i.file)) && /^node:(fs|child_process|net|http|https|worker_threads)/.test(i.spec));
  if (io.length) throw new Error(`I/O in a numeric layer:\n${io.map(where).join('\n')}`);
  if (!all.some((i) => i.spec === 'webgpu')) throw new Error('no import of webgpu found at all: is the scanner broken?');
});

s.run();
