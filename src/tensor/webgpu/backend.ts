/**
 * The WebGPU device: adapter, error reporting, the pending command encoder, the uniform ring,
 * the pipeline cache, buffer pool and readback. Kernels call `dispatch`; nothing here knows any op.
 */
import { create, globals } from 'webgpu';
import { BufferPool } from './buffer-pool.js';
import { BindGroupCache, layoutEntries } from './bind-groups.js';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
  subgroupSize: number | null;
}

export interface KernelSpec {
  /** Pipeline-cache key: the kernel family plus every compile-time constant. */
  key: string;
  /** Human name used in error messages and profiles. */
  name: string;
  /** Shape summary the profiler can group by (e.g. matmul M×N×K). */
  detail?: string;
  code: () => string;
}

export interface GpuCounters {
  dispatches: number;
  submits: number;
  pipelinesCompiled: number;
  readbacks: number;
}

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter we know
const UNIFORM_SLOTS = 1024;
const MAX_DISPATCHES_PER_SUBMIT = 512;
/**
 * A real GPU idles until a submit, so there the host submits every 64 dispatches and the GPU runs one
 * chunk while the host encodes the next (an inference batch is about 780 dispatches). On lavapipe the
 * "GPU" is the same two cores, and fewer, larger submits cost less.
 */
const GPU_DISPATCHES_PER_SUBMIT = 64;

interface CachedPipeline { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; id: number }

const IMMEDIATE_TICKS = 32;
let activeWaits = 0;
let realSetImmediate: typeof setImmediate | null = null;

async function throttledPolling<T>(wait: () => Promise<T>): Promise<T> {
  if (activeWaits++ === 0) {
    const original = globalThis.setImmediate;
    realSetImmediate = original;
    let ticks = 0;
    const throttled = ((fn: (...a: unknown[]) => void, ...args: unknown[]) =>
      (ticks++ < IMMEDIATE_TICKS ? original(fn, ...args) : setTimeout(fn, 1, ...args))) as unknown as typeof setImmediate;
    globalThis.setImmediate = throttled;
  }
  try {
    return await wait();
  } finally {
    if (--activeWaits === 0 && realSetImmediate) {
      globalThis.setImmediate = realSetImmediate;
      realSetImmediate = null;
    }
  }
}

export class WebGPUError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGPUError';
  }
}

export class WebGPUBackend {
  readonly pool: BufferPool;
  readonly counters: GpuCounters = { dispatches: 0, submits: 0, pipelinesCompiled: 0, readbacks: 0 };
  private pipelines = new Map<string, CachedPipeline>();
  /** Never reused, even after the cache is cleared: bind groups are cached under it. */
  private nextPipelineId = 1;
  readonly bindGroups = new BindGroupCache();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private kernelsInBatch: string[] = [];
  private uniformStaging = new ArrayBuffer(UNIFORM_SLOT * UNIFORM_SLOTS);
  private uniformBuffer: GPUBuffer;
  private uniformSlot = 0;
  private errors: string[] = [];
  private lostReason: string | null = null;
  private stagingFree = new Map<number, GPUBuffer[]>();
  private timestampWrites: GPUComputePassTimestampWrites | null = null;
  private profile: KernelProfiler | null = null;
  /** Called after each new pipeline, e.g. to show progress while a first run compiles its kernels. */
  onCompile: (() => void) | null = null;
  /**
   * When set (an array), each pipeline's first dispatch is recorded here, enough to replay it alone:
   * lavapipe compiles a pipeline when its first dispatch runs, so bench/first-run.ts times each by replay.
   */
  firstDispatches: { name: string; key: string; code: string; sizes: number[]; uniforms: number[] | null; workgroups: [number, number?, number?] }[] | null = null;

  private constructor(
    readonly gpu: GPU,
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly report: AdapterReport,
  ) {
    this.pool = new BufferPool(device, Math.min(4 * 1024 ** 3, device.limits.maxBufferSize * 4), (buf) => this.bindGroups.forget(buf));
    this.uniformBuffer = device.createBuffer({
      size: UNIFORM_SLOT * UNIFORM_SLOTS,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform-ring',
    });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(e.message);
      // A failed compile leaves an invalid pipeline in the cache; rebuild everything on next use.
      this.pipelines.clear();
      this.bindGroups.clear();
    });
    device.lost.then((info) => {
      if (info.reason !== 'destroyed') {
        this.lostReason = `${info.reason}: ${info.message}`;
      }
    });
  }

  /** `adapterName`: Dawn's adapter flag, a substring of the adapter's name (adapters.ts resolves a user's choice to one). */
  static async create(powerPreference: GPUPowerPreference = 'high-performance', adapterName?: string): Promise<WebGPUBackend> {
    Object.assign(globalThis, globals);
    // Trap 1: the GPU object must stay reachable for the life of the process.
    const g = globalThis as unknown as { __dnerGpu?: GPU };
    // Kernels bound their own indices (shapes travel as uniforms), so Dawn's per-access clamping is
    // redundant work; DNER_WEBGPU_ROBUST=1 turns it back on for debugging.
    const flags = process.env.DNER_WEBGPU_ROBUST === '1' ? [] : ['enable-dawn-features=disable_robustness'];
    if (adapterName !== undefined) flags.push(`adapter=${adapterName}`);
    g.__dnerGpu ??= create(flags);
    const gpu = g.__dnerGpu;
    const adapter = await gpu.requestAdapter({ powerPreference });
    if (!adapter) {
      throw new WebGPUError(
        'No WebGPU adapter. Run `npm run setup` (it installs Mesa lavapipe on Debian) or install a Vulkan driver; ' +
        'or choose the cpu device with DNER_DEVICE=cpu.',
      );
    }
    const info = adapter.info;
    const features = [...adapter.features].map(String).sort();
    const wanted: GPUFeatureName[] = [];
    if (adapter.features.has('subgroups' as GPUFeatureName)) wanted.push('subgroups' as GPUFeatureName);
    if (adapter.features.has('timestamp-query')) wanted.push('timestamp-query');
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: wanted,
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
      },
      label: 'diffusionner',
    });
    const limitRecord: Record<string, number> = {};
    for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage']) {
      limitRecord[k] = Number((device.limits as unknown as Record<string, number>)[k]);
    }
    const infoAny = info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number };
    const report: AdapterReport = {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      isSoftware: info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(info.description),
      features,
      limits: limitRecord,
      subgroupSize: wanted.includes('subgroups' as GPUFeatureName)
        ? (infoAny.subgroupMinSize === infoAny.subgroupMaxSize ? infoAny.subgroupMinSize ?? null : null)
        : null,
    };
    return new WebGPUBackend(gpu, adapter, device, report);
  }

  get hasSubgroups(): boolean {
    return this.report.features.includes('subgroups');
  }

  private pipeline(spec: KernelSpec): CachedPipeline {
    let p = this.pipelines.get(spec.key);
    if (!p) {
      const code = spec.code();
      const module = this.device.createShaderModule({ code, label: spec.name });
      const layout = this.device.createBindGroupLayout({ entries: layoutEntries(code, spec.name), label: spec.name });
      const pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: spec.name });
      const pipeline = this.device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: 'main' }, label: spec.name });
      p = { pipeline, layout, id: this.nextPipelineId++ };
      this.pipelines.set(spec.key, p);
      this.counters.pipelinesCompiled++;
      this.onCompile?.();
    }
    return p;
  }

  /**
   * Encodes one dispatch into the pending compute pass. Binding i of group 0 is `buffers[i]`; when
   * `uniforms` is given it is bound last, after the buffers.
   */
  dispatch(spec: KernelSpec, buffers: GPUBuffer[], uniforms: ArrayBuffer | null, workgroups: [number, number?, number?]): void {
    this.throwIfBroken();
    const maxDim = this.report.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = workgroups;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new WebGPUError(`kernel '${spec.name}': dispatch (${x}, ${y}, ${z}) exceeds ${maxDim} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    if (this.firstDispatches && !this.pipelines.has(spec.key)) {
      this.firstDispatches.push({ name: spec.name, key: spec.key, code: spec.code(), sizes: buffers.map((b) => b.size), uniforms: uniforms ? Array.from(new Uint8Array(uniforms)) : null, workgroups });
    }
    const pipeline = this.pipeline(spec);
    if (uniforms && this.uniformSlot >= UNIFORM_SLOTS) this.flush();
    let offset = 0;
    if (uniforms) {
      if (uniforms.byteLength > UNIFORM_SLOT) throw new WebGPUError(`kernel '${spec.name}': uniforms over ${UNIFORM_SLOT} bytes`);
      offset = this.uniformSlot++ * UNIFORM_SLOT;
      new Uint8Array(this.uniformStaging, offset, uniforms.byteLength).set(new Uint8Array(uniforms));
    }
    const bindGroup = this.bindGroups.get(pipeline.id, buffers, () => {
      const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      if (uniforms) entries.push({ binding: buffers.length, resource: { buffer: this.uniformBuffer, offset: 0, size: UNIFORM_SLOT } });
      return this.device.createBindGroup({ layout: pipeline.layout, entries, label: spec.name });
    });
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'batch' });
    const timed = this.profile?.timestampWrites(this.kernelsInBatch.length);
    if (timed) { this.pass?.end(); this.pass = null; }
    if (!this.pass) this.pass = this.encoder.beginComputePass({ label: 'batch', timestampWrites: timed ?? this.timestampWrites ?? undefined });
    this.pass.setPipeline(pipeline.pipeline);
    if (uniforms) this.pass.setBindGroup(0, bindGroup, [offset]);
    else this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    if (timed) { this.pass.end(); this.pass = null; }
    this.counters.dispatches++;
    this.kernelsInBatch.push(this.profile?.byShape && spec.detail ? `${spec.name} ${spec.detail}` : spec.name);
    if (this.kernelsInBatch.length >= (this.report.isSoftware ? MAX_DISPATCHES_PER_SUBMIT : GPU_DISPATCHES_PER_SUBMIT)) this.flush();
  }

  /** Records a buffer copy (ends the current compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'batch' });
    this.pass?.end();
    this.pass = null;
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything pending. Buffers released before this call become reusable. */
  flush(): void {
    if (this.encoder) {
      this.pass?.end();
      this.pass = null;
      this.profile?.beforeSubmit(this.encoder, this.kernelsInBatch);
      if (this.uniformSlot > 0) {
        this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformStaging, 0, this.uniformSlot * UNIFORM_SLOT);
      }
      this.device.queue.submit([this.encoder.finish()]);
      this.profile?.afterSubmit();
      this.encoder = null;
      this.uniformSlot = 0;
      this.counters.submits++;
    }
    this.kernelsInBatch = [];
    this.pool.afterSubmit();
  }

  upload(buffer: GPUBuffer, data: ArrayBufferView): void {
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Awaits GPU work without stealing a core from the driver (trap 2 in the lavapipe notes). Dawn's node
   * binding polls for completion by re-arming the global setImmediate, which spins a whole core while
   * lavapipe's workers need both. During a wait we hand it a throttled setImmediate: the first few ticks
   * run at once (short work returns fast), later ones at 1 ms timer granularity.
   */
  private async waitForQueue<T>(wait: () => Promise<T>): Promise<T> {
    const r = await throttledPolling(wait);
    this.throwIfBroken();
    return r;
  }

  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.throwIfBroken();
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const staging = this.stagingFree.get(size)?.pop() ??
      this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    this.copy(buffer, 0, staging, 0, Math.min(size, buffer.size));
    this.flush();
    this.counters.readbacks++;
    await this.waitForQueue(() => staging.mapAsync(GPUMapMode.READ));
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let list = this.stagingFree.get(size);
    if (!list) this.stagingFree.set(size, (list = []));
    if (list.length < 4) list.push(staging); else staging.destroy();
    return out;
  }

  /** Waits until all submitted work is done (for benchmarks). */
  async sync(): Promise<void> {
    this.flush();
    await this.waitForQueue(() => this.device.queue.onSubmittedWorkDone());
  }

  get hasTimestamps(): boolean {
    return this.report.features.includes('timestamp-query');
  }

  /**
   * GPU time in milliseconds of the dispatches `encode` records, from timestamp queries around one
   * compute pass (null when the adapter has no timestamp queries). Used by benchmarks and the profiler.
   */
  async timeGpu(encode: () => void): Promise<number | null> {
    if (!this.hasTimestamps) { encode(); await this.sync(); return null; }
    this.flush();
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 });
    const resolve = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.timestampWrites = { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 };
    const before = this.counters.submits;
    try {
      encode();
    } finally {
      this.timestampWrites = null;
    }
    if (this.counters.submits !== before || !this.encoder) {
      querySet.destroy(); resolve.destroy();
      throw new WebGPUError('timeGpu: the work did not fit in one compute pass (too many dispatches or a copy)');
    }
    this.pass?.end();
    this.pass = null;
    this.encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    const bytes = await this.read(resolve, 16);
    const [t0, t1] = new BigUint64Array(bytes);
    querySet.destroy(); resolve.destroy();
    return Number(t1 - t0) / 1e6;
  }

  /**
   * Profiles every dispatch until `stopProfile`: each gets its own compute pass with timestamp queries
   * (adapters without them report counts only). Slower than normal running; for the profiler only.
   */
  startProfile(o: { byShape?: boolean } = {}): void {
    this.flush();
    this.profile = new KernelProfiler(this.device, this.hasTimestamps, o.byShape ?? false);
  }

  /** Per-kernel totals since `startProfile`, sorted by time (or by count without timestamps). */
  async stopProfile(): Promise<KernelTiming[]> {
    if (!this.profile) throw new WebGPUError('stopProfile: no profile was started');
    this.flush();
    const p = this.profile;
    this.profile = null;
    return this.waitForQueue(() => p.results());
  }

  private throwIfBroken(): void {
    if (this.lostReason) {
      throw new WebGPUError(`WebGPU device lost (${this.lostReason}). Restart the process; if it recurs, ` +
        'lower the batch size or check the GPU driver (out of memory and driver resets both end here).');
    }
    if (this.errors.length) {
      const msgs = this.errors.splice(0);
      if (msgs.some((m) => /out of memory|outofmemory/i.test(m))) {
        throw new WebGPUError(`GPU out of memory (${msgs[0].trim().split('\n')[0]}). Lower the batch size (train.batch, eval.batch), ` +
          'K (proposals) or the sentence length (--max-words), or close other programs using the GPU.');
      }
      // Dawn's message names the object in brackets: [ShaderModule "kernel"], [Buffer "tensor"], ...
      throw new WebGPUError(`WebGPU error: ${msgs.map((m) => m.trim()).join('\n')}`);
    }
  }

  destroy(): void {
    try { this.flush(); } catch { /* exiting anyway */ }
    this.device.destroy();
  }
}

export interface KernelTiming { kernel: string; dispatches: number; ms: number | null }

/** Timestamp pairs around each dispatch of a submit, read back once the submit is done. */
class KernelProfiler {
  private querySet: GPUQuerySet | null;
  private pending: Promise<void>[] = [];
  private totals = new Map<string, { dispatches: number; ns: bigint }>();
  private submitted: { names: string[]; staging: GPUBuffer; resolved: GPUBuffer } | null = null;

  constructor(private device: GPUDevice, timestamps: boolean, readonly byShape: boolean) {
    this.querySet = timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 * MAX_DISPATCHES_PER_SUBMIT }) : null;
  }

  timestampWrites(index: number): GPUComputePassTimestampWrites | null {
    return this.querySet ? { querySet: this.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 } : null;
  }

  beforeSubmit(encoder: GPUCommandEncoder, kernels: string[]): void {
    const names = kernels.slice();
    if (!this.querySet || names.length === 0) {
      for (const k of names) this.add(k, 0n);
      return;
    }
    const bytes = 16 * names.length;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * names.length, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    this.submitted = { names, staging, resolved };
  }

  /** Maps the submit's timestamps (a buffer may only be mapped once the submit using it is queued). */
  afterSubmit(): void {
    if (!this.submitted) return;
    const { names, staging, resolved } = this.submitted;
    this.submitted = null;
    this.pending.push(staging.mapAsync(GPUMapMode.READ).then(() => {
      const t = new BigUint64Array(staging.getMappedRange());
      names.forEach((k, i) => this.add(k, t[2 * i + 1] > t[2 * i] ? t[2 * i + 1] - t[2 * i] : 0n));
      staging.unmap(); staging.destroy(); resolved.destroy();
    }));
  }

  private add(kernel: string, ns: bigint): void {
    const e = this.totals.get(kernel) ?? { dispatches: 0, ns: 0n };
    e.dispatches++; e.ns += ns;
    this.totals.set(kernel, e);
  }

  async results(): Promise<KernelTiming[]> {
    await Promise.all(this.pending);
    this.querySet?.destroy();
    const timed = this.querySet !== null;
    return [...this.totals].map(([kernel, e]) => ({ kernel, dispatches: e.dispatches, ms: timed ? Number(e.ns) / 1e6 : null }))
      .sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0) || b.dispatches - a.dispatches);
  }
}
