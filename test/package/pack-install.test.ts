/**
 * The package as a user gets it: `npm pack` (which runs `prepare`, the build into dist/), the tarball's file
 * list, an install into a fresh project without network (the npm cache that `npm ci` filled), the library
 * from a plain `node` ES module, the installed `diffusionner` command, and a strict TypeScript consumer
 * (skipLibCheck false) type-checked against the installed declarations. Prints the tarball's and the
 * installed package's sizes.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';

const s = suite('package: pack, install, use');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-pack-'));
const project = join(dir, 'consumer');
const installed = join(project, 'node_modules', 'diffusionner-webgpu');
const SENTENCE = 'Angela Merkel visited Paris .';
const npm = 'npm', npx = 'npx';

// Children run with the user's npm configuration (cache, registry) but not with what `npm test` exported
// about this run: the package's fields and the lifecycle event would leak into the nested npm commands.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
  !/^npm_(package_|lifecycle_|command$|config_(offline|prefer_offline|prefer_online|dry_run|global|prefix|json)$)/i.test(k) && k !== 'INIT_CWD'));
const cpuEnv = { ...env, DNER_DEVICE: 'cpu' };

function run(cmd: string, args: string[], cwd: string, timeoutS: number, extraEnv: NodeJS.ProcessEnv = env): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: extraEnv, encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20 });
}
function describe(what: string, r: SpawnSyncReturns<string>): string {
  const why = r.error ? `${r.error.message}${r.signal ? ` (${r.signal}: timed out?)` : ''}` : `exit ${r.status}${r.signal ? `, signal ${r.signal}` : ''}`;
  const tail = (t: string | null) => (t ?? '').trim().split('\n').slice(-40).join('\n');
  return `${what} failed: ${why}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`;
}
function check(what: string, r: SpawnSyncReturns<string>): SpawnSyncReturns<string> {
  if (r.error || r.status !== 0) throw new Error(describe(what, r));
  return r;
}

/** Apparent size of a folder (bytes of its files), without following links. */
function sizeOf(p: string): number {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, f) => n + sizeOf(join(p, f)), 0);
}
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

const state: { tarball?: string; packFiles?: string[]; installed?: boolean } = {};
const need = (what: keyof typeof state, step: string) => {
  if (!state[what]) throw new Error(`skipped: ${step} failed earlier in this file`);
};

s('npm pack builds dist/ (prepare) and packs the package', () => {
  const r = check('npm pack (runs prepare: node scripts/build.mjs, i.e. tsc -p tsconfig.build.json)',
    run(npm, ['pack', '--json', '--pack-destination', dir], root, 600));
  // --json prints the report as the last JSON array on stdout (prepare's output goes to stderr).
  const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0] as { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
  state.tarball = join(dir, report.filename);
  state.packFiles = report.files.map((f) => f.path);
  if (!existsSync(state.tarball)) throw new Error(`npm pack reported ${report.filename}, not found in ${dir}`);
  console.log(`  tarball ${report.filename}: ${mb(statSync(state.tarball).size)} (${report.files.length} files, ${mb(report.unpackedSize)} unpacked)`);
});

s('the tarball holds dist/, bin/, the bundled models with their terms and the licence, and nothing else', () => {
  need('packFiles', 'npm pack');
  const files = state.packFiles!;
  const required = [
    'package.json', 'README.md', 'LICENSE', 'bin/diffusionner.mjs',
    'dist/index.js', 'dist/index.d.ts', 'dist/cli/diffusionner.js', 'dist/wgsl-preprocessor.d.ts',
    ...['conll2003', 'genia'].flatMap((m) => ['config.json', 'model.safetensors', 'vocab.txt', 'TERMS.md'].map((f) => `models/${m}/${f}`)),
  ];
  const missing = required.filter((f) => !files.includes(f));
  if (missing.length) throw new Error(`missing from the tarball: ${missing.join(', ')}`);
  const allowed = /^(package\.json|README\.md|LICENSE|bin\/[^/]+\.mjs|dist\/.+\.(js|d\.ts)|models\/[^/]+\/[^/]+)$/;
  const stray = files.filter((f) => !allowed.test(f));
  if (stray.length) throw new Error(`files that should not ship (tests, sources, scripts, configs, run outputs?):\n${stray.join('\n')}`);
});

s('every target of package.json "exports" is in the tarball', () => {
  need('packFiles', 'npm pack');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
  const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t))).map((t) => t.replace(/^\.\//, ''));
  const missing = targets.filter((t) => !state.packFiles!.includes(t));
  if (missing.length) throw new Error(`"exports" names files the build did not make: ${missing.join(', ')} (does the source, e.g. src/engine.ts for ./engine, exist?)`);
});

s('installs into a fresh project from the npm cache, without network', () => {
  need('tarball', 'npm pack');
  mkdirSync(project);
  check('npm init -y', run(npm, ['init', '-y'], project, 60));
  const pkgPath = join(project, 'package.json');
  writeFileSync(pkgPath, JSON.stringify({ ...JSON.parse(readFileSync(pkgPath, 'utf8')), type: 'module' }, null, 2));
  const args = ['install', '--no-audit', '--no-fund', state.tarball!];
  let r = run(npm, [...args, '--offline'], project, 600);
  if (r.status !== 0 && /ENOTCACHED/.test(r.stderr)) {
    // npm >= 11 resolves with full packuments, which `npm ci` (lockfile-driven) never fetches: the first
    // run may need the registry once; later runs find them in the cache and install offline.
    console.log('  note: npm install --offline: ENOTCACHED (a packument missing from the npm cache); retrying with --prefer-offline');
    r = run(npm, [...args, '--prefer-offline'], project, 600);
  }
  check(`npm install ${state.tarball}`, r);
  if (!existsSync(join(installed, 'dist', 'index.js'))) throw new Error(`not installed: ${installed}/dist/index.js missing`);
  if (existsSync(join(installed, 'src'))) throw new Error('the installed package has src/: bin would run TypeScript instead of dist/');
  state.installed = true;
  const tarball = statSync(state.tarball!).size;
  console.log(`  sizes: tarball ${mb(tarball)}; installed node_modules/diffusionner-webgpu ${mb(sizeOf(installed))}; whole node_modules ${mb(sizeOf(join(project, 'node_modules')))} (webgpu's Dawn binaries ${mb(sizeOf(join(project, 'node_modules', 'webgpu')))})`);
});

s('a plain node ES module: loadModel, tag, dispose', () => {
  need('installed', 'the install');
  writeFileSync(join(project, 'use.mjs'), [
    "import { loadModel } from 'diffusionner-webgpu';",
    "const model = await loadModel('conll2003');",
    `const doc = await model.tag(${JSON.stringify(SENTENCE)});`,
    'console.log(JSON.stringify(doc.entities));',
    'await model.dispose();',
  ].join('\n') + '\n');
  const r = run(process.execPath, ['use.mjs'], project, 180, cpuEnv);
  if (/does not provide an export named 'loadModel'/.test(r.stderr)) {
    throw new Error(`the installed package does not export loadModel: src/index.ts must re-export the toolkit API (src/api.ts: loadModel, model.tag, model.dispose).\n${r.stderr.trim().split('\n').slice(0, 6).join('\n')}`);
  }
  check('node use.mjs (DNER_DEVICE=cpu)', r);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let entities: unknown;
  try { entities = JSON.parse(last); } catch { throw new Error(`use.mjs did not print the entities as JSON; stdout:\n${r.stdout}`); }
  if (!Array.isArray(entities) || entities.length === 0) throw new Error(`no entity in ${JSON.stringify(SENTENCE)}: ${last}`);
  for (const e of entities as Record<string, unknown>[]) {
    const ok = typeof e.type === 'string' && e.type !== '' && typeof e.text === 'string' &&
      typeof e.score === 'number' && e.score >= 0 && e.score <= 1 &&
      Number.isInteger(e.start) && Number.isInteger(e.end) && SENTENCE.slice(e.start as number, e.end as number) === e.text;
    if (!ok) throw new Error(`an entity without type, text, a score in [0, 1], or start/end that slice its text out of the sentence: ${JSON.stringify(e)}`);
  }
});

s('the installed diffusionner command tags a sentence (npx, from the project)', () => {
  need('installed', 'the install');
  // A model folder by path, and a bundled model by name (found inside the installed package).
  for (const model of [join(installed, 'models', 'conll2003'), 'conll2003']) {
    const r = check(`npx diffusionner predict --model ${model}`, run(npx, ['--no', '--', 'diffusionner', 'predict', '--model', model, SENTENCE], project, 180, cpuEnv));
    if (!/\b(PER|LOC|ORG|MISC)\b/.test(r.stdout) || !/Merkel|Paris/.test(r.stdout)) throw new Error(`--model ${model}: no entity named in the output:\n${r.stdout}\n${r.stderr}`);
  }
});

s('a strict TypeScript consumer (skipLibCheck false, NodeNext) type-checks against the installed package', () => {
  need('installed', 'the install');
  // In the project that installed the package (its package.json says "type": "module"): consumer.ts only.
  writeFileSync(join(project, 'consumer.ts'), [
    "import { loadModel } from 'diffusionner-webgpu';",
    '',
    "const model = await loadModel('conll2003');",
    `const doc = await model.tag(${JSON.stringify(SENTENCE)});`,
    'const text: string = doc.text;',
    'for (const e of doc.entities) {',
    '  const span: [number, number] = [e.start, e.end];',
    '  const label: string = `${e.type} ${e.text} ${e.score.toFixed(2)}`;',
    '  console.log(text.slice(span[0], span[1]), label);',
    '}',
    'await model.dispose();',
  ].join('\n') + '\n');
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, skipLibCheck: false, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true },
    files: ['consumer.ts'],
  }, null, 2));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = run(process.execPath, [tsc, '-p', project], project, 300);
  if (r.error || r.status !== 0) {
    const hint = /'loadModel'/.test(r.stdout) ? '\n(the package does not export loadModel yet: src/index.ts must re-export the API of src/api.ts)' : '';
    throw new Error(describe('tsc -p (strict consumer of the installed package)', r) + hint);
  }
});

s.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

s.run();
