/**
 * Exchange deals in the merchant kit (certified mail, contract signing): the registration of the
 * merchant's exchange-deal machine (core/commerce/exchange-merchant.ts, the responder of the
 * generic fair exchange) with its routes, its timers and its TTP requests.
 *
 *   POST /semper/exchange/descriptor  DescriptorRequest      → { descriptor }   (idempotent)
 *   POST /semper/exchange/messages    { message: Statement } → { replies: Statement[] }
 *
 * The TTP is asked at the URL the merchant is configured with, never one a message names; its
 * answer (or refusal) is the deal's next event. Due timers deliver `timeout` (the kit's tick).
 *
 * Test faults (`faults`, read on every request so a test can switch them):
 *   stopAfter: 'receiving-proposal'         the merchant processes m1, then answers nothing more
 *   stopAfter: 'receiving-originator-item'  the merchant takes the shopper's item (m3), then stops
 *   descriptorOrigin                        descriptors name this origin instead of the merchant's
 *   arrived                                 a list every request's body is appended to (what arrived)
 * A stopped (halted) deal answers 503 and runs no timers: the shopper must get its due from the TTP.
 */
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import {
  exchangeMerchant,
  type ExchangeMerchantContext,
  type ExchangeMerchantEffect,
  type ExchangeMerchantEvent,
  type ExchangeMerchantOutbound,
  type ExchangeMerchantState,
} from '../../core/commerce/exchange-merchant.js';
import { DEFAULT_EXCHANGE_TIMING, DescriptorRequest, type ExchangeCatalog, type ExchangeTiming } from '../../core/commerce/exchange-deal.js';
import { EXCHANGE_TYPES } from '../../core/exchange/index.js';
import { Statement } from '../../core/statements/index.js';
import { ttpClient, ttpFollowUp } from './ttp-client.js';
import { jsonRoute, type DealKindRegistration, type KitEnv } from './registration.js';

export interface ExchangeFaults {
  stopAfter?: 'receiving-proposal' | 'receiving-originator-item';
  descriptorOrigin?: string;
  /** When set, every exchange request that reaches a route (its parsed body) is appended: a test's view of what the merchant learnt. */
  arrived?: { path: string; body: unknown }[];
}

export interface ExchangeOptions {
  catalog: ExchangeCatalog;
  /** The TTP this merchant accepts, and where it reaches it. */
  ttp: { keyId: string; url: string; certificateChain: string[] };
  /**
   * k-of-n (docs/quorum.md): the TTPs it also accepts as a set (the first is `ttp`) and the fewest that must agree.
   * Each is asked at its own URL; a shopper's m1 may name a set of these with at least k.
   */
  quorum?: { k: number; ttps: { keyId: string; url: string; certificateChain: string[] }[] };
  /** Roots for certified signers in exchange messages (the TTP's chain, certified items). */
  trustRoots: readonly string[];
  timing?: ExchangeTiming;
  /** How long a descriptor may be confirmed (default 10 minutes). */
  descriptorTtlMs?: number;
  terms?: string;
  faults?: ExchangeFaults;
  /** How the merchant POSTs to the TTP (default: global fetch). */
  fetch?: typeof fetch;
}

const MessageRequest = z.strictObject({ message: Statement });
const DEFAULT_DESCRIPTOR_TTL_MS = 10 * 60_000;
const EXCHANGE_BODY_LIMIT = 256 * 1024;

function decodeExchange(dealId: string, value: unknown): ExchangeMerchantState {
  const v = value as {
    phase?: unknown;
    dealId?: unknown;
    descriptor?: { dealId?: unknown };
    responder?: { v?: unknown; role?: unknown; dealId?: unknown };
  } | null;
  const r = v?.responder;
  const ok =
    typeof v === 'object' &&
    v !== null &&
    v.dealId === dealId &&
    v.descriptor?.dealId === dealId &&
    (v.phase === 'offered' || v.phase === 'expired' || (v.phase === 'responding' && r?.v === 1 && r.role === 'responder' && r.dealId === dealId));
  if (!ok) throw new SemperError('ERR_INTERNAL', `stored state of deal ${dealId} is not an exchange state`);
  return value as ExchangeMerchantState;
}

function isPropose(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === EXCHANGE_TYPES.propose;
}

/** The test faults that halt an exchange deal, checked after each shopper message. */
function haltsOn(faults: ExchangeFaults) {
  return (before: ExchangeMerchantState, after: ExchangeMerchantState, event: ExchangeMerchantEvent): boolean => {
    if (event.type !== 'message' || event.from !== 'peer' || after.phase !== 'responding') return false;
    switch (faults.stopAfter) {
      case 'receiving-proposal':
        return isPropose(event.message) && before.phase === 'offered';
      case 'receiving-originator-item':
        return before.phase === 'responding' && before.responder.received === null && after.responder.received !== null;
      default:
        return false;
    }
  };
}

/** The kit's registration of exchange deals. */
export function exchangeDeals(
  options: ExchangeOptions,
  env: KitEnv,
): DealKindRegistration<ExchangeMerchantState, ExchangeMerchantEvent, ExchangeMerchantContext, ExchangeMerchantOutbound, ExchangeMerchantEffect> {
  const faults = options.faults ?? {};
  const { identity, now, log } = env;

  if (options.quorum) {
    const q = options.quorum;
    if (q.ttps[0]?.keyId !== options.ttp.keyId) throw new SemperError('ERR_TTP', 'exchange options: the first TTP of the set is `ttp`');
    if (new Set(q.ttps.map((t) => t.keyId)).size !== q.ttps.length || 2 * q.k <= q.ttps.length || q.k > q.ttps.length)
      throw new SemperError('ERR_TTP', `exchange options: k=${q.k} of ${q.ttps.length} distinct TTPs must be more than half and at most all`);
  }
  // The TTP's answer to a request is the deal's next event; null if the TTP could not be reached (the timer asks again).
  // k-of-n: each TTP of the set at its own configured URL, never one a message names.
  const client = (url: string) => ttpClient({ url, ...(options.fetch ? { fetch: options.fetch } : {}), now, log });
  const clients = new Map((options.quorum?.ttps ?? [options.ttp]).map((t) => [t.keyId, client(t.url)]));
  const askOne = client(options.ttp.url);
  const askTtp = (what: string, request: Statement, ttp?: string) => {
    const ask = ttp === undefined ? askOne : clients.get(ttp);
    if (!ask) throw new SemperError('ERR_TTP', `a request for TTP ${ttp}, which this merchant does not accept`);
    return ask(what, request);
  };

  return {
    kind: 'exchange',
    machine: exchangeMerchant,
    decode: decodeExchange,
    context: () => ({
      identity: faults.descriptorOrigin ? { ...identity, origin: faults.descriptorOrigin } : identity,
      ttp: options.ttp,
      ...(options.quorum ? { quorum: options.quorum } : {}),
      catalog: options.catalog,
      descriptorTtlMs: options.descriptorTtlMs ?? DEFAULT_DESCRIPTOR_TTL_MS,
      timing: options.timing ?? DEFAULT_EXCHANGE_TIMING,
      ...(options.terms ? { terms: options.terms } : {}),
      trustRoots: options.trustRoots,
      ...(env.isRevoked ? { isRevoked: env.isRevoked } : {}),
      random: env.random,
    }),
    revocationRoots: options.trustRoots,
    haltAfter: haltsOn(faults),
    maxBodyBytes: EXCHANGE_BODY_LIMIT,
    routes: [
      jsonRoute('/semper/exchange/descriptor', DescriptorRequest, 'exchange descriptor request', (request, t) => {
        faults.arrived?.push({ path: '/semper/exchange/descriptor', body: request });
        return { dealId: request.dealId, event: { type: 'descriptor-requested', request, now: t } };
      }),
      jsonRoute('/semper/exchange/messages', MessageRequest, 'exchange message', ({ message }, t) => {
        faults.arrived?.push({ path: '/semper/exchange/messages', body: { message } });
        return { dealId: message.dealId, event: { type: 'message', message, now: t, from: 'peer' } };
      }),
    ],
    timeout: (t) => ({ type: 'timeout', now: t }),
    followUp: ttpFollowUp('exchange', env, askTtp),
  };
}
