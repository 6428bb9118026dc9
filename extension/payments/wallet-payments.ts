/**
 * The payment service over the wallet (extension/wallet/service.ts), from the purse at the offer's
 * bank: e-cash (the spends deposited at the bank for the payee) or an account transfer (an order
 * signed by the purse's account key); either way the bank's proof is the money item.
 *
 * The purse's bank key must be the one the offer names (the merchant's bank, pinned when the user
 * opened the purse): a proof from any other key would not match m1, so nothing is paid there. The
 * bank serves no signed balance to the account holder, so an account's `funds` has no balance: the
 * method is available once the account is open, and the bank refuses an order it does not cover
 * (nothing moves).
 */
import { isSemperError, SemperError } from '../../core/errors.js';
import type { TransportReply } from '../../core/machine.js';
import type { PaymentService, MethodFunds } from './service.js';
import { bankOrigin, type WalletService } from '../wallet/service.js';

export function walletPayments(wallet: Pick<WalletService, 'pay' | 'transfer' | 'purseAt' | 'summary' | 'writeCheque'>): PaymentService {
  const purseFor = async (bank: { keyId: string; url: string }) => {
    let origin: string;
    try {
      origin = bankOrigin(bank.url);
    } catch {
      return undefined;
    }
    const purse = await wallet.purseAt(origin);
    return purse && purse.state.bankKeyId === bank.keyId ? purse : undefined;
  };
  return {
    async cheque(request) {
      const purse = await purseFor(request.bank);
      if (!purse) throw new SemperError('ERR_PAYMENT_METHOD', `no account at the bank ${request.bank.url} with the key the offer names`);
      return wallet.writeCheque({
        bankUrl: request.bank.url,
        bankKeyId: request.bank.keyId,
        payee: request.payee,
        reference: request.reference,
        amount: request.amount,
      });
    },
    async pay(request): Promise<TransportReply> {
      if (request.method !== 'cash' && request.method !== 'account')
        return { kind: 'error', error: { code: 'ERR_PAYMENT_METHOD', message: `${request.method} payments are not set up in Semper` }, status: 409 };
      const purse = await purseFor(request.bank);
      if (!purse)
        return {
          kind: 'error',
          error: {
            code: 'ERR_PAYMENT_METHOD',
            message: `no ${request.method === 'cash' ? 'purse' : 'account'} at the bank ${request.bank.url} with the key the offer names`,
          },
          status: 409,
        };
      if (request.method === 'account' && (purse.state.phase !== 'open' || !purse.state.account))
        return { kind: 'error', error: { code: 'ERR_PAYMENT_METHOD', message: `the account at ${request.bank.url} is not open` }, status: 409 };
      try {
        const p = { bankUrl: request.bank.url, payee: request.payee, reference: request.reference, amount: request.amount };
        const { item } = request.method === 'cash' ? await wallet.pay(p) : await wallet.transfer(p);
        return { kind: 'response', body: item };
      } catch (e) {
        if (!isSemperError(e)) throw e;
        // Still waiting for the bank: no answer yet (the purse goes on; the deal asks again after a restart).
        if (e.code === 'ERR_PROTOCOL_STATE') return { kind: 'error', error: { code: e.code, message: e.message } };
        return { kind: 'error', error: { code: e.code, message: e.message }, status: 409 };
      }
    },
    async funds(bank, amount, methods): Promise<MethodFunds[]> {
      const purse = methods.includes('cash') || methods.includes('account') ? await purseFor(bank) : undefined;
      const summary = purse && methods.includes('cash') ? await wallet.summary(purse) : undefined;
      return methods.map((method): MethodFunds => {
        if (method === 'account') {
          // The purse does not know the account's balance (the bank signs none for it): open is enough.
          return purse?.state.phase === 'open' && purse.state.account ? { method, available: true } : { method, available: false, reason: 'no-account' };
        }
        if (method !== 'cash') return { method, available: false, reason: 'no-account' };
        if (!summary || summary.phase === 'failed') return { method, available: false, reason: 'no-purse' };
        const balance = summary.balance ?? { amount: 0, currency: amount.currency };
        if (balance.currency !== amount.currency) return { method, available: false, balance, reason: 'other-currency' };
        return balance.amount >= amount.amount ? { method, available: true, balance } : { method, available: false, balance, reason: 'insufficient-funds' };
      });
    },
  };
}
