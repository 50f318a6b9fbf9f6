/**
 * The two devices. `cpu` is the plain-TypeScript reference (and the only one with f64);
 * `webgpu` runs WGSL kernels through Dawn. Selection: an explicit argument, else `setDefaultDevice`,
 * else the DNER_DEVICE environment variable, else webgpu.
 */
import { WebGPUBackend } from './webgpu/backend.js';
import { listAdapters, resolveAdapterChoice } from './webgpu/adapters.js';

export type DeviceKind = 'cpu' | 'webgpu';

export interface CpuDevice {
  readonly kind: 'cpu';
  readonly name: 'cpu';
}
export interface GpuDevice {
  readonly kind: 'webgpu';
  readonly name: 'webgpu';
  readonly backend: WebGPUBackend;
}
export type Device = CpuDevice | GpuDevice;

export const cpu: CpuDevice = Object.freeze({ kind: 'cpu', name: 'cpu' });
let gpuDevice: GpuDevice | null = null;
let gpuInit: Promise<GpuDevice> | null = null;
let defaultKind: DeviceKind | null = null;
/** The adapter chosen with `selectAdapter` (else DNER_ADAPTER), as Dawn's name flag; undefined: Dawn's default. */
let adapterChoice: { choice: string; name: string } | undefined;

function envKind(): DeviceKind {
  const v = (process.env.DNER_DEVICE ?? 'webgpu').toLowerCase();
  if (v !== 'cpu' && v !== 'webgpu') throw new Error(`DNER_DEVICE must be 'cpu' or 'webgpu', got '${v}'`);
  return v;
}

/** The largest tensor a kernel can bind, in bytes: the adapter's maxStorageBufferBindingSize (unbounded on cpu). */
export function largestTensorBytes(device: Device): number {
  return device.kind === 'cpu' ? Infinity : device.backend.device.limits.maxStorageBufferBindingSize;
}

/**
 * Chooses the WebGPU adapter (an index into `diffusionner device --list`, or a name or part of one)
 * before the device starts; one process uses one adapter. DNER_ADAPTER makes the same choice.
 */
export async function selectAdapter(choice: string): Promise<void> {
  if (adapterChoice?.choice === choice) return;
  if (gpuInit) throw new Error(`--adapter ${choice}: the WebGPU device has already started${adapterChoice ? ` on adapter ${adapterChoice.choice}` : ''}; choose the adapter before anything runs`);
  adapterChoice = { choice, name: resolveAdapterChoice(choice, await listAdapters()).name };
}

/** Initialises (once) and returns the WebGPU device. */
export async function initWebGPU(): Promise<GpuDevice> {
  if (!gpuInit && !adapterChoice && process.env.DNER_ADAPTER) await selectAdapter(process.env.DNER_ADAPTER);
  gpuInit ??= WebGPUBackend.create('high-performance', adapterChoice?.name).then((backend) => {
    gpuDevice = Object.freeze({ kind: 'webgpu' as const, name: 'webgpu' as const, backend });
    // Destroying the device lets the process end; Dawn otherwise keeps it alive.
    process.once('beforeExit', () => { backend.destroy(); gpuDevice = null; gpuInit = null; });
    return gpuDevice;
  });
  return gpuInit;
}

/** Resolves a device name (or the default) to a ready device. */
export async function getDevice(kind?: DeviceKind | Device): Promise<Device> {
  if (kind && typeof kind === 'object') return kind;
  const k = kind ?? defaultKind ?? envKind();
  return k === 'cpu' ? cpu : initWebGPU();
}

export async function setDefaultDevice(kind: DeviceKind): Promise<Device> {
  defaultKind = kind;
  return getDevice(kind);
}

/** The default device, synchronously: webgpu must have been initialised with `getDevice`/`initWebGPU`. */
export function defaultDevice(): Device {
  const k = defaultKind ?? envKind();
  if (k === 'cpu') return cpu;
  if (!gpuDevice) throw new Error("The webgpu device is not initialised yet: `await getDevice('webgpu')` first (or use DNER_DEVICE=cpu).");
  return gpuDevice;
}

export function resolveDevice(d: Device | DeviceKind | undefined): Device {
  if (d === undefined) return defaultDevice();
  if (typeof d === 'object') return d;
  if (d === 'cpu') return cpu;
  if (!gpuDevice) throw new Error("The webgpu device is not initialised yet: `await getDevice('webgpu')` first.");
  return gpuDevice;
}
