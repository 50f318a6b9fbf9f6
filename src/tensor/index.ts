export * from './dtype.js';
export * from './shape.js';
export * from './random.js';
export * from './device.js';
export * from './tensor.js';
export { tidy, keep } from './scope.js';
export { WebGPUBackend, WebGPUError, type AdapterReport, type KernelSpec } from './webgpu/backend.js';
export { allocationPolicy } from './storage.js';
export * from './stats.js';
