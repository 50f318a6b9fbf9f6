/**
 * Bind groups are the dearest part of a dispatch on the host (createBindGroup measured 27 µs of a
 * 70 µs dispatch on lavapipe: bench/probe-dispatch-cost.ts), and inference repeats the same kernels on
 * the same pooled buffers every DDIM step and every batch. So each pipeline gets an explicit layout whose
 * uniform binding takes a dynamic offset (the slot in the uniform ring varies per dispatch, the buffer
 * does not), and bind groups are cached by (pipeline, buffers). A destroyed buffer's groups could never
 * be found again (a new buffer gets a new id), and are dropped so that they do not pile up.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Layout entries of group 0, read from the kernel's WGSL declarations. */
export function layoutEntries(code: string, kernel: string): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  const decl = /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(storage|uniform)\s*(?:,\s*(read_write|read)\s*)?>/g;
  for (const m of code.matchAll(decl)) {
    const binding = Number(m[1]);
    const buffer: GPUBufferBindingLayout = m[2] === 'uniform'
      ? { type: 'uniform', hasDynamicOffset: true }
      : { type: m[3] === 'read_write' ? 'storage' : 'read-only-storage' };
    entries.push({ binding, visibility: 4 /* GPUShaderStage.COMPUTE */, buffer });
  }
  const bindings = entries.map((e) => e.binding).sort((a, b) => a - b);
  if (bindings.some((b, i) => b !== i)) throw new Error(`kernel '${kernel}': group 0 bindings must be 0 .. n − 1 (found ${bindings.join(', ')})`);
  return entries;
}

const MAX_GROUPS = 8192;

/**
 * A bind group has no destroy(): Dawn frees one when V8 collects its JS object, and V8, which does not
 * see the native memory behind it, collects old objects rarely. On lavapipe every bind group holds a
 * 4 KiB mapping of its own, and Linux allows a process 65,530 (vm.max_map_count); past them lavapipe's
 * next allocation fails and the process dies with a segfault. BINDER training, whose length-bucketed
 * batches bind ever new buffer sets, held ~57,000 dropped groups and crashed so. So once the cache has
 * dropped MAX_GROUPS groups, a full garbage collection frees them.
 */
let fullGc: (() => void) | null | undefined;
function collectGarbage(): void {
  if (fullGc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      fullGc = runInNewContext('gc') as () => void;
    } catch {
      fullGc = null;
    }
  }
  fullGc?.();
}

export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  /** Cache keys that name each buffer id, to drop them when the buffer is destroyed. */
  private keysOf = new Map<number, string[]>();
  hits = 0;
  misses = 0;
  /** Groups dropped from the cache since the last collection: garbage that still holds native memory. */
  private dropped = 0;

  get size(): number {
    return this.groups.size;
  }

  private id(buf: GPUBuffer): number {
    let id = this.ids.get(buf);
    if (id === undefined) this.ids.set(buf, (id = this.nextId++));
    return id;
  }

  get(pipelineId: number, buffers: GPUBuffer[], create: () => GPUBindGroup): GPUBindGroup {
    let key = String(pipelineId);
    for (const b of buffers) key += ':' + this.id(b);
    let group = this.groups.get(key);
    if (group) { this.hits++; return group; }
    this.misses++;
    if (this.groups.size >= MAX_GROUPS) this.clear();
    group = create();
    this.groups.set(key, group);
    for (const b of buffers) {
      const id = this.id(b);
      let keys = this.keysOf.get(id);
      if (!keys) this.keysOf.set(id, (keys = []));
      keys.push(key);
    }
    return group;
  }

  /** Forgets every group that binds `buf` (call before destroying it). */
  forget(buf: GPUBuffer): void {
    const id = this.ids.get(buf);
    if (id === undefined) return;
    for (const key of this.keysOf.get(id) ?? []) if (this.groups.delete(key)) this.noteDropped(1);
    this.keysOf.delete(id);
    this.ids.delete(buf);
  }

  clear(): void {
    this.noteDropped(this.groups.size);
    this.groups.clear();
    this.keysOf.clear();
  }

  private noteDropped(n: number): void {
    this.dropped += n;
    if (this.dropped >= MAX_GROUPS) {
      this.dropped = 0;
      collectGarbage();
    }
  }
}
