/**
 * What the corpus tests (and bench/corpus.ts) run: a redis-server of their own (127.0.0.1, a free port, append-only
 * persistence in a temporary folder) that can be restarted on the same port and folder, and
 * `diffusionner` processes (workers in the background, the other commands to completion) on the cpu device.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REDIS_SERVER = '/usr/bin/redis-server';
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Whether the tests can run; without redis-server they are skipped with a note, except in CI. */
export function redisAvailable(): boolean {
  if (existsSync(REDIS_SERVER)) return true;
  if (process.env.CI) throw new Error(`${REDIS_SERVER} is missing (apt-get install redis-server)`);
  console.warn(`*** ${REDIS_SERVER} is missing: the corpus tests are skipped (apt-get install redis-server)`);
  return false;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** PING until PONG (or the deadline). */
async function waitForPong(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => c.write('PING\r\n'));
      c.on('data', (d) => { c.destroy(); resolve(d.toString().startsWith('+PONG')); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer within ${ms} ms`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RedisServer {
  private proc: ChildProcess | null = null;
  private constructor(readonly port: number, readonly dir: string, readonly fsync: 'always' | 'everysec') {}

  get url(): string { return `redis://127.0.0.1:${this.port}`; }

  static async start(dir: string, fsync: 'always' | 'everysec' = 'always'): Promise<RedisServer> {
    const r = new RedisServer(await freePort(), dir, fsync);
    await r.startAgain();
    return r;
  }

  /** Starts redis-server on this port and folder (a restart reads back the append-only file). */
  async startAgain(): Promise<void> {
    this.proc = spawn(REDIS_SERVER, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', this.fsync, '--maxmemory-policy', 'noeviction',
    ], { stdio: 'ignore' });
    await waitForPong(this.port);
  }

  /** SIGTERM: redis-server shuts down cleanly, its append-only file complete. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    await exited;
    this.proc = null;
  }
}

/** A `diffusionner` process in the background, its stderr kept as it comes. */
export class Cli {
  readonly proc: ChildProcess;
  stderr = '';
  stdout = '';
  readonly exited: Promise<number | null>;

  /** `env` adds to this process's environment (the cpu device by default). */
  constructor(args: string[], env: Record<string, string> = { DNER_DEVICE: 'cpu' }) {
    this.proc = spawn(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), ...args], { env: { ...process.env, ...env } });
    this.proc.stderr!.on('data', (d) => { this.stderr += d; });
    this.proc.stdout!.on('data', (d) => { this.stdout += d; });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  /** Waits until stderr (from `from` on) matches, and returns the match. */
  async waitFor(pattern: RegExp, ms = 60_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.stderr.slice(from).match(pattern);
      if (m) return m;
      if (this.proc.exitCode !== null) throw new Error(`exited (${this.proc.exitCode}) before ${pattern}: ${this.stderr.slice(-1500)}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms: ${this.stderr.slice(-1500)}`);
      await sleep(20);
    }
  }

  kill(signal: NodeJS.Signals): void { if (this.proc.exitCode === null) this.proc.kill(signal); }

  /** The exit status, once it has exited (within `ms`). */
  async exit(ms = 30_000): Promise<number | null> {
    const late = Symbol('late');
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.exited, new Promise<symbol>((resolve) => { timer = setTimeout(() => resolve(late), ms); })]);
    clearTimeout(timer);
    if (r === late) throw new Error(`still running ${ms} ms later: ${this.stderr.slice(-1500)}`);
    return r as number | null;
  }
}

/** A `diffusionner` command run to completion (without blocking the workers' output). */
export async function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const c = new Cli(args);
  const timer = setTimeout(() => c.kill('SIGKILL'), 120_000);
  const status = await c.exited;
  clearTimeout(timer);
  return { status, stdout: c.stdout, stderr: c.stderr };
}
