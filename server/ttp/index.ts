export { createTtpApp, MAX_REQUEST_BYTES } from './app.js';
export { TtpService, type CertificateAuthorityLike, type TtpCertificateRequest, type TtpInfo, type TtpServiceOptions } from './service.js';
export { SqliteTtpStore } from './store.js';
export { startTtpServer, type RunningTtp } from './server.js';
export { openMarketplaceTtp, DEFAULT_TTP_NAME, type TtpIssuer, type OpenTtpOptions } from './identity.js';
