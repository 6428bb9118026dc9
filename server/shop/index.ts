/**
 * Opening the demo shop: its database (shop.sqlite: merchant deals + identity), its merchant
 * identity for the given origin (enrolling with the CA if needed), and its Hono app.
 */
import type { Hono } from 'hono';
import type { MerchantContext } from '../../core/commerce/merchant.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/index.js';
import { MERCHANT_SCHEMA, SqliteMerchantDealStore } from '../merchant/store.js';
import { MerchantExchangeHost, type ExchangeFaults } from '../merchant/exchange-app.js';
import { MERCHANT_EXCHANGE_SCHEMA, SqliteMerchantExchangeStore } from '../merchant/exchange-store.js';
import type { ExchangeTiming } from '../../core/commerce/exchange-deal.js';
import { shopExchangeCatalog } from './exchange-uses.js';
import { SqliteStore } from '../storage/sqlite.js';
import { PRODUCTS, SHOP_LEGAL_NAME, type ShopProduct } from './catalog.js';
import { SHOP_IDENTITY_SCHEMA, loadMerchantIdentity, type MerchantEnroller, type ShopIdentity } from './identity.js';
import { createShopApp } from './app.js';

export const SHOP_DB_FILE = 'shop.sqlite';
/** Long enough for a shopper to read the offer in the trusted window and confirm. */
export const DEFAULT_OFFER_TTL_MS = 10 * 60 * 1000;

/** The shop as responder of fair exchanges (certified mail, contract signing). */
export interface ShopExchangeOptions {
  /** The TTP the shop accepts and where it reaches it. */
  ttp: { keyId: string; url: string; certificateChain: string[] };
  /** Roots for certified signers in exchange messages (default: the CA root). */
  trustRoots?: readonly string[];
  timing?: ExchangeTiming;
  /** Test faults (read on every request: a test may change them between cases). */
  faults?: ExchangeFaults;
  /** How often due exchange timers run (default 1 s; 0 = never, for tests that tick by hand). */
  timerIntervalMs?: number;
}

export interface OpenShopOptions {
  exchange?: ShopExchangeOptions;
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
  /** Accept orders signed with shopper certificates (roots + revocation check). */
  shopperTrust?: MerchantContext['trust'];
  /** Accept orders signed with hardware tokens. */
  webauthn?: WebAuthnStatementVerifier;
}

export interface Shop {
  /** The exchange host, when `exchange` was configured. */
  exchange?: MerchantExchangeHost;
  app: Hono;
  identity: ShopIdentity;
  store: SqliteStore;
  deals: SqliteMerchantDealStore;
  close(): void | Promise<void>;
}

export async function openShop(options: OpenShopOptions): Promise<Shop> {
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: SHOP_DB_FILE, schema: [MERCHANT_SCHEMA, SHOP_IDENTITY_SCHEMA, MERCHANT_EXCHANGE_SCHEMA] });
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
    const exchange = options.exchange
      ? new MerchantExchangeHost({
          identity,
          catalog: shopExchangeCatalog(),
          store: new SqliteMerchantExchangeStore(store, options.now),
          ttp: options.exchange.ttp,
          trustRoots: options.exchange.trustRoots ?? [options.ca.rootCertificate],
          ...(options.exchange.timing ? { timing: options.exchange.timing } : {}),
          ...(options.exchange.faults ? { faults: options.exchange.faults } : {}),
          ...(options.now ? { now: options.now } : {}),
          ...(options.operatorToken !== undefined ? { operatorToken: options.operatorToken } : {}),
          onError: (what, e) => console.warn(`[shop] ${what}:`, e),
        })
      : undefined;
    const app = createShopApp({
      ...(exchange ? { exchange } : {}),
      identity,
      legalName,
      products: options.products ?? PRODUCTS,
      deals,
      offerTtlMs: options.offerTtlMs ?? DEFAULT_OFFER_TTL_MS,
      ...(options.now ? { now: options.now } : {}),
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.operatorToken !== undefined ? { operatorToken: options.operatorToken } : {}),
      ...(options.shopperTrust ? { shopperTrust: options.shopperTrust } : {}),
      ...(options.webauthn ? { webauthn: options.webauthn } : {}),
    });
    if (exchange && options.exchange?.timerIntervalMs !== 0) exchange.start(options.exchange?.timerIntervalMs ?? 1000);
    return {
      app,
      identity,
      store,
      deals,
      ...(exchange ? { exchange } : {}),
      close: async () => {
        await exchange?.stop();
        store.close();
      },
    };
  } catch (e) {
    store.close();
    throw e;
  }
}

export { PRODUCTS, SHOP_LEGAL_NAME, SHOP_TITLE, shopCatalog, signatureDemandOf, type ShopProduct } from './catalog.js';
export type { ShopIdentity, MerchantEnroller } from './identity.js';
