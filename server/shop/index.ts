/**
 * Opening the demo shop: its database (shop.sqlite: merchant deals + identity), its merchant
 * identity for the given origin (enrolling with the CA if needed), and its Hono app.
 */
import type { Hono } from 'hono';
import { MERCHANT_SCHEMA, SqliteMerchantDealStore } from '../merchant/store.js';
import { SqliteStore } from '../storage/sqlite.js';
import { PRODUCTS, SHOP_LEGAL_NAME, type ShopProduct } from './catalog.js';
import { SHOP_IDENTITY_SCHEMA, loadMerchantIdentity, type MerchantEnroller, type ShopIdentity } from './identity.js';
import { createShopApp } from './app.js';

export const SHOP_DB_FILE = 'shop.sqlite';
/** Long enough for a shopper to read the offer in the trusted window and confirm. */
export const DEFAULT_OFFER_TTL_MS = 10 * 60 * 1000;

export interface OpenShopOptions {
  dataDir: string;
  /** The exact origin browsers reach the shop at, e.g. http://127.0.0.1:8451. */
  origin: string;
  ca: MerchantEnroller;
  legalName?: string;
  products?: readonly ShopProduct[];
  offerTtlMs?: number;
  now?: () => number;
  maxBodyBytes?: number;
  operatorToken?: string;
}

export interface Shop {
  app: Hono;
  identity: ShopIdentity;
  store: SqliteStore;
  deals: SqliteMerchantDealStore;
  close(): void;
}

export async function openShop(options: OpenShopOptions): Promise<Shop> {
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: SHOP_DB_FILE, schema: [MERCHANT_SCHEMA, SHOP_IDENTITY_SCHEMA] });
  try {
    const legalName = options.legalName ?? SHOP_LEGAL_NAME;
    const identity = await loadMerchantIdentity({
      store,
      origin: options.origin,
      legalName,
      ca: options.ca,
      ...(options.now ? { now: options.now } : {}),
    });
    const deals = new SqliteMerchantDealStore(store, options.now);
    const app = createShopApp({
      identity,
      legalName,
      products: options.products ?? PRODUCTS,
      deals,
      offerTtlMs: options.offerTtlMs ?? DEFAULT_OFFER_TTL_MS,
      ...(options.now ? { now: options.now } : {}),
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.operatorToken !== undefined ? { operatorToken: options.operatorToken } : {}),
    });
    return { app, identity, store, deals, close: () => store.close() };
  } catch (e) {
    store.close();
    throw e;
  }
}

export { PRODUCTS, SHOP_LEGAL_NAME, SHOP_TITLE, shopCatalog, type ShopProduct } from './catalog.js';
export type { ShopIdentity, MerchantEnroller } from './identity.js';
