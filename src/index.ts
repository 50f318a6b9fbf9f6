/**
 * The package's entry point: the NER toolkit's API (loadModel, train, evaluate; src/api.ts) and the
 * engine beneath it (tensors, devices, ops, autograd, memory scopes; also at 'diffusionner-webgpu/engine').
 */
export * from './engine.js';
export * from './api.js';
