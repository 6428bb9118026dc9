/**
 * The payment service over the wallet (extension/wallet/service.ts): e-cash from the purse at the
 * offer's bank, the spends deposited at the bank for the payee, the bank's proof as the money item.
 *
 * The purse's bank key must be the one the offer names (the merchant's bank, pinned when the user
 * opened the purse): a proof from any other key would not match m1, so nothing is paid there.
 * Account transfers from the extension are not here yet (see docs/fair-purchase.md): the method is
 * shown, but as not set up.
 */
import { isSemperError } from '../../core/errors.js';
import type { TransportReply } from '../../core/machine.js';
import type { PaymentService, MethodFunds } from './service.js';
import { bankOrigin, type WalletService } from '../wallet/service.js';

export function walletPayments(wallet: Pick<WalletService, 'pay' | 'purseAt' | 'summary'>): PaymentService {
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
    async pay(request): Promise<TransportReply> {
      if (request.method !== 'cash')
        return { kind: 'error', error: { code: 'ERR_PAYMENT_METHOD', message: `${request.method} payments are not set up in Semper` }, status: 409 };
      if (!(await purseFor(request.bank)))
        return {
          kind: 'error',
          error: { code: 'ERR_PAYMENT_METHOD', message: `no purse at the bank ${request.bank.url} with the key the offer names` },
          status: 409,
        };
      try {
        const { item } = await wallet.pay({ bankUrl: request.bank.url, payee: request.payee, reference: request.reference, amount: request.amount });
        return { kind: 'response', body: item };
      } catch (e) {
        if (!isSemperError(e)) throw e;
        // Still waiting for the bank: no answer yet (the purse goes on; the deal asks again after a restart).
        if (e.code === 'ERR_PROTOCOL_STATE') return { kind: 'error', error: { code: e.code, message: e.message } };
        return { kind: 'error', error: { code: e.code, message: e.message }, status: 409 };
      }
    },
    async funds(bank, amount, methods): Promise<MethodFunds[]> {
      const purse = methods.includes('cash') ? await purseFor(bank) : undefined;
      const summary = purse ? await wallet.summary(purse) : undefined;
      return methods.map((method): MethodFunds => {
        if (method !== 'cash') return { method, available: false, reason: 'no-account' };
        if (!summary || summary.phase === 'failed') return { method, available: false, reason: 'no-purse' };
        const balance = summary.balance ?? { amount: 0, currency: amount.currency };
        if (balance.currency !== amount.currency) return { method, available: false, balance, reason: 'other-currency' };
        return balance.amount >= amount.amount ? { method, available: true, balance } : { method, available: false, balance, reason: 'insufficient-funds' };
      });
    },
  };
}
