export * from './types.js';
export * from './manager.js';
export * as cash from './cash/index.js';
