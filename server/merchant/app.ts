/**
 * The merchant kit: a Hono sub-app any Node web shop mounts on its own origin to speak the
 * Semper purchase protocol (docs/contracts.md). It is a thin host around the sans-IO merchant
 * machine (core/commerce/merchant.ts): it validates what arrives, runs one step, persists the
 * new state atomically, and answers.
 *
 *   POST /semper/offer          OfferRequest       → { offer }
 *   POST /semper/order          { order }          → { confirmation, delivery }   (idempotent)
 *                               the order is signed by a device key (jwk), a shopper certificate
 *                               (x509, if `shopperTrust`) or a hardware token (webauthn-ES256, if
 *                               `webauthn`); 403 ERR_HARDWARE_TOKEN_REQUIRED if the offer demanded one
 *   GET  /semper/deals/:dealId                     → the stored merchant-side deal (read-only)
 *   errors                                         → { error: { code, message } }
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import { bytesEqual, utf8 } from '../../core/encoding/index.js';
import { RateLimiter, rateLimit } from '../http/rate-limit.js';
import { makeOffer, repeatedOffer, stepMerchant, type CatalogItem, type MerchantContext, type MerchantIdentity } from '../../core/commerce/merchant.js';
import { DealId, OfferRequest } from '../../core/protocol/commerce.js';
import { Statement, type WebAuthnStatementVerifier } from '../../core/statements/index.js';
import { errorResponse, handleError } from '../http/errors.js';
import { DEFAULT_BODY_LIMIT, jsonBodyLimit, readJson } from '../http/json.js';
import { KeyedLock } from './keyed-lock.js';
import type { MerchantDealStore } from './store.js';

export interface MerchantCatalog {
  lookup(sku: string): CatalogItem | undefined;
  /** The terms every offer carries (and the shopper signs by ordering). */
  terms: string;
}

export interface MerchantAppOptions {
  identity: MerchantIdentity;
  catalog: MerchantCatalog;
  store: MerchantDealStore;
  /** How long an offer may be accepted. */
  offerTtlMs: number;
  /** Clock; injectable so tests can let offers expire. */
  now?: () => number;
  /** Largest accepted POST body (default 64 KiB: an order with a certificate chain is a few KiB). */
  maxBodyBytes?: number;
  /**
   * Offers each client address may ask for per minute (default 120). Every offer is signed and
   * stored, so an unbounded offer endpoint is a free way to burn the merchant's CPU and disk.
   */
  offersPerMinute?: number;
  /** If set, `GET /semper/deals/:dealId` requires `Authorization: Bearer <token>`. */
  operatorToken?: string;
  /** Accept orders signed with hardware tokens (`webauthn-ES256`, core/crypto/webauthn.ts). */
  webauthn?: WebAuthnStatementVerifier;
  /**
   * Accept orders signed with a shopper certificate (`x509` signer, role shopper) chaining to
   * these roots at the time of the order, and not revoked per `isRevoked` (e.g. a CRL checker,
   * core/pki crlRevocationChecker). Absent: certified orders are refused (ERR_CERT_UNTRUSTED).
   */
  shopperTrust?: MerchantContext['trust'];
  /**
   * Which offers demand a hardware-token signature on the order (signed into the offer as
   * `orderSignature`); an order that does not meet it is 403 ERR_HARDWARE_TOKEN_REQUIRED.
   */
  requireHardwareToken?: MerchantContext['requireHardwareToken'];
}

/** `POST /semper/order` body. The statement is fully verified by the machine; here only its shape. */
const OrderRequest = z.strictObject({ order: Statement });

/** A catalogue from a fixed list of items. */
export function catalogFromItems(items: readonly CatalogItem[], terms: string): MerchantCatalog {
  const bySku = new Map(items.map((item) => [item.sku, item]));
  if (bySku.size !== items.length) throw new SemperError('ERR_SCHEMA', 'catalogue lists a SKU twice');
  return { lookup: (sku) => bySku.get(sku), terms };
}

/** Compare bearer tokens without revealing through timing how much of a guess was right. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const a = utf8(presented);
  const b = utf8(token);
  return a.length === b.length && bytesEqual(a, b);
}

export function createMerchantApp(options: MerchantAppOptions): Hono {
  const { identity, catalog, store, offerTtlMs } = options;
  const now = options.now ?? Date.now;
  if (!(offerTtlMs > 0)) throw new SemperError('ERR_SCHEMA', 'offerTtlMs must be positive');
  const locks = new KeyedLock();
  const context = (): MerchantContext => ({
    identity,
    lookup: (sku) => catalog.lookup(sku),
    now: now(),
    offerTtlMs,
    terms: catalog.terms,
    ...(options.webauthn ? { webauthn: options.webauthn } : {}),
    ...(options.shopperTrust ? { trust: options.shopperTrust } : {}),
    ...(options.requireHardwareToken ? { requireHardwareToken: options.requireHardwareToken } : {}),
  });

  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
  app.use('/semper/*', async (c, next) => {
    await next();
    // Offers and orders are per-shopper and signed: no cache may keep or replay them.
    c.header('cache-control', 'no-store');
    c.header('x-content-type-options', 'nosniff');
  });
  const limit = jsonBodyLimit(options.maxBodyBytes ?? DEFAULT_BODY_LIMIT);

  const offerLimiter = new RateLimiter({ limit: options.offersPerMinute ?? 120, windowMs: 60_000, now });
  app.post('/semper/offer', rateLimit(offerLimiter), limit, async (c) => {
    const request = await readJson(c, OfferRequest, 'offer request');
    return locks.run(request.dealId, async () => {
      // Cheap early answer; the insert below is what actually guarantees uniqueness.
      const existing = await store.getDeal(request.dealId);
      if (existing) {
        const again = repeatedOffer(existing.state, request, now());
        if (again) return c.json({ offer: again });
        throw new SemperError('ERR_REPLAY', `deal ${request.dealId} already has an offer`);
      }
      const { state, offer } = await makeOffer(request, context());
      if (!(await store.insertDeal(request.dealId, state))) throw new SemperError('ERR_REPLAY', `deal ${request.dealId} already has an offer`);
      return c.json({ offer });
    });
  });

  app.post('/semper/order', limit, async (c) => {
    const { order } = await readJson(c, OrderRequest, 'order request');
    const dealId = order.dealId;
    return locks.run(dealId, async () => {
      // Compare-and-set with a bounded retry: only another process on the same file can make
      // the update fail; re-reading then gives the machine the state that process committed.
      for (let attempt = 0; attempt < 3; attempt++) {
        const deal = await store.getDeal(dealId);
        if (!deal) throw new SemperError('ERR_OFFER_UNKNOWN', `no offer was made for deal ${dealId}`);
        const { state, reply } = await stepMerchant(deal.state, { type: 'order-received', order, now: now() }, context());
        // The machine hands back the very same state for a repeated identical order: nothing to write.
        if (state === deal.state || (await store.updateDeal(dealId, deal.version, state))) {
          return c.json({ confirmation: reply.confirmation, delivery: reply.delivery });
        }
      }
      throw new SemperError('ERR_INTERNAL', `deal ${dealId} kept changing under a concurrent writer`);
    });
  });

  app.get('/semper/deals/:dealId', async (c) => {
    if (options.operatorToken !== undefined && !tokenMatches(c.req.header('authorization'), options.operatorToken)) {
      c.header('www-authenticate', 'Bearer');
      return errorResponse(c, 'ERR_SIGNATURE_INVALID', 'operator token required', 401);
    }
    const parsed = DealId.safeParse(c.req.param('dealId'));
    if (!parsed.success) throw new SemperError('ERR_SCHEMA', 'deal id must be 16-64 base64url characters');
    const deal = await store.getDeal(parsed.data);
    if (!deal) throw new SemperError('ERR_NOT_FOUND', `no deal ${parsed.data}`);
    return c.json(deal);
  });

  return app;
}
