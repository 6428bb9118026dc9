/**
 * Exchange deals (certified mail, contract signing) in the worker's host: the shopper's
 * exchange-deal machine (core/commerce/exchange-shopper.ts), the shopper as originator of the
 * generic fair exchange. Once the user confirmed, the trusted window closes and the exchange runs
 * on (it may wait for the TTP for minutes); its timers are the host's alarms.
 */
import {
  exchangeShopper,
  type ExchangeDealEvent,
  type ExchangeDealParams,
  type ExchangeDealState,
  type ExchangeShopperContext,
} from '../../core/commerce/exchange-shopper.js';
import type { TrustedTtpEntry } from '../../core/commerce/exchange-deal.js';
import type { Signer } from '../../core/crypto/keys.js';
import type { RandomSource } from '../../core/machine.js';
import type { RevocationCheck } from '../../core/pki/certificates.js';
import type { DealKindRegistration } from '../worker/host.js';
import { MAX_ACTIVE_PER_ORIGIN, MAX_PER_ORIGIN_PER_WINDOW, RATE_WINDOW_MS } from './purchase.js';

export interface ExchangeKindDeps {
  roots(): Promise<string[]>;
  /** The identity key (exchanges are signed with it). */
  signer(): Promise<Signer>;
  ttps(): Promise<TrustedTtpEntry[]>;
  isRevoked?: RevocationCheck;
  random: RandomSource;
}

export function exchangeKind(
  deps: ExchangeKindDeps,
): DealKindRegistration<ExchangeDealState, ExchangeDealEvent, ExchangeShopperContext, Omit<ExchangeDealParams, 'origin' | 'now'>> {
  return {
    kind: 'exchange',
    machine: exchangeShopper,
    async context() {
      return {
        random: deps.random,
        roots: await deps.roots(),
        signer: await deps.signer(),
        ttps: await deps.ttps(),
        ...(deps.isRevoked ? { isRevoked: deps.isRevoked } : {}),
      };
    },
    // The roots the exchange was agreed under stay valid for it (exchange-shopper.ts).
    roots: (ctx, state) => (state && 'agreement' in state && state.agreement ? [...new Set([...state.agreement.roots, ...ctx.roots])] : ctx.roots),
    holdsWindow: (state) => state.phase === 'awaiting-confirmation',
    maxActivePerOrigin: MAX_ACTIVE_PER_ORIGIN,
    maxPerOriginPerWindow: MAX_PER_ORIGIN_PER_WINDOW,
    rateWindowMs: RATE_WINDOW_MS,
    noun: 'exchanges',
  };
}
