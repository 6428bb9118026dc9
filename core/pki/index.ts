export * from './certificates.js';
export * from './csr.js';
export * from './crl.js';
export { canonicalSerial } from './der.js';
export * from './registration.js';
export * from './revocation.js';
