export * from './schema.js';
export * from './sign.js';
export * from './verify.js';
export * from './canonical-signature.js';
