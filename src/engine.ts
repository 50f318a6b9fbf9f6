/** The engine alone: tensors, devices, ops, autograd and memory scopes (also exported by the package root). */
export * from './tensor/index.js';
export * from './ops/index.js';
