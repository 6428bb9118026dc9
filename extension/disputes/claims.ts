/**
 * Which claims a shopper can bring for a deal of each kind (core/arbiter claims; order-denied and
 * payment-not-received are the merchant's). Plain data: the popup imports it too.
 */
import type { Claim } from '../../core/arbiter/statements.js';

export type DisputeDealKind = 'purchase' | 'fair-purchase' | 'exchange';

export const SHOPPER_CLAIMS: Record<DisputeDealKind, readonly Claim[]> = {
  purchase: ['goods-not-delivered', 'goods-mismatch', 'offer-denied'],
  'fair-purchase': ['goods-not-delivered', 'goods-mismatch', 'offer-denied', 'ttp-conflict'],
  exchange: ['contract-signed', 'ttp-conflict'],
};

export function claimsFor(kind: string): readonly Claim[] {
  return kind in SHOPPER_CLAIMS ? SHOPPER_CLAIMS[kind as DisputeDealKind] : [];
}
