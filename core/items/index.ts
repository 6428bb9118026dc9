export * from './schema.js';
export * from './properties.js';
export * from './match.js';
