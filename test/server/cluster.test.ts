/**
 * Several processes of the TTP and of the bank behind one address (server/cluster.ts, Node
 * cluster) over one PostgreSQL database, under 1,000 concurrent conflicting requests each:
 *  - the TTP: the originator's abort and the responder's resolve of 500 exchanges, all at once, to
 *    two processes — every exchange gets one decision, every request of it the same signed answer;
 *  - the bank: 1,000 deposits of 10 coins (100 spends of each, other deals), all at once, to two
 *    processes — 10 are credited, 990 are ERR_DOUBLE_SPEND, and no money is created (the
 *    conservation invariant over the whole database).
 * Runs when the test run has PostgreSQL (test/global-postgres.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../core/encoding/index.js';
import { TTP_TYPES } from '../../core/exchange/index.js';
import { signSpend, verifyDenominationList } from '../../core/payment/cash/index.js';
import type { Statement } from '../../core/statements/index.js';
import { type BankService, COINS_ACCOUNT, openMarketplaceBank } from '../../server/bank/index.js';
import { CaService } from '../../server/ca/index.js';
import { PostgresTtpStore } from '../../server/ttp/index.js';
import { conflictingRequests } from '../../bench/ttp-requests.js';
import { customer, dealId, type TestBank, withdraw } from '../core/payment/helpers.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';
import { builtCluster, type Cluster, startCluster, stopCluster } from '../helpers/party-cluster.js';

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe.skipIf(!ENGINES.includes('postgres'))('two processes per party over one PostgreSQL, 1,000 conflicting requests', () => {
  let dir: string;
  let ttp: Cluster | undefined;
  let bankCluster: Cluster | undefined;
  let ttpDb: string;
  let bankDb: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semper-cluster-'));
    [ttpDb, bankDb] = await Promise.all([pgSchema('ttp'), pgSchema('bank')]);
    // The CA both parties' identities come from (the primaries issue them from ca.sqlite in dir).
    (await CaService.open({ dataDir: dir })).close();
    const built = await builtCluster();
    [ttp, bankCluster] = await Promise.all([
      startCluster('ttp', { processes: 2, dataDir: dir, databaseUrl: ttpDb, built }),
      startCluster('bank', { processes: 2, dataDir: dir, databaseUrl: bankDb, built, args: ['--denominations', '100', '--currency', 'CHF'] }),
    ]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([stopCluster(ttp), stopCluster(bankCluster)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('TTP: aborts and resolves of 500 exchanges at once: one decision each, the same answer to every request', async () => {
    const { url, pids } = ttp!;
    expect(new Set(pids).size).toBe(2);
    // Not kept alive: building the 1,000 requests can stall this event loop past the server's 5 s
    // keep-alive, and a POST then reused the socket the server was closing ("other side closed").
    const { keyId } = (await (await fetch(`${url}/ttp`, { headers: { connection: 'close' } })).json()) as { keyId: string };
    const exchanges = await conflictingRequests(keyId, 500);
    const jobs = exchanges.flatMap((ex, i) => (i % 2 ? [ex.abort, ex.resolve] : [ex.resolve, ex.abort]).map((request) => ({ ex, request })));
    const results = await Promise.all(jobs.map(async (j) => ({ ex: j.ex, res: await post(`${url}/ttp/requests`, { request: j.request }) })));
    let aborted = 0;
    for (const ex of exchanges) {
      const mine = results.filter((r) => r.ex === ex);
      expect(mine.map((r) => r.res.status)).toEqual([200, 200]);
      expect(new Set(mine.map((r) => canonicalJson(r.res.body.answer))).size, ex.exchangeId).toBe(1);
      expect(mine.filter((r) => r.res.body.decided === true)).toHaveLength(1);
      if ((mine[0]!.res.body.answer as Statement).type === TTP_TYPES.abortToken) aborted++;
    }
    // The database agrees: one row per exchange, none updated.
    const store = new PostgresTtpStore(ttpDb);
    try {
      expect(await store.counts()).toEqual({ aborted, resolved: 500 - aborted });
    } finally {
      await store.close();
    }
  }, 180_000);

  it('bank: 1,000 deposits of 10 coins at once: 10 credited, 990 double spends, no money created', async () => {
    const { url } = bankCluster!;
    // The operator's side in this process: a third bank process on the same database, same identity.
    const ca = await CaService.open({ dataDir: dir });
    let bank: BankService;
    try {
      bank = await openMarketplaceBank({ dataDir: dir, ca, databaseUrl: bankDb, currency: 'CHF', rotation: { values: [100] } });
    } finally {
      await ca.close();
    }
    try {
      const t = {
        bank,
        clock: { now: Date.now() },
        set: async () => verifyDenominationList(await bank.denominationList(), { bankKeyId: bank.keyId }),
      } as unknown as TestBank;
      const alice = await customer(bank, 1_000);
      const shop = await customer(bank);
      const { coins } = await withdraw(t, alice, Array(10).fill(100));
      const spends = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          signSpend(coins[i % 10]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: t.clock.now }),
        ),
      );
      const results = await Promise.all(spends.map((s) => post(`${url}/bank/deposit`, { spends: [s] })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(10);
      const refused = results.filter((r) => r.status !== 200);
      expect(refused).toHaveLength(990);
      for (const r of refused) expect([r.status, (r.body.error as { code: string }).code]).toEqual([409, 'ERR_DOUBLE_SPEND']);
      expect(await bank.balance(shop.account)).toBe(1_000);
      expect(await bank.balance(alice.account)).toBe(0);
      expect(await bank.balance(COINS_ACCOUNT)).toBe(0);
      const totals = await bank.checkInvariants();
      expect(totals).toMatchObject({ funding: 1_000, customers: 1_000, issued: 1_000, redeemed: 1_000 });
    } finally {
      await bank.close();
    }
  }, 180_000);
});
