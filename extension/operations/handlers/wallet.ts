/** Operations on the purses (extension/wallet/service.ts): status, opening an account, withdrawing, renewing, backup and restore. */
import { SemperError } from '../../../core/errors.js';
import type { WalletService } from '../../wallet/service.js';
import type { Handlers, OperationContext } from '../context.js';

function wallet(ctx: OperationContext): WalletService {
  if (!ctx.wallet) throw new SemperError('ERR_INTERNAL', 'this worker has no wallet');
  return ctx.wallet;
}

export const walletHandlers: Handlers<'wallet.status' | 'wallet.openAccount' | 'wallet.withdraw' | 'wallet.renew' | 'wallet.backup' | 'wallet.restore'> = {
  'wallet.status': (_request, ctx) => wallet(ctx).status(),
  async 'wallet.openAccount'(request, ctx) {
    return { purse: await wallet(ctx).openAccount(request) };
  },
  'wallet.withdraw': (request, ctx) => wallet(ctx).withdraw(request),
  'wallet.renew': (request, ctx) => wallet(ctx).renew(request),
  'wallet.backup': (request, ctx) => wallet(ctx).backup(request),
  'wallet.restore': (request, ctx) => wallet(ctx).restore(request),
};
