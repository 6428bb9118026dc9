/**
 * The worker's payment service as the deals see it (paper §3.6: the payment manager): a fair
 * purchase's `pay` send is handed here, and the trusted window asks what each method can pay. The
 * implementations (the e-cash purse, the bank account) live with the wallet; a deal never names a
 * payment system beyond the method the user chose.
 *
 * Contract of `pay`: all or nothing — the answer is the money item (the bank's proof), or an error
 * after which no money moved; and idempotent by `request.reference` (the deal): asked again after a
 * worker restart, it finishes or repeats the same payment, never a second one.
 */
import type { PaymentRequest } from '../../core/commerce/fair-purchase-shopper.js';
import type { FairMethod } from '../../core/commerce/fair-purchase.js';
import type { Amount } from '../../core/items/schema.js';
import type { TransportReply } from '../../core/machine.js';
import type { ChequePayRequest } from '../../core/commerce/shopper.js';
import { SemperError } from '../../core/errors.js';
import type { Statement } from '../../core/statements/index.js';

export interface MethodFunds {
  method: FairMethod;
  /** Can this method pay `amount` at this bank now (a purse or an account there, with enough in it)? */
  available: boolean;
  /** What is there to pay from, in the bank's currency (absent: nothing set up at this bank). */
  balance?: Amount;
  /** Why not, when not available: 'no-purse' | 'no-account' | 'no-card' | 'insufficient-funds' | 'other-currency'. */
  reason?: string;
}

export interface PaymentService {
  pay(request: PaymentRequest): Promise<TransportReply>;
  /** A cheque for a purchase paid by cheque, drawn on the account at the offer's bank (throws a typed error when there is none). */
  cheque(request: ChequePayRequest): Promise<Statement>;
  /** `card`: the card adapter the offer names (method card). */
  funds(bank: { keyId: string; url: string }, amount: Amount, methods: readonly FairMethod[], card?: { keyId: string; url: string }): Promise<MethodFunds[]>;
}

/** No wallet in this build: every method unavailable, every payment refused (nothing moves). */
export const NO_PAYMENTS: PaymentService = {
  async pay() {
    return { kind: 'error', error: { code: 'ERR_PAYMENT_METHOD', message: 'no purse or bank account is set up in Semper' }, status: 409 };
  },
  async cheque() {
    throw new SemperError('ERR_PAYMENT_METHOD', 'no bank account is set up in Semper');
  },
  async funds(_bank, _amount, methods) {
    return methods.map((method) => ({ method, available: false, reason: method === 'cash' ? 'no-purse' : method === 'card' ? 'no-card' : 'no-account' }));
  },
};
