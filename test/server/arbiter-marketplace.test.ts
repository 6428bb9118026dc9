/**
 * The arbiter in the marketplace `npm start` runs: on its own port, certified by the marketplace CA
 * (role arbiter); a complaint over HTTP about an offer the shop really signed gets a verdict; a
 * restart on the same data directory keeps the arbiter's key and its verdicts.
 */
import { runReadmeRecipe } from '../evidence/recipe.js';
import { buildBundle, verifyBundle, verifyRfc3161Timestamp } from '../../core/evidence/index.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestJson, randomId } from '../../core/encoding/index.js';
import { validateChain } from '../../core/pki/index.js';
import { nowIso, signStatement, statementDigest, type Statement } from '../../core/statements/index.js';
import { signComplaint, verifyVerdict, type VerdictBody } from '../../core/arbiter/index.js';
import { type Marketplace, startMarketplace } from '../../server/marketplace.js';
import { poolKeys, signer } from '../core/payment/helpers.js';
import { tempDataDir } from './helpers.js';

const tmp = tempDataDir('marketplace-arbiter');
let market: Marketplace | undefined;

const start = () =>
  startMarketplace({
    dataDir: tmp.dir,
    caPort: 0,
    shopPort: 0,
    ttpPort: 0,
    bankPort: 0,
    arbiterPort: 0,
    bank: { keyFactory: poolKeys(0), rotation: { values: [100, 500, 1000] } },
  });

beforeAll(async () => {
  market = await start();
});

afterAll(async () => {
  await market?.close();
  tmp.remove();
});

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the arbiter in the marketplace', () => {
  let verdictId = '';
  let keyId = '';

  it('serves a certificate of role arbiter from the marketplace CA (also in arbiter.pem)', async () => {
    const m = market!;
    const cert = (await (await fetch(`${m.arbiterUrl}/arbiter/certificate`)).json()) as { certificate: string; chain: string[] };
    expect(cert.certificate).toBe(m.arbiterCertificate);
    const { leaf } = await validateChain(cert.chain, { roots: [m.rootCertificate], now: new Date() });
    expect(leaf.role).toBe('arbiter');
    expect(existsSync(join(m.dataDir, 'arbiter.pem'))).toBe(true);
    keyId = m.arbiterKeyId;
  });

  it('a shopper whose offer the shop denies: upheld on the offer the shop signed, verdict signed by the arbiter', async () => {
    const m = market!;
    const dealId = randomId(18);
    const offerReply = await post(`${m.shopUrl}/semper/offer`, {
      dealId,
      nonce: randomId(32),
      items: [{ sku: 'colour-management-abstract', quantity: 1 }],
      deliveryCommitments: true,
    });
    expect(offerReply.status).toBe(200);
    const offer = offerReply.body.offer as Statement<{ offerId: string }>;
    const shopper = await signer();
    const order = await signStatement(
      {
        type: 'semper.order',
        version: 1,
        dealId,
        issuedAt: nowIso(Date.now()),
        body: { offerId: offer.body.offerId, offerDigest: await statementDigest(offer), paymentMethod: 'invoice' },
      },
      shopper,
    );
    // The shop accepts the order and the marketplace TSA stamps it (after the answer): the shop's own
    // evidence export carries the token, which verifies over the order.
    expect((await post(`${m.shopUrl}/semper/order`, { order })).status).toBe(200);
    const orderDigest = await statementDigest(order);
    const shopBundle = async () => (await (await fetch(`${m.shopUrl}/semper/deals/${dealId}/evidence`)).json()) as { timestamps: { of: string }[] };
    await expect.poll(async () => (await shopBundle()).timestamps.map((t) => t.of), { timeout: 10_000 }).toEqual([orderDigest]);
    const stamped = await verifyBundle(await shopBundle(), { roots: [m.rootCertificate], verifyTimestamp: verifyRfc3161Timestamp });
    expect(stamped.timestamps).toMatchObject([{ of: orderDigest, status: 'verified' }]);
    const bundle = await buildBundle({ deal: { id: dealId, kind: 'purchase', exporter: 'shopper' }, statements: [offer, order] });
    const complaint = await signComplaint({ claim: 'offer-denied', dealId, evidence: await digestJson(bundle) }, shopper, Date.now());
    const answer = await post(`${m.arbiterUrl}/arbiter/complaints`, { complaint, bundle });
    expect(answer.status).toBe(200);
    const v = await verifyVerdict(answer.body.verdict, { roots: [m.rootCertificate], now: Date.now() });
    expect(v.body).toMatchObject({ decision: 'upheld', rule: 'offer-denied/certified-offer' } satisfies Partial<VerdictBody>);
    verdictId = answer.body.id as string;
  });

  it('a restart keeps the arbiter’s key and its verdicts', async () => {
    await market!.close();
    market = await start();
    expect(market.arbiterKeyId).toBe(keyId);
    const res = await fetch(`${market.arbiterUrl}/arbiter/verdicts/${verdictId}`);
    expect(res.status).toBe(200);
    // The verdict was time-stamped by the marketplace TSA (before the restart): the token is served with it,
    // and a bundle of the verdict and its token verifies, the verdict dated by the TSA.
    const { verdict, timestamp } = (await res.json()) as { verdict: Statement; timestamp?: string };
    expect(timestamp).toBeDefined();
    const bundle = await buildBundle({
      deal: { id: verdict.dealId, kind: 'verdict', exporter: 'arbiter' },
      statements: [verdict],
      timestamps: [{ of: verdictId, token: timestamp! }],
    });
    const report = await verifyBundle(bundle, { roots: [market.rootCertificate], verifyTimestamp: verifyRfc3161Timestamp });
    expect(report.ok).toBe(true);
    expect(report.statements[0]!.timeBasis).toBe('time-stamp');
    // The same with stock OpenSSL (the README recipe): the verdict's signature, chain and time stamp —
    // and a verdict whose decision was changed fails it.
    const recipe = await runReadmeRecipe(bundle, market.rootCertificate);
    expect(recipe, recipe.out).toMatchObject({ ok: true });
    const forged = structuredClone(bundle);
    (forged.statements[0]!.statement as Statement<{ decision: string }>).body.decision = 'dismissed';
    expect((await runReadmeRecipe(forged, market.rootCertificate)).ok).toBe(false);
  });
});
