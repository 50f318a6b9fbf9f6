#!/usr/bin/env node
// One-time, idempotent set-up run before `npm start`, `npm test` and `npm run bench`.
// 1. installs npm dependencies when missing or stale;
// 2. makes sure a WebGPU adapter exists; on Debian/Ubuntu as root it installs Mesa's lavapipe
//    (software Vulkan) from bookworm-backports, because bookworm's own Mesa 22 is rejected by Dawn.
// 3. with --test (npm test): installs Debian's chromium, which the HTML trace test drives headless.
// A stamp file makes re-runs a fast no-op.
import { execSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampPath = join(root, '.setup-stamp');
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const allowNoGpu = process.env.DNER_ALLOW_NO_WEBGPU === '1';
const log = (msg) => console.error(`[setup] ${msg}`);

function fail(msg) {
  console.error(`\n[setup] ERROR: ${msg}\n`);
  process.exit(1);
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 20) fail(`Node >= 20 is required, this is ${process.version}.`);

const manifestHash = () => createHash('sha256')
  .update(readFileSync(join(root, 'package.json')))
  .update(existsSync(join(root, 'package-lock.json')) ? readFileSync(join(root, 'package-lock.json')) : '')
  .digest('hex').slice(0, 16);
let pkgHash = manifestHash();
const stamp = existsSync(stampPath) ? JSON.parse(readFileSync(stampPath, 'utf8')) : {};
const depsOk = stamp.pkgHash === pkgHash && existsSync(join(root, 'node_modules', 'webgpu'));

if (!depsOk) {
  // npm ci empties node_modules first, through a symlink too: a node_modules shared with another
  // checkout would be wiped for both. Such a folder is the user's to keep up to date.
  const modules = join(root, 'node_modules');
  if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) {
    if (!existsSync(join(modules, 'webgpu'))) fail(`node_modules is a symlink (to ${realpathSync(modules)}) without the dependencies: install them there, or remove the link so that set-up installs them here.`);
    log(`node_modules is a symlink (to ${realpathSync(modules)}): used as it is, nothing installed`);
  } else {
    const haveLock = existsSync(join(root, 'package-lock.json'));
    const cmd = haveLock ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund';
    log(`installing npm dependencies (${cmd})`);
    const r = spawnSync(cmd, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], shell: true });
    if (r.status !== 0) fail(`'${cmd}' failed (exit ${r.status}). Check network access to the npm registry.`);
    pkgHash = manifestHash(); // npm install may have written package-lock.json
  }
}

function probe() {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'probe-adapter.mjs')], {
    cwd: root, encoding: 'utf8', timeout: 60_000,
  });
  const line = (r.stdout || '').trim().split('\n').pop() || '';
  try { return JSON.parse(line); } catch {
    return { ok: false, error: `adapter probe crashed (exit ${r.status}, signal ${r.signal}): ${(r.stderr || '').trim().slice(-300)}` };
  }
}

function sh(cmd) {
  log(cmd);
  execSync(cmd, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function installLavapipe() {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('which', ['apt-get']).status !== 0) return 'no apt-get';
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const codename = /VERSION_CODENAME=(\w+)/.exec(osRelease)?.[1];
  try {
    if (codename === 'bookworm') {
      const list = '/etc/apt/sources.list.d/bookworm-backports.list';
      if (!existsSync(list)) writeFileSync(list, 'deb http://deb.debian.org/debian bookworm-backports main\n');
      sh('apt-get update -qq');
      sh('apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1');
    } else {
      sh('apt-get update -qq');
      sh('apt-get install -y -qq mesa-vulkan-drivers libvulkan1');
    }
  } catch (e) {
    return `apt-get failed: ${e.message}`;
  }
  return null;
}

let adapter = stamp.pkgHash === pkgHash && stamp.adapter?.ok ? stamp.adapter : null;
if (!adapter) {
  adapter = probe();
  if (!adapter.ok) {
    log(`no usable WebGPU adapter (${adapter.error}); trying to install Mesa lavapipe`);
    const why = installLavapipe();
    if (why) log(`cannot install lavapipe automatically: ${why}`);
    else adapter = probe();
  }
}

writeFileSync(stampPath, JSON.stringify({ pkgHash, adapter: adapter.ok ? adapter : undefined }, null, 1));

if (!adapter.ok) {
  const msg = [
    `No usable WebGPU adapter: ${adapter.error}`,
    'Install a Vulkan driver. On Debian bookworm (as root):',
    "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list",
    '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1',
    '(bookworm\'s own Mesa 22 lavapipe is too old for Dawn). On other systems install the GPU vendor\'s Vulkan driver.',
    'To run on the CPU reference device only, set DNER_ALLOW_NO_WEBGPU=1 (never honoured in CI).',
  ].join('\n');
  if (inCI || !allowNoGpu) fail(msg);
  log(msg);
} else if (!depsOk || !stamp.adapter?.ok) {
  log(`WebGPU adapter: ${adapter.info.description} (${adapter.info.vendor}, ${adapter.info.architecture})`);
}

/** Installs a Debian package the tests drive (as root with apt-get), or says what is skipped without it. */
function testPackage(pkg, binary, needs) {
  if (existsSync(binary)) return;
  if (process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('which', ['apt-get']).status === 0) {
    try {
      sh(`apt-get install -y -qq ${pkg}`);
    } catch {
      try { sh('apt-get update -qq'); sh(`apt-get install -y -qq ${pkg}`); } catch (e) { log(`could not install ${pkg}: ${e.message}`); }
    }
  } else {
    log(`${needs} needs ${binary} (apt-get install ${pkg}); it is skipped without one`);
  }
}

if (process.argv.includes('--test')) {
  testPackage('chromium', '/usr/bin/chromium', 'the HTML page tests (trace views, the server\'s page)');
  testPackage('redis-server', '/usr/bin/redis-server', 'the corpus tests (a real Redis on loopback)');
}
