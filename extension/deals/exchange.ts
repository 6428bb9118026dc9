/**
 * Exchange deals (certified mail, contract signing) in the worker's host: the shopper's
 * exchange-deal machine (core/commerce/exchange-shopper.ts), the shopper as originator of the
 * generic fair exchange. Once the user confirmed, the trusted window closes and the exchange runs
 * on (it may wait for the TTP for minutes); its timers are the host's alarms.
 *
 * `ttpDealKind` is what every kind of deal run through the fair exchange shares (exchange deals,
 * fair purchases): signed with the identity key, the user's trusted TTPs, and the roots the deal
 * was agreed under kept valid for it.
 */
import {
  exchangeShopper,
  type ExchangeDealEvent,
  type ExchangeDealParams,
  type ExchangeDealState,
  type ExchangeShopperContext,
} from '../../core/commerce/exchange-shopper.js';
import type { TrustedTtpEntry } from '../../core/commerce/exchange-deal.js';
import type { TtpPolicy } from '../../core/commerce/ttp-policy.js';
import type { Signer } from '../../core/crypto/keys.js';
import type { RandomSource } from '../../core/machine.js';
import type { RevocationCheck } from '../../core/pki/certificates.js';
import type { DealKind } from './records.js';
import type { DealKindRegistration, EventShape, StateShape } from '../worker/host.js';
import { MAX_ACTIVE_PER_ORIGIN, MAX_PER_ORIGIN_PER_WINDOW, RATE_WINDOW_MS } from './purchase.js';

export interface ExchangeKindDeps {
  roots(): Promise<string[]>;
  /** The identity key (exchanges are signed with it). */
  signer(): Promise<Signer>;
  ttps(): Promise<TrustedTtpEntry[]>;
  /** Which trusted TTPs may guarantee an exchange, and k (extension/settings/ttp-trust.ts); absent: none (fair purchases). */
  ttpPolicy?(): Promise<TtpPolicy | null>;
  isRevoked?: RevocationCheck;
  random: RandomSource;
}

/** The context every fair-exchange deal's machine takes. */
export interface TtpDealContext {
  random: RandomSource;
  roots: readonly string[];
  signer: Signer;
  ttps: readonly TrustedTtpEntry[];
  ttpPolicy?: TtpPolicy | null;
  isRevoked?: RevocationCheck;
}

export function ttpDealKind<S extends StateShape, E extends EventShape, C extends TtpDealContext, P>(
  kind: DealKind,
  machine: DealKindRegistration<S, E, C, P>['machine'],
  noun: string,
  deps: ExchangeKindDeps,
): DealKindRegistration<S, E, C, P> {
  return {
    kind,
    machine,
    async context() {
      return {
        random: deps.random,
        roots: await deps.roots(),
        signer: await deps.signer(),
        ttps: await deps.ttps(),
        ...(deps.ttpPolicy ? { ttpPolicy: await deps.ttpPolicy() } : {}),
        ...(deps.isRevoked ? { isRevoked: deps.isRevoked } : {}),
      } as TtpDealContext as C;
    },
    // The roots the deal was agreed under stay valid for it.
    roots: (ctx, state) => {
      const agreed = state && 'agreement' in state ? (state as { agreement?: { roots: string[] } }).agreement : undefined;
      return agreed ? [...new Set([...agreed.roots, ...ctx.roots])] : ctx.roots;
    },
    holdsWindow: (state) => state.phase === 'awaiting-confirmation',
    maxActivePerOrigin: MAX_ACTIVE_PER_ORIGIN,
    maxPerOriginPerWindow: MAX_PER_ORIGIN_PER_WINDOW,
    rateWindowMs: RATE_WINDOW_MS,
    noun,
  };
}

export function exchangeKind(
  deps: ExchangeKindDeps,
): DealKindRegistration<ExchangeDealState, ExchangeDealEvent, ExchangeShopperContext, Omit<ExchangeDealParams, 'origin' | 'now'>> {
  return ttpDealKind('exchange', exchangeShopper, 'exchanges', deps);
}
