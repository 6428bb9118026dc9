export { createMerchantApp, catalogFromItems, type MerchantAppOptions, type MerchantCatalog } from './app.js';
export { SqliteMerchantDealStore, MERCHANT_SCHEMA, type MerchantDealStore, type StoredDeal } from './store.js';
