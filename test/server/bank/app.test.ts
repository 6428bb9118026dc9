/** The bank over HTTP: the routes, the JSON edge, and the bank's error codes and statuses. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomId } from '../../../core/encoding/index.js';
import { type IssueAnswer, prepareCoin, signSpend, verifyDenominationList } from '../../../core/payment/cash/index.js';
import { createBankApp, startBankServer } from '../../../server/bank/index.js';
import {
  closeCheckingInvariants,
  type Customer,
  CURRENCY,
  customer,
  dealId,
  denominationOf,
  finalizeAll,
  openTestBank,
  signer,
  T0,
  type TestBank,
  withdrawalRequest,
} from '../../core/payment/helpers.js';
import { ENGINES } from '../../helpers/engines.js';

describe.each(ENGINES)('bank app on %s', (engine) => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;
  let app: ReturnType<typeof createBankApp>;

  beforeEach(async () => {
    t = await openTestBank({ engine });
    alice = await customer(t.bank, 1_000);
    shop = await customer(t.bank);
    app = createBankApp(t.bank, { signedStatementsPerMinute: 1_000 });
  });

  afterEach(() => closeCheckingInvariants(t));

  const post = (path: string, body: unknown, type = 'application/json') =>
    app.request(path, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(body) });

  describe('bank HTTP', () => {
    it('serves its key and a key list the wallet verifies; withdraw and deposit over HTTP', async () => {
      const info = (await (await app.request('/bank')).json()) as { keyId: string; currency: string };
      expect(info).toMatchObject({ keyId: t.bank.keyId, currency: CURRENCY });
      const { list } = (await (await app.request('/bank/denominations')).json()) as { list: unknown };
      const set = await verifyDenominationList(list, { bankKeyId: info.keyId });
      expect([...set.byId.values()].map((d) => d.value.amount).sort((a, b) => a - b)).toEqual([100, 200, 500]);
      const secret = await prepareCoin(denominationOf(set, 200));
      const res = await post('/bank/withdraw', { request: await withdrawalRequest(alice, [secret]) });
      expect(res.status).toBe(200);
      const [coin] = await finalizeAll(set, [secret], (await res.json()) as IssueAnswer);
      const deposit = await post('/bank/deposit', {
        spends: [await signSpend(coin!, { amount: 200, currency: CURRENCY }, { payee: shop.keyId, reference: dealId(), now: T0 })],
      });
      expect(deposit.status).toBe(200);
      expect(Object.keys((await deposit.json()) as object).sort()).toEqual(['proof', 'receipt']);
      expect(await t.bank.balance(shop.account)).toBe(200);
    });

    it('answers refusals with typed errors and their statuses', async () => {
      const set = await t.set();
      const secret = await prepareCoin(denominationOf(set, 500));
      const stranger = await post('/bank/withdraw', {
        request: await withdrawalRequest({ signer: await signer(), account: alice.account, keyId: '' }, [secret]),
      });
      expect(stranger.status).toBe(403);
      expect(((await stranger.json()) as { error: { code: string } }).error.code).toBe('ERR_FORBIDDEN');
      await t.bank.fund(shop.account, 100);
      const broke = await post('/bank/withdraw', { request: await withdrawalRequest(shop, [secret]) });
      expect(broke.status).toBe(409);
      expect(((await broke.json()) as { error: { code: string } }).error.code).toBe('ERR_INSUFFICIENT_FUNDS');
      const denom = await post('/bank/withdraw', { request: await withdrawalRequest(alice, [{ ...secret, denominationId: 'C'.repeat(43) }], randomId(16)) });
      expect(denom.status).toBe(403);
      expect(((await denom.json()) as { error: { code: string } }).error.code).toBe('ERR_DENOMINATION');
      const wrongType = await post('/bank/deposit', { spends: [] }, 'text/plain');
      expect(wrongType.status).toBe(400);
      const malformed = await post('/bank/deposit', { spends: [] });
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('ERR_SCHEMA');
      const huge = await post('/bank/refresh', { requestId: 'x', spends: [], outputs: [], pad: 'x'.repeat(300 * 1024) });
      expect(huge.status).toBe(413);
    });

    it('listens on loopback only; a real socket counts each client against the signing budget', async () => {
      await expect(startBankServer(t.bank, { hostname: '0.0.0.0' })).rejects.toThrow(/loopback/);
      const server = await startBankServer(t.bank, { signedStatementsPerMinute: 1 });
      try {
        const set = await verifyDenominationList(((await (await fetch(`${server.url}/bank/denominations`)).json()) as { list: unknown }).list, {
          bankKeyId: t.bank.keyId,
        });
        const send = async () =>
          fetch(`${server.url}/bank/withdraw`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ request: await withdrawalRequest(alice, [await prepareCoin(denominationOf(set, 100))]) }),
          });
        expect((await send()).status).toBe(200);
        const limited = await send();
        expect(limited.status).toBe(429);
        expect(await t.bank.balance(alice.account)).toBe(900);
      } finally {
        await server.close();
      }
    });
  });
});
