export * from './schema.js';
export * from './sign.js';
export * from './verify.js';
