/**
 * Concurrent double spends: of 300 deposits of one coin (300 different spends: other deals) fired
 * at once over HTTP, exactly one is credited and 299 get 409 ERR_DOUBLE_SPEND carrying the winner's
 * spend; the same across two bank processes on one database file; concurrent withdrawals never
 * overdraw. The conservation invariant holds after each.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, randomId } from '../../../core/encoding/index.js';
import { prepareCoin, signSpend } from '../../../core/payment/cash/index.js';
import type { Statement } from '../../../core/statements/index.js';
import { BankService, COINS_ACCOUNT, createBankApp } from '../../../server/bank/index.js';
import {
  bankWithAliceAndShop,
  closeCheckingInvariants,
  type Customer,
  CURRENCY,
  dealId,
  denominationOf,
  poolKeys,
  T0,
  type TestBank,
  withdraw,
  withdrawalRequest,
} from '../../core/payment/helpers.js';
import { ENGINES } from '../../helpers/engines.js';

describe.each(ENGINES)('bank concurrency on %s', (engine) => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;

  beforeEach(async () => {
    ({ t, alice, shop } = await bankWithAliceAndShop({ engine }));
  });

  afterEach(() => closeCheckingInvariants(t));

  const post = (app: ReturnType<typeof createBankApp>, path: string, body: unknown) =>
    app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  describe('double spending under concurrency', () => {
    it('300 concurrent deposits of one coin: exactly one credited, 299 conflicts carrying its spend', async () => {
      const app = createBankApp(t.bank, { signedStatementsPerMinute: 10_000 });
      const { coins } = await withdraw(t, alice, [500]);
      const spends = await Promise.all(
        Array.from({ length: 300 }, () => signSpend(coins[0]!, { amount: 500, currency: CURRENCY }, { payee: shop.keyId, reference: dealId(), now: T0 })),
      );
      const responses = await Promise.all(spends.map((s) => post(app, '/bank/deposit', { spends: [s] })));
      const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, unknown>>));
      const won = responses.map((r, i) => (r.status === 200 ? i : -1)).filter((i) => i >= 0);
      expect(won).toHaveLength(1);
      const winner = spends[won[0]!]!;
      const conflicts = responses.filter((r) => r.status === 409);
      expect(conflicts).toHaveLength(299);
      for (const [i, b] of bodies.entries()) {
        if (i === won[0]) continue;
        expect((b.error as { code: string }).code).toBe('ERR_DOUBLE_SPEND');
        expect(b.proof).toEqual(JSON.parse(JSON.stringify(winner)));
      }
      expect(await t.bank.balance(shop.account)).toBe(500);
      expect(await t.bank.balance(COINS_ACCOUNT)).toBe(0);
    });

    // PostgreSQL only, like the cheque case in cheque.test.ts: two services in one process over one
    // SQLite file block each other's event loop on the write lock.
    it.skipIf(engine === 'sqlite')('two bank services on one database: still exactly one deposit of a coin', async () => {
      const second = await BankService.open({
        ...t.location,
        currency: CURRENCY,
        clock: () => T0,
        keyFactory: poolKeys(8),
        rotation: { values: [100, 200, 500] },
      });
      try {
        expect(second.keyId).toBe(t.bank.keyId);
        const { coins } = await withdraw(t, alice, [200, 100]);
        const spends = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            signSpend(coins[i % 2]!, { amount: i % 2 ? 100 : 200, currency: CURRENCY }, { payee: shop.keyId, reference: dealId(), now: T0 }),
          ),
        );
        const results = await Promise.allSettled(spends.map((s, i) => (i % 4 < 2 ? t.bank : second).deposit({ spends: [s] })));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
        expect(results.filter((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ERR_DOUBLE_SPEND')).toHaveLength(38);
        expect(await t.bank.balance(shop.account)).toBe(300);
        await second.checkInvariants();
      } finally {
        await second.close();
      }
    });

    it('the very same deposit sent 20 times at once: credited once, every sender gets the one answer', async () => {
      const { coins } = await withdraw(t, alice, [200]);
      const spend = await signSpend(coins[0]!, { amount: 200, currency: CURRENCY }, { payee: shop.keyId, reference: dealId(), now: T0 });
      const answers = await Promise.all(Array.from({ length: 20 }, () => t.bank.deposit({ spends: [spend] })));
      expect(new Set(answers.map((a) => canonicalJson(a))).size).toBe(1);
      expect(await t.bank.balance(shop.account)).toBe(200);
    });

    it('concurrent withdrawals never overdraw: of 12 × 500 from 5000, exactly 10 are served', async () => {
      const set = await t.set();
      const app = createBankApp(t.bank, { signedStatementsPerMinute: 10_000 });
      const secrets = await Promise.all(Array.from({ length: 12 }, () => prepareCoin(denominationOf(set, 500))));
      const requests: Statement[] = await Promise.all(secrets.map((s) => withdrawalRequest(alice, [s], randomId(16))));
      const responses = await Promise.all(requests.map((request) => post(app, '/bank/withdraw', { request })));
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.filter((s) => s === 409)).toHaveLength(2);
      const refused = await Promise.all(responses.filter((r) => r.status === 409).map((r) => r.json() as Promise<{ error: { code: string } }>));
      expect(refused.every((b) => b.error.code === 'ERR_INSUFFICIENT_FUNDS')).toBe(true);
      expect(await t.bank.balance(alice.account)).toBe(0);
    });
  });
});
