#!/usr/bin/env node
// Entry point of `npx diffusionner`. In a git checkout (src/cli/diffusionner.ts next to this folder, and
// tsx installed as the devDependency it is) it registers tsx and runs the TypeScript sources as they are,
// so edits take effect without a build. An installed package ships no src/: it runs the compiled
// dist/cli/diffusionner.js that `npm run build` (the prepare script) made.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli/diffusionner.ts', import.meta.url);
const compiled = new URL('../dist/cli/diffusionner.js', import.meta.url);

/** tsx's register(), or null where tsx cannot be resolved from here (an install without devDependencies). */
async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && /'tsx'/.test(e.message)) return null;
    throw e;
  }
}

const register = existsSync(fileURLToPath(source)) ? await tsxRegister() : null;
if (register) {
  register();
  await import(source.href);
} else if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  console.error(existsSync(fileURLToPath(source))
    ? 'diffusionner: tsx is not installed and dist/ is not built: run `npm ci` (installs tsx and builds dist/) or `npm run build`.'
    : 'diffusionner: dist/cli/diffusionner.js is missing from this package: reinstall it.');
  process.exit(1);
}
