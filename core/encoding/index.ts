export * from './base64url.js';
export * from './canonical-json.js';
export * from './digest.js';
export * from './time.js';
