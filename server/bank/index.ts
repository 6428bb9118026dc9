export { createBankApp, MAX_ISSUE_BYTES, MAX_OPENING_BYTES, MAX_ORDER_BYTES, MAX_SPENDS_BYTES, type BankAppOptions } from './app.js';
export { BankService, BANK_DB_FILE, DEFAULT_MAX_REVOCATION_WINDOW, type BankInfo, type BankServiceOptions, type BankTotals } from './service.js';
export { DEFAULT_ROTATION, DenominationKey, DenominationKeys, generateRsaKey, type RotationPolicy, type RsaKeyFactory } from './denominations.js';
export { COINS_ACCOUNT, FUNDING_ACCOUNT, Ledger, type Entry, type PostingKind } from './ledger.js';
export {
  ACCOUNT_OPENING_TYPES,
  AccountOpeningBody,
  accountOpeningRequest,
  signAccountOpening,
  type AccountOpenedBody,
  type AccountOpeningAnswer,
  type AccountOpeningCodeParams,
} from './opening.js';
export { BANK_IDENTITY_FILE, DEFAULT_BANK_NAME, openMarketplaceBank, type BankIssuer, type OpenBankOptions } from './open.js';
export { startBankServer, type RunningBank } from './server.js';
