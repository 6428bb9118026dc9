/**
 * Arbiter-server checks that no other test fails without (test/mutation/evidence.ts): a filing
 * with a field the schema does not know, a bundle whose OpenSSL artefacts are not its statements'
 * (only the whole-bundle check sees it), and a merchant certificate the revocation source says is
 * revoked — each refused, nothing stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBundle, type EvidenceBundle } from '../../core/evidence/bundle.js';
import { digestJson } from '../../core/encoding/index.js';
import { arbiterIssuer } from '../helpers/pki.js';
import type { RevocationSource } from '../../core/pki/revocation.js';
import type { Statement } from '../../core/statements/index.js';
import { signComplaint } from '../../core/arbiter/index.js';
import { type ArbiterService, createArbiterApp, openMarketplaceArbiter } from '../../server/arbiter/index.js';
import { closeCheckingInvariants } from '../core/payment/helpers.js';
import { type ArbiterWorld, fundedShopper, makeArbiterWorld, payShop, runPurchase } from '../core/arbiter/fixtures.js';

let w: ArbiterWorld;
let dir: string;
const opened: ArbiterService[] = [];

const issuer = () => arbiterIssuer(w.ca, () => w.clock.now);

async function open(revocation?: RevocationSource): Promise<ArbiterService> {
  const a = await openMarketplaceArbiter({
    dataDir: dir,
    ca: issuer(),
    paymentIssuers: [w.bank.bank.keyId],
    now: () => w.clock.now,
    ...(revocation ? { revocation } : {}),
  });
  opened.push(a);
  return a;
}

beforeEach(async () => {
  w = await makeArbiterWorld();
  dir = mkdtempSync(join(tmpdir(), 'semper-arbiter-kills-'));
});
afterEach(() => {
  for (const a of opened.splice(0)) a.close();
  rmSync(dir, { recursive: true, force: true });
  closeCheckingInvariants(w.bank);
});

async function paidUndelivered() {
  const shopper = await fundedShopper(w);
  const t = await runPurchase(w, shopper.signer, { noAnswer: true });
  const proof = await payShop(w, shopper, t.dealId);
  const bundle: EvidenceBundle = await buildBundle({
    deal: { id: t.dealId, kind: 'purchase', exporter: 'shopper' },
    statements: [t.offer, t.order, proof] as Statement[],
    now: w.clock.now,
  });
  return { shopper, t, bundle };
}

const complaintFor = async (signer: Parameters<typeof signComplaint>[1], dealId: string, bundle: unknown) =>
  signComplaint({ claim: 'goods-not-delivered', dealId, evidence: await digestJson(bundle) }, signer, w.clock.now);

const post = (app: ReturnType<typeof createArbiterApp>, body: unknown) =>
  app.request('/arbiter/complaints', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const answer = async (r: Response) => ({ status: r.status, ...((await r.json()) as { error?: { code: string; message: string } }).error });

describe('arbiter server', () => {
  it('a filing with a field besides complaint and bundle is malformed (the honest filing is judged)', async () => {
    const arbiter = await open();
    const app = createArbiterApp(arbiter);
    const { shopper, t, bundle } = await paidUndelivered();
    const complaint = await complaintFor(shopper.signer, t.dealId, bundle);
    expect(await answer(await post(app, { complaint, bundle, verdict: 'upheld' }))).toMatchObject({ status: 400, code: 'ERR_SCHEMA' });
    expect(arbiter.count()).toBe(0);
    expect((await post(app, { complaint, bundle })).status).toBe(200);
  });

  it("a bundle whose openssl artefacts are another statement's is tampered, though every statement verifies", async () => {
    const arbiter = await open();
    const app = createArbiterApp(arbiter);
    const { shopper, t, bundle } = await paidUndelivered();
    const changed = structuredClone(bundle);
    changed.statements[1]!.openssl.signature = changed.statements[0]!.openssl.signature;
    expect(await answer(await post(app, { complaint: await complaintFor(shopper.signer, t.dealId, changed), bundle: changed }))).toMatchObject({
      status: 403,
      code: 'ERR_SIGNATURE_INVALID',
      message: expect.stringMatching(/^tampered: bundle: .*openssl\.signature/),
    });
    expect(arbiter.count()).toBe(0);
  });

  it('a certificate the revocation source reports revoked is refused, after the source was prepared with the chains filed', async () => {
    const prepared: number[] = [];
    const revocation: RevocationSource = {
      prepare: async (chains) => {
        prepared.push(chains.length);
      },
      isRevoked: async (cert) => cert.role === 'merchant',
    };
    const arbiter = await open(revocation);
    const app = createArbiterApp(arbiter);
    const { shopper, t, bundle } = await paidUndelivered();
    expect(await answer(await post(app, { complaint: await complaintFor(shopper.signer, t.dealId, bundle), bundle }))).toMatchObject({
      status: 403,
      code: 'ERR_CERT_REVOKED',
    });
    expect(prepared[0]).toBeGreaterThan(0);
    expect(arbiter.count()).toBe(0);
  });
});
