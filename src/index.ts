/** The engine's public entry point: tensors, devices, ops, autograd and memory scopes. */
export * from './tensor/index.js';
export * from './ops/index.js';
