/**
 * Fair purchases (goods for money) in the worker's host: the shopper's fair-purchase machine
 * (core/commerce/fair-purchase-shopper.ts), the shopper as *responder* of the generic exchange who
 * pays only once m1 binds the merchant. The payment is the machine's `pay` send, which the worker's
 * transport hands to the payment service (the purse for cash, the bank account for transfers);
 * once the user confirmed, the trusted window closes and the purchase runs on (it may wait for
 * the TTP), its timers the host's alarms.
 */
import {
  fairPurchaseShopper,
  type FairPurchaseParams,
  type FairShopperContext,
  type FairShopperEvent,
  type FairShopperState,
} from '../../core/commerce/fair-purchase-shopper.js';
import type { TrustedTtpEntry } from '../../core/commerce/exchange-deal.js';
import type { Signer } from '../../core/crypto/keys.js';
import type { RandomSource } from '../../core/machine.js';
import type { RevocationCheck } from '../../core/pki/certificates.js';
import type { DealKindRegistration } from '../worker/host.js';
import { MAX_ACTIVE_PER_ORIGIN, MAX_PER_ORIGIN_PER_WINDOW, RATE_WINDOW_MS } from './purchase.js';

export interface FairPurchaseKindDeps {
  roots(): Promise<string[]>;
  /** The identity key (the start, m2 and any complaint are signed with it). */
  signer(): Promise<Signer>;
  ttps(): Promise<TrustedTtpEntry[]>;
  isRevoked?: RevocationCheck;
  random: RandomSource;
}

export function fairPurchaseKind(
  deps: FairPurchaseKindDeps,
): DealKindRegistration<FairShopperState, FairShopperEvent, FairShopperContext, Omit<FairPurchaseParams, 'origin' | 'now'>> {
  return {
    kind: 'fair-purchase',
    machine: fairPurchaseShopper,
    async context() {
      return {
        random: deps.random,
        roots: await deps.roots(),
        signer: await deps.signer(),
        ttps: await deps.ttps(),
        ...(deps.isRevoked ? { isRevoked: deps.isRevoked } : {}),
      };
    },
    // The roots the purchase was agreed under stay valid for it.
    roots: (ctx, state) => (state && 'agreement' in state && state.agreement ? [...new Set([...state.agreement.roots, ...ctx.roots])] : ctx.roots),
    holdsWindow: (state) => state.phase === 'awaiting-confirmation',
    maxActivePerOrigin: MAX_ACTIVE_PER_ORIGIN,
    maxPerOriginPerWindow: MAX_PER_ORIGIN_PER_WINDOW,
    rateWindowMs: RATE_WINDOW_MS,
    noun: 'fair purchases',
  };
}
