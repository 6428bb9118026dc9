/**
 * The cash-like payment module: Chaumian e-cash (RFC 9474 blind RSA), issued and redeemed by a
 * bank (server/bank). See docs/payment.md.
 *
 * Exchange-enabling properties (core/items/properties.ts): a cash payment is externally
 * verifiable (the bank's signed `semper.payment.proof` names method, value, payee and reference,
 * and anyone can check it), not generatable (a TTP holds no money), not revocable (a deposited
 * coin is gone; cash has no charge-back).
 */
import { SemperError } from '../../errors.js';
import { nowIso, signStatement, type Statement } from '../../statements/index.js';
import type { Signer } from '../../crypto/keys.js';
import type { PaymentApi } from '../manager.js';
import type { PaymentModule } from '../types.js';
import type { DenominationSet } from './denominations.js';
import { type BlindedCoin, CASH_TYPES } from './messages.js';
import { type VerifiedSpend, verifySpend } from './spend.js';
import { cashWallet, selectCoins, type WalletContext, type WalletSend, type WalletState } from './wallet.js';

export * from './blind.js';
export * from './coin.js';
export * from './denominations.js';
export * from './messages.js';
export * from './spend.js';
export * from './wallet.js';

export const cashModule: PaymentModule = {
  method: 'cash',
  properties: { verifiable: true, generatable: false, revocable: false },
  description: 'Chaumian e-cash: bank-signed blind coins, spent by the coin key to one payee for one deal',
};

export interface CashRefundRequest {
  requestId: string;
  account: string;
  reference: string;
  coins: BlindedCoin[];
  signer: Signer;
  now: number;
}

/** The cash module's driver over the wallet machine (payer) and spend checks (payee). */
export function cashPayment(
  ctx: WalletContext,
): PaymentApi<WalletState, WalletSend, { spends: VerifiedSpend[] }, CashRefundRequest, Statement> & { denominations: DenominationSet } {
  return {
    module: cashModule,
    denominations: ctx.denominations,
    async pay(wallet, request) {
      const coinIds = selectCoins(wallet, ctx.denominations, request.amount, request.now);
      if (!coinIds)
        throw new SemperError(
          'ERR_INSUFFICIENT_FUNDS',
          `no coins paying exactly ${request.amount.amount} ${request.amount.currency}: refresh for change first`,
        );
      const r = await cashWallet.step(wallet, { type: 'pay', now: request.now, coinIds, payee: request.payee, reference: request.reference }, ctx);
      return { wallet: r.state, payment: r.send[0]! };
    },
    async receive(payment, expected) {
      const spends = (payment as { spends?: unknown })?.spends;
      if (!Array.isArray(spends) || spends.length === 0 || spends.length > 64) throw new SemperError('ERR_SCHEMA', 'a cash payment is 1..64 spends');
      const verified: VerifiedSpend[] = [];
      const seen = new Set<string>();
      for (const s of spends) {
        const v = await verifySpend(s, {
          denominations: ctx.denominations,
          now: expected.now,
          use: 'spend',
          payee: expected.payee,
          reference: expected.reference,
        });
        if (seen.has(v.coinId)) throw new SemperError('ERR_DOUBLE_SPEND', `coin ${v.coinId} twice in one payment`);
        seen.add(v.coinId);
        verified.push(v);
      }
      const total = verified.reduce((n, v) => (v.body.value.currency === expected.amount.currency ? n + v.body.value.amount : Number.NaN), 0);
      if (total !== expected.amount.amount)
        throw new SemperError('ERR_ITEM_MISMATCH', `coins worth ${total}, ${expected.amount.amount} ${expected.amount.currency} owed`);
      return { spends: verified };
    },
    refund(request) {
      return signStatement(
        {
          type: CASH_TYPES.refundRequest,
          version: 1,
          dealId: request.reference,
          issuedAt: nowIso(request.now),
          body: { requestId: request.requestId, account: request.account, reference: request.reference, coins: request.coins },
        },
        request.signer,
      ) as Promise<Statement>;
    },
    status(wallet, reference) {
      const pending = wallet.pending.find((p) => p.kind === 'payment' && p.reference === reference);
      if (pending) return { phase: 'sent' };
      const paid = wallet.coins.find((c) => c.spent?.by === 'payment' && c.spent.reference === reference);
      if (paid?.spent?.proof) return { phase: 'settled', proof: paid.spent.proof };
      return { phase: 'prepared' };
    },
  };
}
