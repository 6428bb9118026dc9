/**
 * Purchases in the worker's host: the shopper's purchase machine (core/commerce/shopper.ts) and
 * what the host needs to run it. The trusted window stays open while the order is on its way
 * ('ordering'), showing progress; a page may have 3 purchases unfinished and start 20 a minute.
 */
import {
  purchaseShopper,
  type PurchaseParams,
  type ShopperContext,
  type ShopperEvent,
  type ShopperPolicy,
  type ShopperState,
} from '../../core/commerce/shopper.js';
import type { Signer } from '../../core/crypto/keys.js';
import type { RandomSource } from '../../core/machine.js';
import type { RevocationCheck } from '../../core/pki/certificates.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/index.js';
import type { DealKindRegistration, EventShape } from '../worker/host.js';

/** A confirmation from the trusted window; `anonymous`: sign with this origin's pseudonym. */
export type PurchaseUserEvent =
  | Extract<ShopperEvent, { type: 'order-signed' | 'user-rejected' | 'user-confirmed-cheque' }>
  | { type: 'user-confirmed'; now: number; anonymous?: boolean };

export interface PurchaseKindDeps {
  /** Trusted roots (a setting, read fresh). */
  roots(): Promise<string[]>;
  /** The key that signs the order: the identity key, or the origin's pseudonym for an anonymous deal. */
  signer(origin: string, anonymous: boolean): Promise<Signer>;
  policy(): Promise<ShopperPolicy>;
  webauthn?: WebAuthnStatementVerifier;
  isRevoked?: RevocationCheck;
  random: RandomSource;
}

export const MAX_ACTIVE_PER_ORIGIN = 3;
export const MAX_PER_ORIGIN_PER_WINDOW = 20;
export const RATE_WINDOW_MS = 60_000;

export function purchaseKind(
  deps: PurchaseKindDeps,
): DealKindRegistration<ShopperState, PurchaseUserEvent | ShopperEvent, ShopperContext, Omit<PurchaseParams, 'origin' | 'now'>> {
  return {
    kind: 'purchase',
    machine: purchaseShopper,
    async context(deal, event?: EventShape) {
      const anonymous = event?.type === 'user-confirmed' && (event as { anonymous?: unknown }).anonymous === true;
      return {
        random: deps.random,
        roots: await deps.roots(),
        signer: await deps.signer(deal.origin, anonymous),
        policy: await deps.policy(),
        ...(deps.webauthn ? { webauthn: deps.webauthn } : {}),
        ...(deps.isRevoked ? { isRevoked: deps.isRevoked } : {}),
      };
    },
    roots: (ctx) => ctx.roots,
    holdsWindow: (state) => state.phase === 'awaiting-confirmation' || state.phase === 'ordering',
    maxActivePerOrigin: MAX_ACTIVE_PER_ORIGIN,
    maxPerOriginPerWindow: MAX_PER_ORIGIN_PER_WINDOW,
    rateWindowMs: RATE_WINDOW_MS,
    noun: 'purchases',
  };
}
