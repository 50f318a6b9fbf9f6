#!/usr/bin/env node
// `npm run build`, and `prepare` (so `npm ci` in a clone, `npm pack` and `npm publish` run it): compiles
// whatever src/**/*.ts holds into dist/ as ES modules with .d.ts types (tsconfig.build.json), then makes
// the declarations usable by a strict TypeScript consumer (skipLibCheck false) that has only this package:
//  1. dist/ is emptied first, so a file moved or deleted in src/ leaves nothing stale behind;
//  2. hand-written declarations (src/**/*.d.ts, e.g. the ambient module for wgsl-preprocessor) are copied,
//     since tsc does not emit them, and every emitted .d.ts naming a module one of them declares gets a
//     `/// <reference path>` to it (TypeScript >= 5.5 no longer writes such references itself);
//  3. the global types the sources compile against (tsconfig "types": @webgpu/types for GPUDevice and
//     friends, node for node:* imports and Buffer) get a `/// <reference types>` in each .d.ts that uses
//     them and in the entry points named by package.json "exports", so they load even under "types": [].
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const fail = (msg) => { console.error(`[build] ERROR: ${msg}`); process.exit(1); };

const walk = (dir) => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? walk(p) : [p];
});

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) fail('typescript is not installed (it is a devDependency): run npm ci first.');
rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(dist, { recursive: true, force: true }); // never leave a half-built dist/ to be packed
  const why = `tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal}): src/ does not compile, dist/ not built`;
  // `npm ci` / `npm install` in a checkout run prepare too. A checkout runs its sources through tsx and
  // needs no dist/, so a source that does not compile yet must not fail the dependency install (that
  // would also fail scripts/setup.mjs, i.e. npm test and npm start). npm pack / publish / run build fail.
  if (process.env.npm_lifecycle_event === 'prepare' && ['ci', 'install'].includes(process.env.npm_command)) {
    console.error(`[build] WARNING: ${why}. The dependencies are installed; the checkout runs from src/ through tsx. Run \`npm run build\` once src/ compiles.`);
    process.exit(0);
  }
  fail(`${why}.`);
}

// 2. Hand-written declarations and the ambient modules they declare.
const ambient = new Map(); // module specifier -> the copied .d.ts in dist/
for (const file of walk(src).filter((f) => f.endsWith('.d.ts'))) {
  const out = join(dist, relative(src, file));
  mkdirSync(dirname(out), { recursive: true });
  copyFileSync(file, out);
  for (const m of readFileSync(file, 'utf8').matchAll(/\bdeclare\s+module\s+['"]([^'"]+)['"]/g)) ambient.set(m[1], out);
}

// 3. Global type packages, and how to tell that a declaration file needs each one.
const globals = [
  { types: '@webgpu/types', uses: /\bGPU(?:[A-Z]\w*)?\b/ },
  { types: 'node', uses: /['"]node:[\w/]+['"]|\bNodeJS\.|\bBuffer\b/ },
];
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entryTypes = new Set(
  [pkg.types, ...Object.values(pkg.exports ?? {}).map((e) => (typeof e === 'object' && e ? e.types : undefined))]
    .filter((t) => typeof t === 'string').map((t) => join(root, t)),
);

const posix = (p) => p.split(sep).join('/');
let referenced = 0;
const copied = new Set(ambient.values());
for (const file of walk(dist).filter((f) => f.endsWith('.d.ts') && !copied.has(f))) {
  const text = readFileSync(file, 'utf8');
  const refs = [];
  for (const [spec, decl] of ambient) {
    if (text.includes(`'${spec}'`) || text.includes(`"${spec}"`)) {
      let rel = posix(relative(dirname(file), decl));
      if (!rel.startsWith('.')) rel = `./${rel}`;
      refs.push(`/// <reference path="${rel}" />`);
    }
  }
  for (const g of globals) {
    if (entryTypes.has(file) || g.uses.test(text)) refs.push(`/// <reference types="${g.types}" />`);
  }
  if (refs.length) {
    writeFileSync(file, `${refs.join('\n')}\n${text}`);
    referenced++;
  }
}
for (const entry of entryTypes) {
  if (!existsSync(entry)) console.warn(`[build] note: ${posix(relative(root, entry))} (named in package.json) was not built: its source file does not exist yet`);
}
console.error(`[build] dist/: ${walk(dist).length} files; ${ambient.size} ambient module declaration(s) copied; references added to ${referenced} .d.ts file(s)`);
