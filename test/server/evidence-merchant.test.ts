/** The merchant kit's evidence export: GET /semper/deals/:dealId/evidence (operator token), checked by verifyBundle. */
import { describe, expect, it } from 'vitest';
import { EvidenceBundle, verifyBundle } from '../../core/evidence/index.js';
import type { OfferBody } from '../../core/protocol/commerce.js';
import type { Statement } from '../../core/statements/index.js';
import { catalogFromItems, createMerchantKit, MemoryMerchantDealStore } from '../../server/merchant/index.js';
import { PRODUCTS, SHOP_TERMS } from '../../server/shop/catalog.js';
import { makeTestCa } from '../helpers/pki.js';
import { newDealId, newNonce, signOrder, testShopper } from './helpers.js';

const jsonPost = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('merchant kit evidence export', () => {
  it('exports a purchase (offer, order, merchant statements) as a bundle that verifies; operator only; tar on request', async () => {
    const ca = await makeTestCa();
    const m = await ca.issue({ commonName: 'Evidence Shop GmbH', role: 'merchant', origins: ['https://shop.example'] });
    const { app } = createMerchantKit({
      identity: { signer: m.signer, chain: m.chain, origin: 'https://shop.example' },
      deals: new MemoryMerchantDealStore(),
      purchases: { catalog: catalogFromItems(PRODUCTS, SHOP_TERMS), offerTtlMs: 60_000 },
      operatorToken: 'kit-operator-token',
    });
    const dealId = newDealId();
    const offerRes = await app.request('/semper/offer', jsonPost({ dealId, nonce: newNonce(), items: [{ sku: 'fm-screening-abstract', quantity: 1 }] }));
    expect(offerRes.status).toBe(200);
    const { offer } = (await offerRes.json()) as { offer: Statement<OfferBody> };
    const order = await signOrder(offer, await testShopper());
    const orderRes = await app.request('/semper/order', jsonPost({ order }));
    expect(orderRes.status).toBe(200);

    const path = `/semper/deals/${dealId}/evidence`;
    expect((await app.request(path)).status).toBe(401);
    const auth = { headers: { authorization: 'Bearer kit-operator-token' } };
    const ok = await app.request(path, auth);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toBe(`attachment; filename="semper-evidence-${dealId}.json"`);
    const bundle = EvidenceBundle.parse(await ok.json());
    expect(bundle.deal).toMatchObject({ id: dealId, kind: 'purchase', exporter: 'merchant kit https://shop.example' });
    const types = bundle.statements.map((s) => (s.statement as Statement).type);
    expect(types).toEqual(expect.arrayContaining(['semper.offer', 'semper.order']));
    expect(types.length).toBeGreaterThanOrEqual(3);
    const report = await verifyBundle(bundle, { roots: [ca.root] });
    expect(report.problems).toEqual([]);
    expect(report.statements.map((s) => s.problems)).toEqual(bundle.statements.map(() => []));
    expect(report.ok).toBe(true);

    const tar = await app.request(`${path}?format=tar`, auth);
    expect(tar.status).toBe(200);
    expect(tar.headers.get('content-type')).toBe('application/x-tar');
    expect((await app.request(`/semper/deals/${newDealId()}/evidence`, auth)).status).toBe(404);
  });
});
