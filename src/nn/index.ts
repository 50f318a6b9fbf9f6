export * from './module.js';
export * from './layers.js';
export * from './attention.js';
export * from './optim.js';
export * from './safetensors.js';
export * from './lstm.js';
export * from './bert.js';
export * from './folder.js';
