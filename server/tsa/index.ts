export { createTsaApp, DEFAULT_TSA_REQUESTS_PER_MINUTE, MAX_TSA_REQUEST_BYTES, type TsaAppOptions } from './app.js';
export { DEFAULT_TSA_NAME, openMarketplaceTsa, type OpenTsaOptions, TSA_IDENTITY_FILE, type TsaIssuer } from './open.js';
export { TSA_SCHEMA } from './schema.js';
export { startTsaServer, type RunningTsa } from './server.js';
export {
  DEFAULT_ACCURACY,
  type IssuedRecord,
  type IssuedToken,
  type StampOptions,
  TSA_DB_FILE,
  TSA_POLICY_OID,
  TsaService,
  type TsaServiceOptions,
} from './service.js';
export { inProcessTimestamper } from './timestamper.js';
