/**
 * Fair purchases in the merchant kit (goods for money through the fair exchange): the registration
 * of the merchant's fair-purchase machine (core/commerce/fair-purchase-merchant.ts, the originator
 * of the generic exchange) with its routes, its timers and its TTP requests.
 *
 *   POST /semper/fair/offer     FairOfferRequest       → { offer, ciphertext }   (idempotent)
 *   POST /semper/fair/messages  { message: Statement } → { replies: Statement[] }
 *
 * The goods key and its seal to the TTP are made here, before the step (the platform CSPRNG, not
 * the machine's random source). The TTP is asked at the URL the merchant is configured with; its
 * answer (or refusal) is the deal's next event. Due timers deliver `timeout` (the kit's tick).
 *
 * Test faults (`faults`, read on every request): `withholdKey` — the merchant takes the payment
 * (m2) and then answers nothing more: the shopper must get the key from the TTP.
 */
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import {
  fairPurchaseMerchant,
  type FairCatalog,
  type FairMerchantContext,
  type FairMerchantEffect,
  type FairMerchantEvent,
  type FairMerchantOutbound,
  type FairMerchantState,
  type FairMethod,
  FairOfferRequest,
  prepareFairOffer,
} from '../../core/commerce/index.js';
import { DEFAULT_EXCHANGE_TIMING, type ExchangeTiming } from '../../core/commerce/exchange-deal.js';
import type { PublicJwk } from '../../core/crypto/jwk.js';
import { EXCHANGE_TYPES } from '../../core/exchange/index.js';
import { Statement } from '../../core/statements/index.js';
import { readJson } from '../http/json.js';
import { ttpClient, ttpFollowUp } from './ttp-client.js';
import { jsonRoute, type DealKindRegistration, type KitEnv } from './registration.js';

export interface FairPurchaseFaults {
  withholdKey?: boolean;
}

export interface FairPurchaseOptions {
  catalog: FairCatalog;
  /** The TTP this merchant accepts, where it reaches it, and its signed sealing key (GET /ttp/sealing-key). */
  ttp: { keyId: string; url: string; certificateChain: string[]; sealingKey: Statement; sealingKeyId: string; sealingJwk: PublicJwk };
  /** How the merchant is paid: the methods it takes, the key id its bank account is bound to (default: its signing key), the bank. */
  payment: { methods: FairMethod[]; payee?: string; bank: { keyId: string; url: string }; card?: { keyId: string; url: string } };
  trustRoots: readonly string[];
  timing?: ExchangeTiming;
  offerTtlMs?: number;
  terms?: string;
  faults?: FairPurchaseFaults;
  fetch?: typeof fetch;
}

const MessageRequest = z.strictObject({ message: Statement });
const DEFAULT_OFFER_TTL_MS = 10 * 60_000;
/** m2 carries a money item (a bank proof): small. */
const FAIR_BODY_LIMIT = 64 * 1024;

function decodeFair(dealId: string, value: unknown): FairMerchantState {
  const v = value as { phase?: unknown; dealId?: unknown; offer?: { dealId?: unknown }; originator?: { role?: unknown; dealId?: unknown } } | null;
  const ok =
    typeof v === 'object' &&
    v !== null &&
    v.dealId === dealId &&
    v.offer?.dealId === dealId &&
    (v.phase === 'offered' || v.phase === 'expired' || (v.phase === 'selling' && v.originator?.role === 'originator' && v.originator.dealId === dealId));
  if (!ok) throw new SemperError('ERR_INTERNAL', `stored state of deal ${dealId} is not a fair-purchase state`);
  return value as FairMerchantState;
}

export function fairPurchaseDeals(
  options: FairPurchaseOptions,
  env: KitEnv,
): DealKindRegistration<FairMerchantState, FairMerchantEvent, FairMerchantContext, FairMerchantOutbound, FairMerchantEffect> {
  const faults = options.faults ?? {};
  const { identity, now, log } = env;

  // The TTP's answer to a request is the deal's next event; null if the TTP could not be reached (the timer asks again).
  const askTtp = ttpClient({ url: options.ttp.url, ...(options.fetch ? { fetch: options.fetch } : {}), now, log });

  return {
    kind: 'fair-purchase',
    machine: fairPurchaseMerchant,
    decode: decodeFair,
    context: () => ({
      identity,
      ttp: {
        keyId: options.ttp.keyId,
        url: options.ttp.url,
        certificateChain: options.ttp.certificateChain,
        sealingKey: options.ttp.sealingKey,
        sealingKeyId: options.ttp.sealingKeyId,
      },
      catalog: options.catalog,
      payment: {
        methods: options.payment.methods,
        payee: options.payment.payee ?? identity.signer.keyId,
        bank: options.payment.bank,
        ...(options.payment.card ? { card: options.payment.card } : {}),
      },
      offerTtlMs: options.offerTtlMs ?? DEFAULT_OFFER_TTL_MS,
      timing: options.timing ?? DEFAULT_EXCHANGE_TIMING,
      ...(options.terms ? { terms: options.terms } : {}),
      trustRoots: options.trustRoots,
      ...(env.isRevoked ? { isRevoked: env.isRevoked } : {}),
      random: env.random,
    }),
    revocationRoots: options.trustRoots,
    haltAfter: (before, after, event) =>
      faults.withholdKey === true &&
      event.type === 'message' &&
      (event.message as { type?: unknown } | null)?.type === EXCHANGE_TYPES.accept &&
      before.phase === 'selling' &&
      after.phase === 'selling' &&
      after.originator.received !== null,
    maxBodyBytes: FAIR_BODY_LIMIT,
    routes: [
      {
        path: '/semper/fair/offer',
        read: async (c, t) => {
          const request = await readJson(c, FairOfferRequest, 'fair offer request');
          // A fresh key and its seal to the TTP for this deal, from the platform CSPRNG (a repeated request keeps the stored ones).
          const prepared = await prepareFairOffer(request.dealId, options.ttp.sealingJwk, identity.signer.keyId);
          return { dealId: request.dealId, event: { type: 'offer-requested', request, prepared, now: t } };
        },
      },
      jsonRoute('/semper/fair/messages', MessageRequest, 'fair purchase message', ({ message }, t) => ({
        dealId: message.dealId,
        event: { type: 'message', message, now: t, from: 'peer' },
      })),
    ],
    timeout: (t) => ({ type: 'timeout', now: t }),
    followUp: ttpFollowUp('fair purchase', env, askTtp),
  };
}
