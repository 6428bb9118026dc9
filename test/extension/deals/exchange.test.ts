/**
 * Exchange deals in the worker's one host (extension/worker/host.ts + deals/exchange.ts) in Node:
 * the real exchange-deal machine against the real merchant kit and TTP app (no ports), fake alarms
 * and a controllable clock. Persistence after every step, archive of both directions, TTP resolve
 * driven by alarms, resume after a restart, decline, refusal of a descriptor before the window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoRandom, type TransportReply } from '../../../core/machine.js';
import { TTP_TYPES } from '../../../core/exchange/index.js';
import type { TrustedTtpEntry } from '../../../core/commerce/exchange-deal.js';
import { MachineHost, type HttpOutbound } from '../../../extension/worker/host.js';
import { exchangeKind } from '../../../extension/deals/exchange.js';
import { MemoryDealStore, type DealRecord, type ExchangeRecord } from '../../../extension/deals/records.js';
import { settlementOf } from '../../../extension/content/page-ports.js';
import { EXCHANGE_CONTRACTS, EXCHANGE_DOCUMENTS } from '../../../server/shop/exchange-uses.js';
import { EX_ORIGIN, makeExchangeWorld, merchantExchange, newShopper, type ExchangeWorld } from '../../helpers/exchange.js';
import type { Signer } from '../../../core/crypto/index.js';
import type { ExchangeUse } from '../../../core/commerce/index.js';

let world: ExchangeWorld;
let signer: Signer;

beforeAll(async () => {
  world = await makeExchangeWorld();
  signer = await newShopper();
});
afterAll(async () => {
  await world?.close();
});

function transport() {
  const post = async (
    app: { request(path: string, init: RequestInit): Response | Promise<Response> },
    path: string,
    body: unknown,
  ): Promise<TransportReply> => {
    const res = await app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as { error?: { code: string; message: string } };
    return res.ok
      ? { kind: 'response', body: json }
      : { kind: 'error', status: res.status, error: json.error ?? { code: 'ERR_INTERNAL', message: `HTTP ${res.status}` } };
  };
  const t = {
    ttpCalls: 0,
    /** Every body the worker POSTed to the merchant, as JSON text (what the page's origin learns). */
    toMerchant: [] as string[],
    /** The TTP cannot be reached: requests fail as a network error does (no status). */
    ttpDown: false,
    http: (origin: string, outbound: HttpOutbound): Promise<TransportReply> => {
      if (outbound.to === 'merchant') {
        expect(origin).toBe(EX_ORIGIN);
        t.toMerchant.push(JSON.stringify(outbound.body));
        return post(world.host.app, outbound.path, outbound.body);
      }
      if (outbound.to !== 'ttp') throw new Error(`an exchange sends nothing to the ${outbound.to}`);
      expect(outbound.url).toBe(world.ttpEntry.url);
      t.ttpCalls++;
      if (t.ttpDown) return Promise.resolve({ kind: 'error', error: { code: 'ERR_INTERNAL', message: 'fetch failed' } } as const);
      return post(world.ttpApp, outbound.path, outbound.body);
    },
  };
  return t;
}

function harness(store = new MemoryDealStore(), ttps: () => TrustedTtpEntry[] = () => [world.ttpEntry]) {
  const alarms = new Map<string, number>();
  const awaiting: string[] = [];
  const settled: DealRecord[] = [];
  const commits: string[] = [];
  const net = transport();
  const original = store.commit.bind(store);
  store.commit = async (record, archive) => {
    commits.push(record.status);
    return original(record, archive);
  };
  const host = new MachineHost({
    store,
    kinds: [exchangeKind({ roots: async () => [world.ca.root], signer: async () => signer, ttps: async () => ttps(), random: cryptoRandom })],
    transport: net.http,
    alarms: { set: (id, when) => void alarms.set(id, when), clear: (id) => void alarms.delete(id) },
    now: () => world.clock.now,
    onAwaitingUser: (r) => awaiting.push(r.dealId),
    onSettled: (r) => settled.push(r),
  });
  const runner = {
    start: (origin: string, use: ExchangeUse, documentId: string) => host.start('exchange', origin, { use, documentId }) as Promise<ExchangeRecord>,
    confirm: (dealId: string) => host.event(dealId, { type: 'user-confirmed', now: world.clock.now }),
    reject: (dealId: string) => host.event(dealId, { type: 'user-rejected', now: world.clock.now }),
    timeout: (dealId: string) => host.timeout(dealId),
    resume: () => host.resume(),
    idle: () => host.idle(),
  };
  const get = async (dealId: string) => (await store.get(dealId)) as ExchangeRecord | undefined;
  /** Fire due alarms the way chrome.alarms would, advancing the clock. */
  async function fireAlarms(dealId: string, max = 20): Promise<void> {
    for (let i = 0; i < max && alarms.has(dealId); i++) {
      world.clock.now = Math.max(world.clock.now, alarms.get(dealId)!);
      await runner.timeout(dealId);
      await runner.idle();
    }
  }
  return { runner, store: { get, archiveOf: (id: string) => store.archiveOf(id) }, alarms, awaiting, settled, commits, net, fireAlarms };
}

/** The originator's state inside an exchange-deal record. */
const exchangeOf = (r: ExchangeRecord) => ('exchange' in r.state ? r.state.exchange : undefined);

describe('the host running exchange deals', () => {
  it('contract signing: descriptor → window → confirm → completed, no TTP, every statement archived', async () => {
    const h = harness();
    const started = await h.runner.start(EX_ORIGIN, 'contract-signing', EXCHANGE_CONTRACTS[0]!.id);
    await h.runner.idle();
    expect(h.awaiting).toEqual([started.dealId]);
    const waiting = (await h.store.get(started.dealId))!;
    expect(waiting.status).toBe('awaiting-confirmation');
    expect(waiting.view?.contract?.text).toBe(EXCHANGE_CONTRACTS[0]!.text);
    expect(waiting.view?.ttp.name).toBe('Semper Test TTP');
    await h.runner.confirm(started.dealId);
    await h.runner.idle();
    const done = (await h.store.get(started.dealId))!;
    expect(done.status).toBe('completed');
    expect(h.net.ttpCalls).toBe(0);
    expect(h.alarms.has(started.dealId)).toBe(false);
    expect(settlementOf(done.result!)).toEqual({
      ok: true,
      result: {
        dealId: started.dealId,
        status: 'completed',
        use: 'contract-signing',
        exchangeId: exchangeOf(done)!.exchangeId,
        title: EXCHANGE_CONTRACTS[0]!.title,
      },
    });
    const types = (await h.store.archiveOf(started.dealId)).map((a) => `${a.direction} ${a.type}`);
    expect(types).toEqual([
      'received semper.exchange.descriptor',
      'sent semper.exchange.propose',
      'received semper.exchange.accept',
      'sent semper.exchange.deliver',
      'received semper.exchange.deliver',
    ]);
    // Persisted after every step: descriptor, m1, m2(+m3), m4.
    expect(h.commits).toEqual(['awaiting-confirmation', 'exchanging', 'exchanging', 'completed']);
  });

  it('nothing that identifies the shopper leaves before the user confirmed; then only the key that signs the deal (issue 8, item 6)', async () => {
    const h = harness();
    const identity = signer;
    const other = await newShopper(); // another key of the shopper's (a pseudonym elsewhere): never to appear
    const traces = (k: Signer) => [k.keyId, k.publicJwk.x, (k.publicJwk as { y?: string }).y].filter((x): x is string => typeof x === 'string');
    const leaks = (bodies: string[], k: Signer) => traces(k).filter((t) => bodies.some((b) => b.includes(t)));
    for (const use of ['contract-signing', 'certified-mail'] as const) {
      const before = h.net.toMerchant.length;
      const { dealId } = await h.runner.start(EX_ORIGIN, use, use === 'contract-signing' ? EXCHANGE_CONTRACTS[0]!.id : EXCHANGE_DOCUMENTS[0]!.id);
      await h.runner.idle();
      expect((await h.store.get(dealId))!.status).toBe('awaiting-confirmation');
      const unconfirmed = h.net.toMerchant.slice(before);
      expect(unconfirmed.length).toBeGreaterThan(0);
      expect(leaks(unconfirmed, identity), `${use}: before confirmation`).toEqual([]);
      // What the merchant stored for the deal names no key of the shopper's either.
      const stored = JSON.stringify(await (await world.host.app.request(`/semper/deals/${dealId}`)).json());
      expect(leaks([stored], identity), `${use}: the merchant's stored deal before confirmation`).toEqual([]);
      await h.runner.confirm(dealId);
      await h.runner.idle();
      expect((await h.store.get(dealId))!.status).toBe('completed');
      const all = h.net.toMerchant.slice(before);
      expect(leaks(all, identity).length, `${use}: after confirmation the signing key is named`).toBeGreaterThan(0);
      expect(leaks(all, other)).toEqual([]);
    }
  });

  it('certified mail: the document arrives, the merchant gets the receipt', async () => {
    const h = harness();
    const { dealId } = await h.runner.start(EX_ORIGIN, 'certified-mail', EXCHANGE_DOCUMENTS[0]!.id);
    await h.runner.idle();
    await h.runner.confirm(dealId);
    await h.runner.idle();
    const done = (await h.store.get(dealId))!;
    expect(done.status).toBe('completed');
    expect((await merchantExchange(world, dealId)).state.outcome?.status).toBe('completed');
  });

  it('the merchant stops after the shopper signed: alarms drive the resolve, the shopper ends resolved with the affidavit', async () => {
    const h = harness();
    world.faults.stopAfter = 'receiving-originator-item';
    try {
      const { dealId } = await h.runner.start(EX_ORIGIN, 'contract-signing', EXCHANGE_CONTRACTS[0]!.id);
      await h.runner.idle();
      await h.runner.confirm(dealId);
      await h.runner.idle();
      expect(exchangeOf((await h.store.get(dealId))!)!.phase).toBe('awaiting-m4');
      expect(h.alarms.get(dealId)).toBe(exchangeOf((await h.store.get(dealId))!)!.wakeAt);
      expect(h.settled).toEqual([]);
      await h.fireAlarms(dealId);
      const done = (await h.store.get(dealId))!;
      expect(done.status).toBe('resolved');
      expect(h.net.ttpCalls).toBe(1);
      expect(h.settled.map((r) => r.result)).toEqual([{ kind: 'finished', outcome: expect.objectContaining({ status: 'resolved' }) }]);
      const archived = (await h.store.archiveOf(dealId)).map((a) => a.type);
      expect(archived).toEqual(expect.arrayContaining([TTP_TYPES.resolution, TTP_TYPES.affidavit, 'semper.exchange.resolve-request']));
    } finally {
      delete world.faults.stopAfter;
    }
  });

  it('the TTP is down for 35 s after the shopper signed: the deal waits for the third party, never fails, and ends resolved (issue 8, item 3)', async () => {
    const h = harness();
    world.faults.stopAfter = 'receiving-originator-item';
    try {
      const { dealId } = await h.runner.start(EX_ORIGIN, 'contract-signing', EXCHANGE_CONTRACTS[0]!.id);
      await h.runner.idle();
      await h.runner.confirm(dealId);
      await h.runner.idle();
      h.net.ttpDown = true;
      const outageEnds = world.clock.now + 35_000;
      const seen = new Set<string>();
      for (let i = 0; i < 50 && world.clock.now < outageEnds; i++) {
        await h.fireAlarms(dealId, 1);
        const r = (await h.store.get(dealId))!;
        seen.add(r.status);
        expect(r.terminal, `${r.status} at +${world.clock.now - outageEnds + 35_000} ms`).toBe(false);
        expect(h.alarms.has(dealId)).toBe(true);
      }
      expect(world.clock.now).toBeGreaterThanOrEqual(outageEnds);
      expect(seen).toContain('awaiting-ttp');
      expect((await h.store.get(dealId))!.status).toBe('awaiting-ttp');
      expect(h.settled).toEqual([]);
      h.net.ttpDown = false;
      await h.fireAlarms(dealId);
      expect((await h.store.get(dealId))!.status).toBe('resolved');
      expect(h.settled.map((r) => r.result)).toEqual([{ kind: 'finished', outcome: expect.objectContaining({ status: 'resolved' }) }]);
    } finally {
      delete world.faults.stopAfter;
    }
  });

  it('a restarted worker resumes: re-sends its outbox and re-arms the alarm', async () => {
    const store = new MemoryDealStore();
    const first = harness(store);
    world.faults.stopAfter = 'receiving-proposal';
    try {
      const { dealId } = await first.runner.start(EX_ORIGIN, 'contract-signing', EXCHANGE_CONTRACTS[0]!.id);
      await first.runner.idle();
      await first.runner.confirm(dealId);
      await first.runner.idle();
      // "Restart": a fresh runner on the same store, alarms lost.
      const second = harness(store);
      await second.runner.resume();
      await second.runner.idle();
      expect(second.alarms.has(dealId)).toBe(true);
      await second.fireAlarms(dealId);
      expect((await store.get(dealId))!.status).toBe('aborted');
      expect(second.settled[0]?.result).toMatchObject({ kind: 'finished', outcome: { status: 'aborted' } });
    } finally {
      delete world.faults.stopAfter;
    }
  });

  it('decline, and a descriptor bound to another origin never reaches the window', async () => {
    const h = harness();
    const { dealId } = await h.runner.start(EX_ORIGIN, 'contract-signing', EXCHANGE_CONTRACTS[0]!.id);
    await h.runner.idle();
    await h.runner.reject(dealId);
    expect((await h.store.get(dealId))!.result).toEqual({ kind: 'rejected' });

    world.faults.descriptorOrigin = 'https://elsewhere.example';
    try {
      const bad = await h.runner.start(EX_ORIGIN, 'contract-signing', EXCHANGE_CONTRACTS[0]!.id);
      await h.runner.idle();
      const record = (await h.store.get(bad.dealId))!;
      expect(record.status).toBe('failed');
      expect(record.result).toMatchObject({ kind: 'failed', error: { code: 'ERR_CERT_ORIGIN' } });
      expect(record.view).toBeUndefined();
      expect(h.awaiting).toEqual([dealId]);
    } finally {
      delete world.faults.descriptorOrigin;
    }
  });

  it('an untrusted TTP is refused before the window', async () => {
    const h = harness(new MemoryDealStore(), () => []);
    const { dealId } = await h.runner.start(EX_ORIGIN, 'certified-mail', EXCHANGE_DOCUMENTS[0]!.id);
    await h.runner.idle();
    expect((await h.store.get(dealId))!.result).toMatchObject({ kind: 'failed', error: { code: 'ERR_TTP' } });
    expect(h.awaiting).toEqual([]);
  });
});

describe('trusted TTPs (a setting)', () => {
  it('by certificate (must be a TTP certificate) or by fingerprint, always with an https or loopback address', async () => {
    const { describeTtp, normaliseTtpUrl } = await import('../../../extension/settings/ttp-trust.js');
    const ttp = await describeTtp({ certificate: world.ttpCertificate, url: 'http://127.0.0.1:8452/ttp' }, 1);
    expect(ttp).toMatchObject({ fingerprint: world.ttpEntry.fingerprint, keyId: world.ttp.keyId, commonName: 'Semper Test TTP', url: 'http://127.0.0.1:8452' });
    await expect(describeTtp({ certificate: world.merchant.chain[0]!, url: 'https://ttp.example' }, 1)).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    expect(await describeTtp({ fingerprint: world.ttpEntry.fingerprint, url: 'https://ttp.example/' }, 1)).toEqual({
      fingerprint: world.ttpEntry.fingerprint,
      url: 'https://ttp.example',
      addedAt: 1,
    });
    await expect(describeTtp({ url: 'https://ttp.example' }, 1)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    expect(() => normaliseTtpUrl('http://ttp.example')).toThrow(/https/);
    expect(() => normaliseTtpUrl('https://user:pw@ttp.example')).toThrow(/credentials/);
  });
});
