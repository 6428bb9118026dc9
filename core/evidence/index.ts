export * from './bundle.js';
export * from './files.js';
export * from './verify.js';
export * from './words.js';
export * from './collect.js';
export * from './timestamps.js';
