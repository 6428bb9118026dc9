// Everything, issuing included (@peculiar/x509): for Node parties and tests. The extension imports the
// read modules (certificates.ts, crl.ts, csr.ts, der.ts, registration.ts, revocation.ts) directly.
export * from './certificates.js';
export * from './csr.js';
export * from './crl.js';
export * from './issue.js';
export { canonicalSerial } from './der.js';
export * from './registration.js';
export * from './revocation.js';
