export { CA_APPEND_ONLY, CA_POSTGRES_MIGRATIONS, CA_SCHEMA } from './schema.js';
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
export { CA_REGISTER_BODY_LIMIT, CA_REVOKE_BODY_LIMIT, createCaApp, type CaAppOptions } from './app.js';
