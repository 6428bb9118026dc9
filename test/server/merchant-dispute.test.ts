/**
 * The merchant kit's disputes: POST /semper/deals/:dealId/dispute (operator token) files the deal's
 * bundle with a complaint signed by the merchant's certified key at a real arbiter (server/arbiter,
 * in-process behind the kit's injected fetch), checks the verdict and keeps it in the kit's store
 * (SQLite schema 4, or PostgreSQL: append-only on both); a verdict by another arbiter, an unreachable arbiter, a claim a
 * merchant cannot make are refused and nothing is kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyVerdict } from '../../core/arbiter/index.js';
import type { OfferBody } from '../../core/protocol/commerce.js';
import type { Statement } from '../../core/statements/index.js';
import { type ArbiterService, createArbiterApp, openMarketplaceArbiter } from '../../server/arbiter/index.js';
import { catalogFromItems, createMerchantKit, type StoredDispute } from '../../server/merchant/index.js';
import { PRODUCTS, SHOP_TERMS } from '../../server/shop/catalog.js';
import { ENGINES, type EngineName } from '../helpers/engines.js';
import { arbiterIssuer, makeTestCa, type TestCa } from '../helpers/pki.js';
import { dealStores } from './merchant-stores.js';
import { newDealId, newNonce, signOrder, testShopper } from './helpers.js';

const ORIGIN = 'https://shop.example';
const TOKEN = 'kit-operator-token';
const ARBITER_URL = 'http://127.0.0.1:8455';
const jsonPost = (body: unknown, token?: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'semper-kit-dispute-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openArbiter(ca: TestCa): Promise<ArbiterService> {
  const service = await openMarketplaceArbiter({
    dataDir: tempDir(),
    ca: arbiterIssuer(ca),
  });
  cleanup.push(() => service.close());
  return service;
}

const via = (app: ReturnType<typeof createArbiterApp>) =>
  ((input: RequestInfo | URL, init?: RequestInit) => app.fetch(new Request(String(input), init))) as typeof fetch;

async function setup(engine: EngineName, operatorToken: string | null = TOKEN) {
  const ca = await makeTestCa();
  const m = await ca.issue({ commonName: 'Dispute Shop GmbH', role: 'merchant', origins: [ORIGIN] });
  const arbiter = await openArbiter(ca);
  const arbiterApp = createArbiterApp(arbiter);
  const stores = await dealStores(engine, 'kitdispute');
  cleanup.push(() => stores.close());
  const deals = await stores.open();
  const kit = createMerchantKit({
    identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
    deals,
    purchases: { catalog: catalogFromItems(PRODUCTS, SHOP_TERMS), offerTtlMs: 60_000 },
    ...(operatorToken !== null ? { operatorToken } : {}),
    arbiter: { url: ARBITER_URL, certificate: arbiter.certificateChain[0]!, roots: [ca.root], fetch: via(arbiterApp) },
  });
  // A purchase the shopper ordered (signed order at the merchant).
  const dealId = newDealId();
  const offerRes = await kit.app.request('/semper/offer', jsonPost({ dealId, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] }));
  const { offer } = (await offerRes.json()) as { offer: Statement<OfferBody> };
  expect((await kit.app.request('/semper/order', jsonPost({ order: await signOrder(offer, await testShopper()) }))).status).toBe(200);
  return { ca, kit, deals, dealId, arbiter, sqlite: stores.sqlite };
}

type Answer = { dispute: StoredDispute; replayed: boolean; kept: boolean; error?: { code: string; message: string } };

describe.each(ENGINES)('merchant kit disputes on %s', (engine) => {
  it('order-denied: the shopper’s signed order → upheld, verdict checked and kept with the deal; operator only', async () => {
    const { ca, kit, deals, dealId, arbiter, sqlite } = await setup(engine);
    const path = `/semper/deals/${dealId}/dispute`;
    expect((await kit.app.request(path, jsonPost({ claim: 'order-denied' }))).status).toBe(401);
    const res = await kit.app.request(path, jsonPost({ claim: 'order-denied', statement: 'The buyer says it never ordered.' }, TOKEN));
    expect(res.status).toBe(200);
    const a = (await res.json()) as Answer;
    expect(a).toMatchObject({ replayed: false, kept: true, dispute: { dealId, claim: 'order-denied', decision: 'upheld', rule: 'order-denied/signed-order' } });
    expect((await verifyVerdict(a.dispute.verdict, { roots: [ca.root], now: Date.now() })).body.complaint).toBe(a.dispute.complaintDigest);
    expect(arbiter.count()).toBe(1);
    // payment-not-received: no bank proof in the merchant's evidence → undecided, says what is missing.
    const unpaid = (await (await kit.app.request(path, jsonPost({ claim: 'payment-not-received' }, TOKEN))).json()) as Answer;
    expect(unpaid.dispute).toMatchObject({ decision: 'undecided', rule: 'payment-not-received/no-proof' });
    // Kept: listed for the operator, in the database, append-only.
    const listed = (await (await kit.app.request(`/semper/deals/${dealId}/disputes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      disputes: StoredDispute[];
    };
    expect(listed.disputes.map((d) => d.rule)).toEqual(['order-denied/signed-order', 'payment-not-received/no-proof']);
    expect(await deals.disputes(dealId)).toEqual(listed.disputes);
    await expect(sql`DELETE FROM merchant_verdicts`.execute(deals.database.db)).rejects.toThrow(/append-only/);
    if (sqlite) expect(sqlite.schemaVersion('merchant')).toBe(5);
    // The evidence export now carries both complaints and verdicts.
    const exported = (await (await kit.app.request(`/semper/deals/${dealId}/evidence`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      statements: { statement: Statement }[];
    };
    expect(exported.statements.filter((x) => x.statement.type.startsWith('semper.arbiter.'))).toHaveLength(4);
  });

  it('refuses a claim a merchant cannot make, a verdict by another arbiter, an unreachable arbiter: nothing kept', async () => {
    const { ca, kit, deals, dealId } = await setup(engine);
    const path = `/semper/deals/${dealId}/dispute`;
    const post = async (body: unknown) => {
      const r = await kit.app.request(path, jsonPost(body, TOKEN));
      return { status: r.status, ...((await r.json()) as Answer) };
    };
    expect(await post({ claim: 'goods-not-delivered' })).toMatchObject({ status: 400, error: { code: 'ERR_SCHEMA' } });
    // Another arbiter, certified by the same CA, answers at the configured address.
    const other = await openArbiter(ca);
    const configured = await openArbiter(ca);
    kit.setArbiter({ url: ARBITER_URL, certificate: configured.certificateChain[0]!, roots: [ca.root], fetch: via(createArbiterApp(other)) });
    expect(await post({ claim: 'order-denied' })).toMatchObject({
      status: 502,
      error: { code: 'ERR_CERT_UNTRUSTED', message: expect.stringMatching(/configured arbiter/) },
    });
    // Unreachable.
    const refused = (async () => {
      throw new TypeError('fetch failed: connect ECONNREFUSED');
    }) as unknown as typeof fetch;
    kit.setArbiter({ url: ARBITER_URL, certificate: configured.certificateChain[0]!, roots: [ca.root], fetch: refused });
    expect(await post({ claim: 'order-denied' })).toMatchObject({ status: 502, error: { message: expect.stringMatching(/could not be reached/) } });
    expect(await deals.disputes(dealId)).toEqual([]);
    // No such deal.
    expect((await kit.app.request(`/semper/deals/${newDealId()}/dispute`, jsonPost({ claim: 'order-denied' }, TOKEN))).status).toBe(404);
  });

  it('without a configured operator token the dispute route is closed (it makes the merchant sign); the read-only routes stay open on loopback', async () => {
    const { kit, deals, dealId, arbiter } = await setup(engine, null);
    const res = await kit.app.request(`/semper/deals/${dealId}/dispute`, jsonPost({ claim: 'order-denied' }));
    expect(res.status).toBe(403);
    expect(((await res.json()) as Answer).error).toMatchObject({ code: 'ERR_FORBIDDEN', message: expect.stringMatching(/operator token/) });
    // Any bearer is no better: there is nothing to match it against.
    expect((await kit.app.request(`/semper/deals/${dealId}/dispute`, jsonPost({ claim: 'order-denied' }, 'guess'))).status).toBe(403);
    expect(arbiter.count()).toBe(0);
    expect(await deals.disputes(dealId)).toEqual([]);
    expect((await kit.app.request(`/semper/deals/${dealId}`)).status).toBe(200);
  });
});
