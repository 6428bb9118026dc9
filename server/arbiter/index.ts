export { createArbiterApp, MAX_COMPLAINT_BYTES, type ArbiterAppOptions } from './app.js';
export { ArbiterService, type ArbiterServiceOptions, type StoredVerdict } from './service.js';
export { ARBITER_DB_FILE, ARBITER_SCHEMA } from './schema.js';
export { DEFAULT_ARBITER_NAME, openMarketplaceArbiter, type ArbiterIssuer, type OpenArbiterOptions } from './open.js';
export { startArbiterServer } from './server.js';
