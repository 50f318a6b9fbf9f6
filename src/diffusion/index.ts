export * from './schedule.js';
export * from './spans.js';
export * from './ddim.js';
