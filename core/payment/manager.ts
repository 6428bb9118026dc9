/**
 * Negotiation and the generic API of the payment service.
 *
 *   choosePaymentMethod(offered, allowed, available, price?)
 *     offered    what the merchant takes (its offer's payment methods)
 *     allowed    what the shopper's settings allow, in the shopper's order of preference
 *     available  the installed modules, with the funds each holds
 *   → the first allowed method the merchant takes that a module implements and can pay, or a
 *     typed refusal naming the first rule that failed (nothing offered, nothing allowed, no
 *     module, not enough money).
 *
 * `PaymentApi` is the shape every module's driver presents to the host (pay / receive / refund /
 * status); the cash module's is `cashPayment` (cash/index.ts). The extension wiring is later work.
 */
import { SemperError } from '../errors.js';
import type { Amount, PaymentMethod } from '../items/schema.js';
import type { AvailableFunds, PaymentChoice, PaymentModule, PaymentStatus } from './types.js';

export function choosePaymentMethod(
  offered: readonly PaymentMethod[],
  allowed: readonly PaymentMethod[],
  available: readonly { module: PaymentModule; funds?: AvailableFunds }[],
  price?: Amount,
): PaymentChoice {
  if (offered.length === 0) return refuse('nothing-offered', 'the merchant takes no payment method');
  const acceptable = allowed.filter((m) => offered.includes(m));
  if (acceptable.length === 0)
    return refuse('not-allowed', `the merchant takes ${offered.join(', ')}; the shopper's settings allow ${allowed.join(', ') || 'none'}`);
  const implemented = acceptable.filter((m) => available.some((a) => a.module.method === m));
  if (implemented.length === 0) return refuse('no-module', `no payment module for ${acceptable.join(', ')}`);
  for (const method of implemented) {
    for (const a of available) {
      if (a.module.method !== method) continue;
      if (price && !covers(a.funds?.balance, price)) continue;
      return { ok: true, method, module: a.module };
    }
  }
  return refuse('insufficient-funds', `no module holds ${price?.amount} ${price?.currency} for ${implemented.join(', ')}`);
}

function covers(balance: Amount | undefined, price: Amount): boolean {
  return balance !== undefined && balance.currency === price.currency && balance.amount >= price.amount;
}

function refuse(reason: Extract<PaymentChoice, { ok: false }>['reason'], message: string): PaymentChoice {
  return { ok: false, code: 'ERR_PAYMENT_METHOD', reason, message };
}

/** The choice, or its refusal as a SemperError (for callers that throw). */
export function requirePaymentMethod(...args: Parameters<typeof choosePaymentMethod>): PaymentModule {
  const choice = choosePaymentMethod(...args);
  if (!choice.ok) throw new SemperError(choice.code, `${choice.reason}: ${choice.message}`, { reason: choice.reason });
  return choice.module;
}

/** What any payment asks for: so much, to this payee (key id), for this reference (deal id). */
export interface PayRequest {
  amount: Amount;
  payee: string;
  reference: string;
  now: number;
}

/**
 * The generic API a module's driver presents, as functions without I/O over the module's own
 * state `W` (a wallet, an account mandate): what a host calls, whatever the method.
 *   pay      the payer's side: the next state and what to send the payee (the host persists, then sends)
 *   receive  the payee's side: check what arrived against what is owed (refusals are SemperErrors)
 *   refund   the payee's side: authorise giving money back for a reference
 *   status   what the payer knows of the payment for a reference
 */
export interface PaymentApi<W, Payment, Received, RefundRequest, Refund> {
  module: PaymentModule;
  pay(wallet: W, request: PayRequest): Promise<{ wallet: W; payment: Payment }>;
  receive(payment: unknown, expected: PayRequest): Promise<Received>;
  refund(request: RefundRequest): Promise<Refund>;
  status(wallet: W, reference: string): PaymentStatus;
}
