/**
 * The generic payment service (issue 9): pluggable payment modules, one per method (cash-like,
 * account-based, cheque-like), each declaring what a TTP can do with a payment made through it
 * (the exchange-enabling properties of core/items/properties.ts) so the fair exchange can pick a
 * protocol before any money moves. Modules are sans-IO: their protocols are machines on the one
 * contract (core/machine.ts) or pure functions; hosts do the I/O.
 */
import type { ExchangeProperties } from '../items/properties.js';
import type { Amount, PaymentMethod } from '../items/schema.js';

/** What a module declares about itself. */
export interface PaymentModule {
  method: PaymentMethod;
  /** What a TTP can do with a transfer of this module's money (paper §3.4). */
  properties: ExchangeProperties;
  /** One line for settings and logs. */
  description: string;
}

/** A module with money the shopper could pay with now (the wallet's or the account's balance). */
export interface AvailableFunds {
  method: PaymentMethod;
  balance: Amount;
}

/** Why no payment method could be chosen; `ERR_PAYMENT_METHOD` on the wire. */
export type PaymentRefusalReason =
  /** The merchant takes no method at all. */
  | 'nothing-offered'
  /** Nothing the merchant takes is allowed by the shopper's settings. */
  | 'not-allowed'
  /** Allowed methods exist, but no installed module implements them. */
  | 'no-module'
  /** Allowed, implemented, but no module holds enough money in the price's currency. */
  | 'insufficient-funds';

export type PaymentChoice =
  | { ok: true; method: PaymentMethod; module: PaymentModule }
  | { ok: false; code: 'ERR_PAYMENT_METHOD'; reason: PaymentRefusalReason; message: string };

/** A payment's life as any module reports it (`status`). */
export type PaymentStatus =
  /** Nothing has left the payer. */
  | { phase: 'prepared' }
  /** The payment left the payer (coins spent, a transfer ordered): it may or may not have arrived. */
  | { phase: 'sent' }
  /** The bank confirmed it: `proof` is its signed `semper.payment.proof`. */
  | { phase: 'settled'; proof: unknown }
  /** Settled, then given back (a card payment refunded through the acquirer): `refund` is the signed refund receipt. */
  | { phase: 'refunded'; proof: unknown; refund: unknown }
  /** Refused for good; nothing was taken (or it was given back). */
  | { phase: 'refused'; code: string; message: string };
