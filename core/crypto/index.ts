export * from './jwk.js';
export * from './keys.js';
