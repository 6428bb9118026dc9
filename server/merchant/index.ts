/** The merchant kit: one app and host for every kind of deal (kit.ts; purchases.ts, exchanges.ts register the two kinds) over one deal store (deals.ts). */
export {
  createMerchantKit,
  catalogFromItems,
  type ExchangeFaults,
  type ExchangeOptions,
  type FairPurchaseFaults,
  type FairPurchaseOptions,
  type MerchantCatalog,
  type MerchantKit,
  type MerchantKitOptions,
  type PurchaseOptions,
} from './kit.js';
export {
  MemoryMerchantDealStore,
  SqliteMerchantDealStore,
  SqlMerchantDealStore,
  openPostgresMerchantDeals,
  MERCHANT_DEALS_SCHEMA,
  MERCHANT_POSTGRES_MIGRATIONS,
  DEAL_KINDS,
  type DealKind,
  type DealWrite,
  type MerchantDealStore,
  type StoredDeal,
} from './deals.js';
export { fileDispute, merchantBundle, MERCHANT_CLAIMS, type KitArbiter, type StoredDispute } from './disputes.js';
