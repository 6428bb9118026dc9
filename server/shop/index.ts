/**
 * Opening the demo shop: its database (shop.sqlite: the merchant's deals and its identity), its
 * merchant identity for the given origin (a certificate from the CA if needed), the merchant kit
 * (purchases of the catalogue, and exchange deals when a TTP is configured) and its Hono app.
 */
import type { StatementStamps } from '../storage/statement-stamps.js';
import type { Hono } from 'hono';
import type { MerchantIdentity } from '../../core/commerce/merchant.js';
import type { ExchangeTiming } from '../../core/commerce/exchange-deal.js';
import { canonicalOrigin } from '../../core/pki/index.js';
import type { RevocationSource } from '../../core/pki/revocation.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/index.js';
import { IDENTITY_SCHEMA, loadPartyIdentity } from '../identity/party-identity.js';
import {
  createMerchantKit,
  catalogFromItems,
  type ExchangeFaults,
  type FairPurchaseFaults,
  type FairPurchaseOptions,
  type MerchantKit,
} from '../merchant/kit.js';
import type { PublicJwk } from '../../core/crypto/jwk.js';
import type { Statement } from '../../core/statements/index.js';
import { FAIR_GOODS, shopFairCatalog } from './fair-goods.js';
import { MERCHANT_DEALS_SCHEMA, openPostgresMerchantDeals, type SqlMerchantDealStore, SqliteMerchantDealStore } from '../merchant/deals.js';
import { SqliteStore } from '../storage/sqlite.js';
import { PRODUCTS, SHOP_LEGAL_NAME, SHOP_TERMS, signatureDemandOf, type ShopProduct } from './catalog.js';
import { shopExchangeCatalog } from './exchange-uses.js';
import { createShopApp } from './app.js';

export const SHOP_DB_FILE = 'shop.sqlite';
/** Long enough for a shopper to read the offer in the trusted window and confirm. */
export const DEFAULT_OFFER_TTL_MS = 10 * 60 * 1000;

/** The shop as responder of fair exchanges (certified mail, contract signing). */
export interface ShopExchangeOptions {
  /** The TTP the shop accepts and where it reaches it. */
  ttp: { keyId: string; url: string; certificateChain: string[] };
  /** k-of-n exchange deals (docs/quorum.md): the TTPs the shop also accepts as a set (the first is `ttp`) and its k. */
  quorum?: { k: number; ttps: { keyId: string; url: string; certificateChain: string[] }[] };
  /** Roots for certified signers in exchange messages (default: the CA root). */
  trustRoots?: readonly string[];
  timing?: ExchangeTiming;
  /** Test faults (read on every request: a test may change them between cases). */
  faults?: ExchangeFaults;
  /** How often due exchange timers run (default 1 s; 0 = never, for tests that tick by hand). */
  timerIntervalMs?: number;
  /**
   * Fair purchases of the shop's fair goods (fair-goods.ts) for money: the TTP's signed sealing key
   * and how the shop is paid. Absent: the shop sells no goods that way.
   */
  fair?: {
    sealingKey: Statement;
    sealingKeyId: string;
    sealingJwk: PublicJwk;
    payment: FairPurchaseOptions['payment'];
    faults?: FairPurchaseFaults;
  };
}

/** What the shop needs from a CA: its root, and in-process enrolment (see CaService). */
export interface MerchantEnroller {
  readonly rootCertificate: string;
  issueMerchantCertificate(enrolment: { legalName: string; origins: string[]; publicKey: CryptoKey }): Promise<{ certificate: string }>;
}

export interface OpenShopOptions {
  exchange?: ShopExchangeOptions;
  /** Purchases may be paid by cheque made out to the shop's key, cleared at this bank (the kit presents them). */
  cheque?: { bank: { keyId: string; url: string } };
  /** Time stamps over the orders the kit accepts (the marketplace's TSA). */
  stamps?: StatementStamps;
  dataDir: string;
  /** The deals in PostgreSQL (SEMPER_DATABASE_URL) instead of shop.sqlite; the identity stays in the data directory. */
  databaseUrl?: string;
  /** The exact origin browsers reach the shop at, e.g. http://127.0.0.1:8451. */
  origin: string;
  ca: MerchantEnroller;
  legalName?: string;
  products?: readonly ShopProduct[];
  offerTtlMs?: number;
  now?: () => number;
  maxBodyBytes?: number;
  operatorToken?: string;
  /** Accept orders signed with shopper certificates chaining to these roots. */
  shopperTrust?: { roots: readonly string[] };
  /** Revocation status of certificates in orders and exchange messages (e.g. the CA's CRL). */
  revocation?: RevocationSource;
  /** Accept orders signed with hardware tokens. */
  webauthn?: WebAuthnStatementVerifier;
  /** Signed statements per client address per minute (the kit's default otherwise). */
  signedStatementsPerMinute?: number;
}

export interface ShopIdentity extends MerchantIdentity {
  certificate: string;
  serial: string;
  /** True when this start obtained a new certificate. */
  enrolled: boolean;
}

export interface Shop {
  app: Hono;
  kit: MerchantKit;
  identity: ShopIdentity;
  store: SqliteStore;
  deals: SqlMerchantDealStore;
  close(): void | Promise<void>;
}

export async function openShop(options: OpenShopOptions): Promise<Shop> {
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: SHOP_DB_FILE, schema: [MERCHANT_DEALS_SCHEMA, IDENTITY_SCHEMA] });
  let deals: SqlMerchantDealStore | undefined;
  try {
    const legalName = options.legalName ?? SHOP_LEGAL_NAME;
    const origin = canonicalOrigin(options.origin);
    const { ca } = options;
    const party = await loadPartyIdentity({
      store,
      role: 'merchant',
      origin,
      root: ca.rootCertificate,
      issue: async (publicKey) => (await ca.issueMerchantCertificate({ legalName, origins: [origin], publicKey })).certificate,
      ...(options.now ? { now: options.now } : {}),
    });
    const identity: ShopIdentity = {
      signer: party.signer,
      chain: [party.certificate],
      origin,
      certificate: party.certificate,
      serial: party.serial,
      enrolled: party.enrolled,
    };
    deals = options.databaseUrl ? await openPostgresMerchantDeals(options.databaseUrl, options.now) : new SqliteMerchantDealStore(store, options.now);
    const products = options.products ?? PRODUCTS;
    const ex = options.exchange;
    const kit = createMerchantKit({
      identity,
      deals,
      ...(options.stamps ? { stamps: options.stamps } : {}),
      purchases: {
        catalog: catalogFromItems(products, SHOP_TERMS),
        offerTtlMs: options.offerTtlMs ?? DEFAULT_OFFER_TTL_MS,
        ...(options.webauthn ? { webauthn: options.webauthn } : {}),
        ...(options.shopperTrust ? { shopperTrust: options.shopperTrust } : {}),
        // Products that carry an orderSignature demand (the standards archive) put it into the offer.
        requireHardwareToken: signatureDemandOf(products),
        ...(options.cheque ? { cheque: options.cheque } : {}),
      },
      ...(ex
        ? {
            exchanges: {
              catalog: shopExchangeCatalog(),
              ttp: ex.ttp,
              ...(ex.quorum ? { quorum: ex.quorum } : {}),
              trustRoots: ex.trustRoots ?? [ca.rootCertificate],
              ...(ex.timing ? { timing: ex.timing } : {}),
              ...(ex.faults ? { faults: ex.faults } : {}),
            },
          }
        : {}),
      ...(ex?.fair
        ? {
            fairPurchases: {
              catalog: shopFairCatalog(),
              ttp: { ...ex.ttp, sealingKey: ex.fair.sealingKey, sealingKeyId: ex.fair.sealingKeyId, sealingJwk: ex.fair.sealingJwk },
              payment: ex.fair.payment,
              trustRoots: ex.trustRoots ?? [ca.rootCertificate],
              ...(ex.timing ? { timing: ex.timing } : {}),
              ...(ex.fair.faults ? { faults: ex.fair.faults } : {}),
            },
          }
        : {}),
      ...(options.revocation ? { revocation: options.revocation } : {}),
      ...(options.signedStatementsPerMinute !== undefined ? { signedStatementsPerMinute: options.signedStatementsPerMinute } : {}),
      ...(options.operatorToken !== undefined ? { operatorToken: options.operatorToken } : {}),
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.now ? { now: options.now } : {}),
      log: (what, e) => console.warn(`[shop] ${what}:`, e),
    });
    const app = createShopApp({ merchant: kit.app, exchanges: ex !== undefined, fairGoods: ex?.fair ? FAIR_GOODS : [], origin, legalName, products });
    if (ex && ex.timerIntervalMs !== 0) kit.start(ex.timerIntervalMs ?? 1000);
    return {
      app,
      kit,
      identity,
      store,
      deals,
      close: async () => {
        await kit.stop();
        await deals?.close();
        store.close();
      },
    };
  } catch (e) {
    await deals?.close();
    store.close();
    throw e;
  }
}

export { PRODUCTS, SHOP_LEGAL_NAME, SHOP_TITLE, shopCatalog, signatureDemandOf, type ShopProduct } from './catalog.js';
