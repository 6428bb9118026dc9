/** Shared pieces of the account and cheque tests: signed transfer orders, TTP revocation orders, cheques, presentments. */
import type { Signer } from '../../../core/crypto/index.js';
import { randomId } from '../../../core/encoding/index.js';
import { TTP_TYPES } from '../../../core/exchange/messages.js';
import type { Amount } from '../../../core/items/schema.js';
import { transferOrder } from '../../../core/payment/account/index.js';
import { cheque, presentCheque } from '../../../core/payment/cheque/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { CURRENCY, type Customer, DAY, T0 } from './helpers.js';

export const chf = (amount: number): Amount => ({ amount, currency: CURRENCY });

export interface OrderOptions {
  requestId?: string;
  reference?: string;
  revocableUntil?: number;
  payeeAccount?: string;
  amount?: Amount;
  /** Sign with this key instead of the payer's (attacks). */
  signedBy?: Signer;
  payerAccount?: string;
  now?: number;
}

/** A transfer order from `payer` to `payee`, signed by the payer's key (or `signedBy`). */
export async function order(payer: Customer, payee: Customer | string, value: number, o: OrderOptions = {}): Promise<Statement> {
  return deviceKeySigner(o.signedBy ?? payer.signer)(
    transferOrder({
      requestId: o.requestId ?? randomId(16),
      payer: o.payerAccount ?? payer.account,
      payee: typeof payee === 'string' ? payee : payee.keyId,
      ...(o.payeeAccount ? { payeeAccount: o.payeeAccount } : {}),
      amount: o.amount ?? chf(value),
      reference: o.reference ?? `deal-${randomId(12)}`,
      ...(o.revocableUntil !== undefined ? { revocableUntil: o.revocableUntil } : {}),
      now: o.now ?? T0,
    }),
  );
}

/** A TTP revocation order (as core/exchange/ttp.ts issues it) undoing `payer`'s account transfer to `payee`. */
export async function revocationOrder(
  ttp: Signer,
  t: { payer: string; payee: string; amount: number; reference: string; revocableUntil?: number; issuer: string; method?: 'account' | 'cash' },
  now = T0,
): Promise<Statement> {
  const m1 = (await signStatement({ type: 'semper.exchange.propose', version: 1, dealId: t.reference, issuedAt: nowIso(now), body: {} }, ttp)) as Statement;
  return (await signStatement(
    {
      type: TTP_TYPES.revocationOrder,
      version: 1,
      dealId: t.reference,
      issuedAt: nowIso(now),
      body: {
        exchangeId: 'E'.repeat(43),
        protocol: 'revocable-revocable',
        m1,
        revoke: [
          {
            giver: t.payer,
            description: {
              kind: 'money',
              method: t.method ?? 'account',
              value: chf(t.amount),
              payee: t.payee,
              reference: t.reference,
              issuer: { keyId: t.issuer },
              revocableUntil: t.revocableUntil ?? T0 + DAY,
            },
          },
        ],
        requestedBy: t.payee,
      } as never,
    },
    ttp,
  )) as Statement;
}

export interface ChequeOptions {
  serial?: string;
  reference?: string;
  expiresAt?: number;
  signedBy?: Signer;
  drawer?: string;
  now?: number;
}

/** A cheque drawn by `drawer` to `payee`. */
export async function writeCheque(drawer: Customer, payee: Customer | string, value: number, o: ChequeOptions = {}): Promise<Statement> {
  return deviceKeySigner(o.signedBy ?? drawer.signer)(
    cheque({
      drawer: o.drawer ?? drawer.account,
      serial: o.serial ?? randomId(9),
      payee: typeof payee === 'string' ? payee : payee.keyId,
      amount: chf(value),
      reference: o.reference ?? `deal-${randomId(12)}`,
      expiresAt: o.expiresAt ?? T0 + 30 * DAY,
      now: o.now ?? T0,
    }),
  );
}

/** The presentment of `c` signed by `by` (the payee, or anyone for attacks). */
export function present(c: Statement, by: Signer, now = T0): Promise<Statement> {
  return presentCheque(c, deviceKeySigner(by), now);
}
