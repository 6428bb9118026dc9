/**
 * The wallet's blind-RSA work as offscreen tasks (issue 13): blinding coin messages for the bank and
 * unblinding its answer run in extension/offscreen (core/payment/cash/blind.ts with
 * @cloudflare/blindrsa-ts), so the library is not in the worker's start bundle. The coin keys are
 * made here, in the worker, and never leave it: the task gets only their ids.
 *
 * What the tasks answer is checked against their schemas (OffscreenTasks.run), and the wallet
 * machine checks every unblinded coin against its denomination key before keeping it
 * (core/payment/cash/wallet.ts): a wrong answer keeps nothing.
 */
import { SemperError } from '../../core/errors.js';
import { type CoinSecret, newCoinKey } from '../../core/payment/cash/coin.js';
import type { VerifiedDenomination } from '../../core/payment/cash/denominations.js';
import type { HttpReply } from '../worker/http.js';
import type { UnblindOutbound } from '../worker/host.js';
import type { OffscreenTasks } from '../worker/offscreen.js';

export interface CashTasks {
  /** Fresh coins of these denominations: keys made here, messages blinded by the task. */
  prepareCoins(denominations: readonly VerifiedDenomination[]): Promise<CoinSecret[]>;
  /** A purse's `unblind` send answered as the wallet machine expects: `{ signatures }`, or why not. */
  unblind(outbound: UnblindOutbound): Promise<HttpReply>;
}

export function offscreenCash(tasks: Pick<OffscreenTasks, 'run'>): CashTasks {
  return {
    async prepareCoins(denominations) {
      if (denominations.length === 0) return [];
      const keys = await Promise.all(denominations.map(() => newCoinKey()));
      const { blindings } = await tasks.run('cash.blind', {
        coins: denominations.map((d, i) => ({ denominationId: d.id, rsaPublicKey: d.rsaPublicKey, coinId: keys[i]!.coinId })),
      });
      if (blindings.length !== denominations.length) throw new SemperError('ERR_INTERNAL', 'the cash.blind task answered for other coins');
      return denominations.map((d, i) => ({ denominationId: d.id, ...keys[i]!, ...blindings[i]! }));
    },
    async unblind(outbound) {
      let answer: Awaited<ReturnType<typeof tasks.run<'cash.unblind'>>>;
      try {
        answer = await tasks.run('cash.unblind', { coins: outbound.coins });
      } catch (e) {
        // The task did not run (or answered outside its schema): no status, so the purse unblinds again later.
        return { kind: 'error', error: { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) } };
      }
      if ('refused' in answer) return { kind: 'error', error: { code: 'ERR_SIGNATURE_INVALID', message: answer.refused } };
      return { kind: 'response', body: { signatures: answer.signatures } };
    },
  };
}
