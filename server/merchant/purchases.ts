/**
 * Purchases in the merchant kit: the registration of the merchant's purchase machine
 * (core/commerce/merchant.ts: offer → order → confirmation and delivery) with its routes.
 *
 *   POST /semper/offer   OfferRequest  → { offer }
 *   POST /semper/order   { order, cheque? } → { confirmation, delivery[, clearing] }   (idempotent)
 *        paid by cheque: the first answer is { clearing: 'pending' } while the kit presents the cheque
 *        at the bank it is configured with (never one a message names); the shopper sends the same
 *        order again and gets the confirmation (naming the bank's proof) once the cheque cleared, or
 *        the refusal (ERR_CHEQUE_BOUNCED with the reason) — nothing is delivered before clearing.
 *        the order is signed by a device key (jwk), a shopper certificate (x509, if `shopperTrust`,
 *        revocation from the kit's `revocation`) or a hardware token (webauthn-ES256, if `webauthn`)
 */
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import {
  purchaseMerchant,
  type CatalogItem,
  type MerchantContext,
  type MerchantDealState,
  type MerchantEvent,
  type MerchantOutbound,
} from '../../core/commerce/merchant.js';
import { OfferRequest } from '../../core/protocol/commerce.js';
import { Statement, type WebAuthnStatementVerifier } from '../../core/statements/index.js';
import { DEFAULT_BODY_LIMIT } from '../http/json.js';
import { jsonRoute, type DealKindRegistration, type KitEnv } from './registration.js';

export interface MerchantCatalog {
  lookup(sku: string): CatalogItem | undefined;
  /** The terms every offer carries (and the shopper signs by ordering). */
  terms: string;
}

export interface PurchaseOptions {
  catalog: MerchantCatalog;
  /** How long an offer may be accepted. */
  offerTtlMs: number;
  /** Accept orders signed with hardware tokens (`webauthn-ES256`, core/crypto/webauthn.ts). */
  webauthn?: WebAuthnStatementVerifier;
  /**
   * Accept orders signed with a shopper certificate (`x509` signer, role shopper) chaining to
   * these roots at the time of the order, and not revoked per the kit's `revocation`. Absent:
   * certified orders are refused (ERR_CERT_UNTRUSTED).
   */
  shopperTrust?: { roots: readonly string[] };
  /** Which offers demand a hardware-token signature on the order (signed into the offer as `orderSignature`). */
  requireHardwareToken?: MerchantContext['requireHardwareToken'];
  /** Take cheques made out to the merchant's signing key, cleared at this bank (the kit presents them there). */
  cheque?: { bank: { keyId: string; url: string } };
  fetch?: typeof fetch;
}

/** `POST /semper/order` body. The statement is fully verified by the machine; here only its shape. */
const OrderRequest = z.strictObject({ order: Statement, cheque: z.optional(Statement) });
const BANK_TIMEOUT_MS = 10_000;

/** Present a cheque at the bank: its answer is the deal's next event; none (unreachable, busy) leaves it clearing. */
export async function presentAtBank(bankUrl: string, request: unknown, now: () => number, doFetch: typeof fetch): Promise<MerchantEvent | null> {
  const response = await doFetch(new URL('/bank/cheque/present', bankUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ request }),
    redirect: 'error',
    signal: AbortSignal.timeout(BANK_TIMEOUT_MS),
  });
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code?: unknown; message?: unknown };
    receipt?: unknown;
    proof?: unknown;
    bounce?: unknown;
  };
  if (response.ok) return { type: 'cheque-cleared', answer: body, now: now() };
  const code = typeof body.error?.code === 'string' ? body.error.code : 'ERR_INTERNAL';
  const message = typeof body.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`;
  // Presented before (an answer lost on the way): the bank answers with the first clearing.
  if (code === 'ERR_CHEQUE_CLEARED') return { type: 'cheque-cleared', answer: { receipt: body.receipt, proof: body.proof }, now: now() };
  if (code === 'ERR_CHEQUE_BOUNCED') return { type: 'cheque-refused', error: { code, message }, bounce: body.bounce, now: now() };
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429)
    return { type: 'cheque-refused', error: { code, message }, now: now() };
  return null;
}

/** A catalogue from a fixed list of items. */
export function catalogFromItems(items: readonly CatalogItem[], terms: string): MerchantCatalog {
  const bySku = new Map(items.map((item) => [item.sku, item]));
  if (bySku.size !== items.length) throw new SemperError('ERR_SCHEMA', 'catalogue lists a SKU twice');
  return { lookup: (sku) => bySku.get(sku), terms };
}

/** Our own rows, but a hand-edited or truncated file must not be acted on as if it were sound. */
function decodePurchase(dealId: string, value: unknown): MerchantDealState {
  const v = value as Partial<Record<'phase' | 'dealId', unknown>> | null;
  if (typeof v !== 'object' || v === null || !['offered', 'confirmed', 'clearing', 'refused'].includes(v.phase as string) || v.dealId !== dealId) {
    throw new SemperError('ERR_INTERNAL', `stored state of deal ${dealId} is not a purchase state`);
  }
  return value as MerchantDealState;
}

/** The kit's registration of purchases. */
export function purchaseDeals(
  options: PurchaseOptions,
  { identity, random, isRevoked, now, log, track, stamps }: KitEnv,
): DealKindRegistration<MerchantDealState, MerchantEvent, MerchantContext, MerchantOutbound, never> {
  if (!(options.offerTtlMs > 0)) throw new SemperError('ERR_SCHEMA', 'offerTtlMs must be positive');
  const roots = options.shopperTrust?.roots;
  return {
    kind: 'purchase',
    machine: purchaseMerchant,
    decode: decodePurchase,
    context: () => ({
      identity,
      lookup: (sku) => options.catalog.lookup(sku),
      offerTtlMs: options.offerTtlMs,
      terms: options.catalog.terms,
      random,
      ...(options.webauthn ? { webauthn: options.webauthn } : {}),
      ...(roots ? { trust: { roots, ...(isRevoked ? { isRevoked } : {}) } } : {}),
      ...(options.requireHardwareToken ? { requireHardwareToken: options.requireHardwareToken } : {}),
      ...(options.cheque ? { cheque: options.cheque } : {}),
    }),
    ...(roots ? { revocationRoots: roots } : {}),
    maxBodyBytes: DEFAULT_BODY_LIMIT,
    routes: [
      jsonRoute('/semper/offer', OfferRequest, 'offer request', (request, now) => ({
        dealId: request.dealId,
        event: { type: 'offer-requested', request, now },
      })),
      jsonRoute('/semper/order', OrderRequest, 'order request', ({ order, cheque }, t) => ({
        dealId: order.dealId,
        event: { type: 'order-received', order, ...(cheque ? { cheque } : {}), now: t },
      })),
    ],
    followUp: (dealId, step, run) => {
      if (step.kind !== 'stepped') return;
      // The shopper's order, once accepted, is what a dispute turns on: stamped (once) by the TSA.
      if (stamps && step.state.phase === 'confirmed') stamps.stampLater(step.state.order);
      if (!options.cheque) return;
      const bankUrl = options.cheque.bank.url;
      for (const o of step.send) {
        if (o.to !== 'bank') continue;
        track(
          presentAtBank(bankUrl, o.body.request, now, options.fetch ?? fetch)
            .then((event) => event && run(dealId, event))
            .catch((e: unknown) => log(`cheque of deal ${dealId}`, e)),
        );
      }
    },
  };
}
