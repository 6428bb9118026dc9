/**
 * The merchant kit as a library: mounted into some other Node web app, with a store of the
 * host's choosing. These use `app.request` (web-standard Request/Response, no port).
 */
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { generateKeyPair, signerFromKeyPair } from '../../core/crypto/index.js';
import type { MerchantDealState, MerchantIdentity } from '../../core/commerce/merchant.js';
import {
  createMerchantKit,
  catalogFromItems,
  MemoryMerchantDealStore,
  type DealWrite,
  type MerchantKitOptions,
  type StoredDeal,
} from '../../server/merchant/index.js';
import type { OfferBody } from '../../core/protocol/commerce.js';
import { signStatement, type Statement } from '../../core/statements/index.js';
import { KeyedLock } from '../../server/host/keyed-lock.js';
import { PRODUCTS, SHOP_TERMS } from '../../server/shop/catalog.js';
import { EXCHANGE_DOCUMENTS, shopExchangeCatalog } from '../../server/shop/exchange-uses.js';
import { ENGINES } from '../helpers/engines.js';
import { dealStores } from './merchant-stores.js';
import { makeTestCa } from '../helpers/pki.js';
import { newDealId, newNonce, signOrder, testShopper, type ErrorJson } from './helpers.js';

/** A jwk-signed identity is enough for the kit's own behaviour (certificates are the marketplace's tests). */
async function identity(): Promise<MerchantIdentity> {
  return { signer: await signerFromKeyPair('ES256', await generateKeyPair('ES256')), chain: [], origin: 'https://shop.example' };
}

/** A memory store that can be made to fail like a broken database. */
class MemoryStore extends MemoryMerchantDealStore {
  failWith: Error | undefined;
  override async get(dealId: string) {
    if (this.failWith) throw this.failWith;
    return super.get(dealId);
  }
  override async put(dealId: string, expectedVersion: number | null, write: DealWrite) {
    if (this.failWith) throw this.failWith;
    return super.put(dealId, expectedVersion, write);
  }
}

/** A purchase-only kit over `store` (options may add to or override the defaults). */
async function purchaseKit(store: MemoryStore, options: Partial<MerchantKitOptions> = {}) {
  return createMerchantKit({
    identity: await identity(),
    deals: store,
    purchases: { catalog: catalogFromItems(PRODUCTS, SHOP_TERMS), offerTtlMs: 60_000 },
    ...options,
  }).app;
}

const offerBody = () => JSON.stringify({ dealId: newDealId(), nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] });
const jsonPost = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('merchant kit mounted in a host app', () => {
  it('serves /semper/* next to the host routes, with its own JSON errors', async () => {
    const store = new MemoryStore();
    const host = new Hono();
    host.get('/', (c) => c.text('host home'));
    host.route('/', await purchaseKit(store));

    expect(await (await host.request('/')).text()).toBe('host home');
    const ok = await host.request('/semper/offer', jsonPost(offerBody()));
    expect(ok.status).toBe(200);
    expect(store.size).toBe(1);
    const bad = await host.request('/semper/offer', jsonPost('{'));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorJson).error.code).toBe('ERR_SCHEMA');
  });

  it('turns an unexpected failure into a bare 500 without internals', async () => {
    const store = new MemoryStore();
    store.failWith = new Error('SQLITE_CORRUPT: database disk image is malformed at /srv/secret/shop.sqlite');
    const app = await purchaseKit(store);
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const res = await app.request('/semper/offer', jsonPost(offerBody()));
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
      expect(text).not.toContain('SQLITE');
      expect(errors).toHaveLength(1); // the operator still gets the detail in the log
    } finally {
      console.error = original;
    }
  });

  it('guards the deal view with a bearer token when the host sets one', async () => {
    const store = new MemoryStore();
    const app = await purchaseKit(store, { operatorToken: 's3cret-operator-token' });
    const dealId = (JSON.parse(offerBody()) as { dealId: string }).dealId;
    await app.request('/semper/offer', jsonPost(JSON.stringify({ dealId, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] })));
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-operator-token!' },
      { authorization: 'Bearer s3cret' },
      { authorization: 's3cret-operator-token' },
    ]) {
      const refused = await app.request(`/semper/deals/${dealId}`, { headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await refused.json()) as ErrorJson).error.code).toBe('ERR_UNAUTHORIZED');
    }
    const ok = await app.request(`/semper/deals/${dealId}`, { headers: { authorization: 'Bearer s3cret-operator-token' } });
    expect(ok.status).toBe(200);
    const deal = (await ok.json()) as StoredDeal<MerchantDealState>;
    expect(deal).toMatchObject({ dealId, kind: 'purchase', phase: 'offered', version: 1, halted: false });
    expect(deal.state.phase).toBe('offered');
  });

  it('limits offers per client: past the limit 429 ERR_RATE_LIMITED with Retry-After, nothing signed or stored', async () => {
    const store = new MemoryStore();
    let t = Date.now();
    const app = await purchaseKit(store, { signedStatementsPerMinute: 3, now: () => t });
    for (let i = 0; i < 3; i++) expect((await app.request('/semper/offer', jsonPost(offerBody()))).status).toBe(200);
    const refused = await app.request('/semper/offer', jsonPost(offerBody()));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_RATE_LIMITED');
    expect(store.size).toBe(3);
    t += 61_000;
    expect((await app.request('/semper/offer', jsonPost(offerBody()))).status).toBe(200);
  });

  it('rejects a non-positive offer lifetime at construction', async () => {
    expect(() =>
      createMerchantKit({ identity: {} as MerchantIdentity, deals: new MemoryStore(), purchases: { catalog: catalogFromItems([], ''), offerTtlMs: 0 } }),
    ).toThrow(/offerTtlMs/);
  });
});

describe('one kit for every kind of deal', () => {
  async function fullKit(options: Partial<MerchantKitOptions> = {}) {
    const ca = await makeTestCa('Kit CA');
    const ttp = await ca.issue({ commonName: 'Kit TTP', role: 'ttp' });
    const store = new MemoryStore();
    const kit = createMerchantKit({
      identity: await identity(),
      deals: store,
      purchases: { catalog: catalogFromItems(PRODUCTS, SHOP_TERMS), offerTtlMs: 60_000 },
      exchanges: {
        catalog: shopExchangeCatalog(),
        ttp: { keyId: ttp.signer.keyId, url: 'http://127.0.0.1:9', certificateChain: ttp.chain },
        trustRoots: [ca.root],
      },
      ...options,
    });
    return { app: kit.app, store };
  }
  const descriptorRequest = async (dealId = newDealId()) =>
    JSON.stringify({
      dealId,
      nonce: newNonce(),
      use: 'certified-mail',
      documentId: EXCHANGE_DOCUMENTS[0]!.id,
    });

  it('one signed-statement budget: requests opening a deal (offers, descriptors) per client, requests about a deal the kit holds (orders, messages) per deal', async () => {
    let t = Date.now();
    const { app, store } = await fullKit({ signedStatementsPerMinute: 2, signedStatementsPerDealPerMinute: 3, now: () => t });
    const offered = await app.request('/semper/offer', jsonPost(offerBody()));
    expect(offered.status).toBe(200);
    const { offer } = (await offered.json()) as { offer: Statement<OfferBody> };
    const described = await app.request('/semper/exchange/descriptor', jsonPost(await descriptorRequest()));
    expect(described.status).toBe(200);
    const { descriptor } = (await described.json()) as { descriptor: Statement };
    // The client's budget for new deals is spent, by offers and descriptors alike.
    for (const [path, body] of [
      ['/semper/offer', offerBody()],
      ['/semper/exchange/descriptor', await descriptorRequest()],
    ] as const) {
      const refused = await app.request(path, jsonPost(body));
      expect(refused.status, path).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as ErrorJson).error.code).toBe('ERR_RATE_LIMITED');
    }
    // Requests about the deals the kit holds go on, each deal on its own budget (issue 8, item 11).
    const order = JSON.stringify({ order: await signOrder(offer, await testShopper()) });
    expect((await app.request('/semper/order', jsonPost(order))).status).toBe(200);
    // A well-formed message the merchant refuses still cost it a look: it counts (a malformed one does not).
    const bogus = await signStatement(
      { type: 'semper.exchange.propose', version: 1, dealId: descriptor.dealId, issuedAt: new Date(t).toISOString(), body: {} },
      await testShopper(),
    );
    for (let i = 0; i < 5; i++) {
      const malformed = await app.request('/semper/exchange/messages', jsonPost(JSON.stringify({ message: { ...bogus, signature: {} } })));
      expect(malformed.status).toBe(400);
    }
    for (let i = 0; i < 3; i++) {
      const refusedMessage = await app.request('/semper/exchange/messages', jsonPost(JSON.stringify({ message: bogus })));
      expect([400, 403, 409]).toContain(refusedMessage.status);
      expect(((await refusedMessage.json()) as ErrorJson).error.code).not.toBe('ERR_RATE_LIMITED');
    }
    const spent = await app.request('/semper/exchange/messages', jsonPost(JSON.stringify({ message: bogus })));
    expect(spent.status).toBe(429);
    expect(((await spent.json()) as ErrorJson).error.code).toBe('ERR_RATE_LIMITED');
    // The purchase's deal still has budget left: a repeated order gets the same answer.
    expect((await app.request('/semper/order', jsonPost(order))).status).toBe(200);
    expect(store.size).toBe(2);
    // Reading a deal signs nothing and is not limited.
    expect((await app.request(`/semper/deals/${offer.dealId}`)).status).toBe(200);
    t += 61_000;
    expect((await app.request('/semper/exchange/descriptor', jsonPost(await descriptorRequest()))).status).toBe(200);
  });

  it('one operator route serves purchases and exchanges alike, behind the same token', async () => {
    const { app } = await fullKit({ operatorToken: 'operator-token-for-all-kinds' });
    const exchangeDeal = newDealId();
    expect((await app.request('/semper/exchange/descriptor', jsonPost(await descriptorRequest(exchangeDeal)))).status).toBe(200);
    const purchaseDeal = (JSON.parse(offerBody()) as { dealId: string }).dealId;
    expect(
      (
        await app.request(
          '/semper/offer',
          jsonPost(JSON.stringify({ dealId: purchaseDeal, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] })),
        )
      ).status,
    ).toBe(200);
    const auth = { authorization: 'Bearer operator-token-for-all-kinds' };
    for (const [dealId, kind, phase] of [
      [exchangeDeal, 'exchange', 'offered'],
      [purchaseDeal, 'purchase', 'offered'],
    ] as const) {
      const refused = await app.request(`/semper/deals/${dealId}`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as ErrorJson).error.code).toBe('ERR_UNAUTHORIZED');
      const ok = await app.request(`/semper/deals/${dealId}`, { headers: auth });
      expect(await ok.json()).toMatchObject({ dealId, kind, phase, halted: false, version: 1 });
    }
    // The exchange kind had a route of its own; there is one now.
    expect((await app.request(`/semper/exchange/deals/${exchangeDeal}`, { headers: auth })).status).toBe(404);
    // A deal id names one deal: an offer for the exchange's deal id is a replay.
    const clash = await app.request(
      '/semper/offer',
      jsonPost(JSON.stringify({ dealId: exchangeDeal, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] })),
    );
    expect(clash.status).toBe(409);
    expect(((await clash.json()) as ErrorJson).error.code).toBe('ERR_REPLAY');
  });
});

describe.each(ENGINES)('two merchant kits on one database (two processes) on %s', (engine) => {
  it('apply concurrent duplicate orders once: the compare-and-set makes the loser re-read', async () => {
    const shared = await dealStores(engine, 'kitshared');
    try {
      const id = await identity();
      const stores = [await shared.open(), await shared.open()];
      const apps = stores.map(
        (s) =>
          createMerchantKit({
            identity: id,
            deals: s,
            purchases: { catalog: catalogFromItems(PRODUCTS, SHOP_TERMS), offerTtlMs: 60_000 },
          }).app,
      );
      const dealId = newDealId();
      const offered = await apps[0]!.request(
        '/semper/offer',
        jsonPost(JSON.stringify({ dealId, nonce: newNonce(), items: [{ sku: 'ink-drying-report', quantity: 1 }] })),
      );
      const { offer } = (await offered.json()) as { offer: Statement<OfferBody> };
      const order = await signOrder(offer, await testShopper());
      const body = JSON.stringify({ order });
      const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => apps[i % 2]!.request('/semper/order', jsonPost(body))));
      expect(replies.map((r) => r.status)).toEqual(Array(6).fill(200));
      const texts = await Promise.all(replies.map((r) => r.text()));
      expect(new Set(texts).size).toBe(1);
      const deal = await stores[1]!.get(dealId);
      expect(deal?.version).toBe(2);
    } finally {
      await shared.close();
    }
  });
});

describe('KeyedLock', () => {
  it('runs tasks for one key one at a time, other keys in parallel, and forgets idle keys', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const task = (key: string, name: string, ms: number) =>
      lock.run(key, async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        return name;
      });
    const results = await Promise.all([task('a', 'a1', 30), task('a', 'a2', 1), task('b', 'b1', 5)]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(lock.size).toBe(0);
  });

  it('releases the key when a task throws', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.run('k', async () => 'next')).toBe('next');
    expect(lock.size).toBe(0);
  });
});

describe('mutation table (docs/mutation-purchase.md): the kit reads back only the deal it asked for', () => {
  it('a catalogue that lists a SKU twice is refused (which of the two would be offered, which delivered?)', () => {
    const item = PRODUCTS[0]!;
    expect(() => catalogFromItems([item, { ...item, unitPrice: { amount: 1, currency: 'EUR' } }], SHOP_TERMS)).toThrow(
      expect.objectContaining({ code: 'ERR_SCHEMA' }),
    );
  });

  it("a row holding another deal's purchase state (a hand-edited or mixed-up file) is not acted on: 500, nothing signed", async () => {
    const store = new MemoryStore();
    const app = await purchaseKit(store);
    const a = newDealId();
    const res = await app.request(
      '/semper/offer',
      jsonPost(JSON.stringify({ dealId: a, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] })),
    );
    const { offer } = (await res.json()) as { offer: Statement<OfferBody> };
    const stored = (await store.get(a))!;
    // Deal B's row now holds deal A's state.
    const b = newDealId();
    expect(await store.put(b, null, { kind: 'purchase', phase: stored.phase, wakeAt: null, halted: false, state: stored.state })).toBe(true);
    const order = await signOrder(offer, await testShopper(), { dealId: b });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const answer = await app.request('/semper/order', jsonPost(JSON.stringify({ order })));
      expect(answer.status).toBe(500);
      expect(((await answer.json()) as ErrorJson).error.code).toBe('ERR_INTERNAL');
    } finally {
      console.error = original;
    }
    expect(((await store.get(b))!.state as MerchantDealState).phase).toBe('offered');
  });
});

describe('mutation table (docs/mutation-purchase.md): the kit and its deal stores', () => {
  it('a purchase row whose state is not a purchase state (no offered or confirmed phase) is not acted on: 500, nothing signed', async () => {
    const store = new MemoryStore();
    const app = await purchaseKit(store);
    const dealId = newDealId();
    const foreign = { phase: 'responding', dealId, use: 'certified-mail' };
    expect(await store.put(dealId, null, { kind: 'purchase', phase: 'responding', wakeAt: null, halted: false, state: foreign })).toBe(true);
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const answer = await app.request(
        '/semper/offer',
        jsonPost(JSON.stringify({ dealId, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] })),
      );
      expect(answer.status).toBe(500);
      expect(((await answer.json()) as ErrorJson).error.code).toBe('ERR_INTERNAL');
    } finally {
      console.error = original;
    }
    expect((await store.get(dealId))!.version).toBe(1);
  });

  it('answers with no-store and nosniff: no cache keeps or replays an offer, no browser sniffs it', async () => {
    const app = await purchaseKit(new MemoryStore());
    for (const res of [await app.request('/semper/offer', jsonPost(offerBody())), await app.request('/semper/offer', jsonPost('{'))]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('an offer request is bounded to 8 KiB (413 ERR_SCHEMA, nothing stored), far below the order bound', async () => {
    const store = new MemoryStore();
    const app = await purchaseKit(store);
    const padded = offerBody().replace(/}$/, `${' '.repeat(9 * 1024)}}`);
    const refused = await app.request('/semper/offer', jsonPost(padded));
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as ErrorJson).error.code).toBe('ERR_SCHEMA');
    expect(store.size).toBe(0);
    expect((await app.request('/semper/offer', jsonPost(offerBody().replace(/}$/, `${' '.repeat(4 * 1024)}}`)))).status).toBe(200);
  });

  const write = (kind: 'purchase' | 'exchange', phase: string): DealWrite => ({ kind, phase, wakeAt: null, halted: false, state: { phase, dealId: 'x' } });
  async function compareAndSet(store: { get(id: string): Promise<StoredDeal | undefined>; put(id: string, v: number | null, w: DealWrite): Promise<boolean> }) {
    const dealId = newDealId();
    expect(await store.put(dealId, null, write('purchase', 'offered'))).toBe(true);
    // A second first write (a concurrent offer request for the same deal id) loses.
    expect(await store.put(dealId, null, write('purchase', 'offered'))).toBe(false);
    expect(await store.put(dealId, 1, write('purchase', 'confirmed'))).toBe(true);
    // A write at a version read before the last write loses (another step got there first).
    expect(await store.put(dealId, 1, write('purchase', 'offered'))).toBe(false);
    // A write of another kind never lands on the deal, even at its version.
    expect(await store.put(dealId, 2, write('exchange', 'responding'))).toBe(false);
    expect(await store.get(dealId)).toMatchObject({ kind: 'purchase', phase: 'confirmed', version: 2 });
  }

  it('memory store: one first write per deal id, and later writes only at the version read and of the same kind', async () => {
    await compareAndSet(new MemoryMerchantDealStore());
  });

  it.each(ENGINES)('%s store: one first write per deal id, and later writes only at the version read and of the same kind', async (engine) => {
    const stores = await dealStores(engine, 'kitcas');
    try {
      await compareAndSet(await stores.open());
    } finally {
      await stores.close();
    }
  });
});
