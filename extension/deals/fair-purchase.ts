/**
 * Fair purchases (goods for money) in the worker's host: the shopper's fair-purchase machine
 * (core/commerce/fair-purchase-shopper.ts), the shopper as *responder* of the generic exchange who
 * pays only once m1 binds the merchant. The payment is the machine's `pay` send, which the worker's
 * transport hands to the payment service (extension/payments: the purse's e-cash); once the user
 * confirmed, the trusted window closes and the purchase runs on (it may wait for the TTP), its
 * timers the host's alarms.
 */
import {
  fairPurchaseShopper,
  type FairPurchaseParams,
  type FairShopperContext,
  type FairShopperEvent,
  type FairShopperState,
} from '../../core/commerce/fair-purchase-shopper.js';
import type { DealKindRegistration } from '../worker/host.js';
import { type ExchangeKindDeps, ttpDealKind } from './exchange.js';

export function fairPurchaseKind(
  deps: ExchangeKindDeps,
): DealKindRegistration<FairShopperState, FairShopperEvent, FairShopperContext, Omit<FairPurchaseParams, 'origin' | 'now'>> {
  return ttpDealKind('fair-purchase', fairPurchaseShopper, 'fair purchases', deps);
}
