export {
  CaService,
  CA_DB_FILE,
  normaliseSerial,
  type CaServiceOptions,
  type CertificateRecord,
  type CertificateStatus,
  type MerchantEnrolment,
  type PublishedCrl,
  type RegistrationCodeParams,
  type ShopperRegistration,
} from './service.js';
export { createCaApp, type CaAppOptions } from './app.js';
