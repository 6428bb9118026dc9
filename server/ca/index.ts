export { CaService, CA_DB_FILE, normaliseSerial, type CaServiceOptions, type CertificateRecord, type CertificateStatus, type MerchantEnrolment } from './service.js';
export { createCaApp } from './app.js';
