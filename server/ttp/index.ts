export { createTtpApp, MAX_REQUEST_BYTES, type TtpAppOptions } from './app.js';
export { TtpService, type CertificateAuthorityLike, type TtpCertificateRequest, type TtpInfo, type TtpServiceOptions } from './service.js';
export { openTtpStore, PostgresTtpStore, SqliteTtpStore, type TtpRecordStore, type TtpStoreLocation } from './store.js';
export { startTtpServer, type RunningTtp } from './server.js';
export { openMarketplaceTtp, DEFAULT_TTP_NAME, TTP_DB_FILE, TTP_IDENTITY_FILE, type TtpIssuer, type OpenTtpOptions } from './open.js';
