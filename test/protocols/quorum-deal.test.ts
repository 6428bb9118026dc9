/**
 * k-of-n TTPs in exchange deals (docs/quorum.md, "The shopper's choice"): the guarantee policy's schema, the
 * choice of the exchange's set and k from the merchant's offer, and whole exchanges against the merchant kit
 * with three TTPs (each its own service, database and address): the one-TTP exchange unchanged for a shopper
 * without a policy, a 3-of-3 set completing, the shopper resolving with 2 of 3 while one TTP is down, and the
 * merchant kit asking every TTP of the set and finishing on a quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SemperError } from '../../core/errors.js';
import { chooseTtpSet, maliciousTolerated, TtpPolicy } from '../../core/commerce/ttp-policy.js';
import { AffidavitBody } from '../../core/exchange/index.js';
import type { Statement } from '../../core/statements/index.js';
import { EXCHANGE_CONTRACTS } from '../../server/shop/exchange-uses.js';
import { makeExchangeWorld, merchantExchange, newShopper, runMerchantToEnd, NodeShopper, type ExchangeWorld } from '../helpers/exchange.js';

const CONTRACT = EXCHANGE_CONTRACTS[0]!;
const F = (c: string) => c.repeat(43);

describe('guarantee policy: the schema', () => {
  it('takes k of n with k more than half and at most n', () => {
    for (const [k, n] of [
      [1, 1],
      [2, 2],
      [2, 3],
      [3, 3],
      [3, 4],
      [3, 5],
    ] as const) {
      const ttps = ['a', 'b', 'c', 'd', 'e'].slice(0, n).map(F);
      expect(TtpPolicy.safeParse({ ttps, k }).success, `${k} of ${n}`).toBe(true);
    }
  });

  it('refuses k of half or less, k above n, a TTP named twice, and anything but fingerprints', () => {
    const bad: unknown[] = [
      { ttps: [F('a'), F('b')], k: 1 },
      { ttps: [F('a'), F('b'), F('c'), F('d')], k: 2 },
      { ttps: [F('a'), F('b')], k: 3 },
      { ttps: [F('a'), F('a'), F('b')], k: 2 },
      { ttps: ['https://ttp.example'], k: 1 },
      { ttps: [], k: 1 },
      { ttps: [F('a')], k: 0 },
      { ttps: [F('a')], k: 1, extra: true },
    ];
    for (const p of bad) expect(TtpPolicy.safeParse(p).success, JSON.stringify(p)).toBe(false);
  });

  it('says how many dishonest TTPs a choice tolerates (2k ≥ n + f + 1)', () => {
    expect(maliciousTolerated(2, 3)).toBe(0);
    expect(maliciousTolerated(3, 3)).toBe(2);
    expect(maliciousTolerated(3, 4)).toBe(1);
    expect(maliciousTolerated(3, 5)).toBe(0);
    expect(maliciousTolerated(4, 5)).toBe(2);
  });
});

describe('guarantee policy: the exchange set from the merchant offer', () => {
  const offer = [
    { keyId: 'k1', fingerprint: F('a') },
    { keyId: 'k2', fingerprint: null },
    { keyId: 'k3', fingerprint: F('c') },
    { keyId: 'k4', fingerprint: F('d') },
  ];

  it("keeps the offered TTPs the user trusts and chose, in the merchant's order, with the larger k", () => {
    expect(chooseTtpSet(offer, 1, { ttps: [F('d'), F('a'), F('c')], k: 2 })).toEqual({ chosen: [0, 2, 3], k: 2 });
    expect(chooseTtpSet(offer, 3, { ttps: [F('d'), F('a'), F('c')], k: 2 })).toEqual({ chosen: [0, 2, 3], k: 3 });
    // A TTP the user does not trust (no fingerprint) is never chosen, even when the policy names its key.
    expect(chooseTtpSet(offer, 1, { ttps: [F('a'), F('b'), F('c')], k: 2 })).toEqual({ chosen: [0, 2], k: 2 });
  });

  it('refuses (ERR_TTP) when fewer than k of the chosen TTPs are offered', () => {
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e instanceof SemperError ? `${e.code} ${e.message}` : String(e);
      }
      return 'accepted';
    };
    expect(refused(() => chooseTtpSet(offer, 1, { ttps: [F('a'), F('x'), F('y')], k: 2 }))).toMatch(
      /^ERR_TTP guarantee policy: 2 of the TTPs you chose must agree/,
    );
    expect(refused(() => chooseTtpSet(offer, 4, { ttps: [F('a'), F('c'), F('d')], k: 2 }))).toMatch(/^ERR_TTP guarantee policy: 4/);
    expect(refused(() => chooseTtpSet([offer[0]!], 1, { ttps: [F('a'), F('c'), F('d')], k: 2 }))).toMatch(/^ERR_TTP guarantee policy/);
  });
});

describe('k-of-n exchange deals against the merchant kit (three TTPs, the merchant accepts any 2)', () => {
  let world: ExchangeWorld;
  beforeAll(async () => {
    world = await makeExchangeWorld({ quorum: { k: 2, n: 3 } });
  });
  afterAll(async () => {
    await world?.close();
  });
  const all = () => world.ttps.map((t) => t.entry);
  const policy = (k: number, n = 3) => ({ ttps: world.ttps.slice(0, n).map((t) => t.entry.fingerprint), k });

  it('a shopper without a policy: the one-TTP exchange as before (m1 names no set), completed', async () => {
    const s = new NodeShopper(world, await newShopper(), { ttps: all() });
    await s.start('contract-signing', CONTRACT.id);
    expect(s.agreement.quorum).toBeUndefined();
    expect(s.view.quorum).toBeUndefined();
    expect(s.state.quorum ?? null).toBeNull();
    expect(s.state.outcome?.status).toBe('completed');
    const m = await merchantExchange(world, s.agreement.dealId);
    expect(m.descriptor.body.quorum?.k).toBe(2);
    expect(m.descriptor.body.quorum?.ttps.map((t) => t.keyId)).toEqual(world.ttps.map((t) => t.service.keyId));
  });

  it('3 of 3 chosen: the window names all three and k, m1 names the set, the exchange completes', async () => {
    const s = new NodeShopper(world, await newShopper(), { ttps: all(), policy: policy(3) });
    await s.start('contract-signing', CONTRACT.id);
    expect(s.view.quorum?.k).toBe(3);
    expect(s.view.quorum?.ttps.map((t) => t.name)).toEqual(['Semper Test TTP', 'Semper Test TTP 2', 'Semper Test TTP 3']);
    expect(s.agreement.quorum?.ttps.map((t) => t.url)).toEqual(world.ttps.map((t) => t.url));
    expect(s.state.quorum).toEqual({ k: 3, ttps: world.ttps.map((t) => ({ keyId: t.service.keyId })) });
    expect(s.state.outcome?.status).toBe('completed');
  });

  it('2 of 3 chosen, the merchant stops after the shopper signed, one TTP down: the shopper resolves with two decisions', async () => {
    const s = new NodeShopper(world, await newShopper(), { ttps: all(), policy: policy(2) });
    s.down.add(world.ttps[1]!.service.keyId);
    const before = world.ttps.map((t) => t.requests.length);
    world.faults.stopAfter = 'receiving-originator-item';
    try {
      await s.start('contract-signing', CONTRACT.id);
      await s.runTimers();
    } finally {
      delete world.faults.stopAfter;
    }
    expect(s.state.outcome?.status).toBe('resolved');
    if (s.state.outcome?.status !== 'resolved') return;
    expect(s.state.outcome.quorum).toHaveLength(2);
    // Asked at their own addresses: the two that are up each decided; the one that is down heard nothing.
    const asked = world.ttps.map((t, i) => t.requests.length - before[i]!);
    expect(asked[0]).toBeGreaterThan(0);
    expect(asked[1]).toBe(0);
    expect(asked[2]).toBeGreaterThan(0);
  });

  it("the merchant kit asks every TTP of the shopper's set at its own address and finishes on a quorum", async () => {
    const s = new NodeShopper(world, await newShopper(), { ttps: all(), policy: policy(2) });
    // The shopper's last message is lost: the merchant must resolve through the TTPs.
    const original = world.host.app.request;
    let lose = false;
    world.host.app.request = ((input: string, init?: RequestInit) => {
      if (lose) return Promise.resolve(new Response(JSON.stringify({ replies: [] }), { headers: { 'content-type': 'application/json' } }));
      const body = init?.body ? (JSON.parse(String(init.body)) as { message?: Statement }) : {};
      if (body.message?.type === 'semper.exchange.propose') lose = true;
      return original(input, init);
    }) as typeof world.host.app.request;
    const before = world.ttps.map((t) => t.requests.length);
    try {
      await s.start('certified-mail', 'test-report');
    } finally {
      world.host.app.request = original;
    }
    await runMerchantToEnd(world, s.agreement.dealId);
    const m = await merchantExchange(world, s.agreement.dealId);
    expect(m.state.quorum?.k).toBe(2);
    expect(m.state.outcome?.status).toBe('resolved');
    if (m.state.outcome?.status !== 'resolved') return;
    expect(m.state.outcome.quorum?.length).toBeGreaterThanOrEqual(2);
    expect(AffidavitBody.parse(m.state.outcome.replacement!.body).onBehalfOf).toBe(s.signer.keyId);
    // Every TTP of the set was asked by the merchant, each at its own address.
    expect(world.ttps.map((t, i) => t.requests.length - before[i]! > 0)).toEqual([true, true, true]);
  });
});
