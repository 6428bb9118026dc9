/**
 * The arbiter's server (server/arbiter) through its Hono app (app.request, no ports): a complaint
 * with an evidence bundle from a real deal → a signed verdict; the same complaint again → the same
 * verdict, not a second decision; a restart (close, reopen the same data directory) keeps the key
 * and every verdict; refusals answered with their code and status; verdicts append-only.
 */
import { buildBundle, type EvidenceBundle } from '../../core/evidence/bundle.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../core/crypto/index.js';
import { digestJson } from '../../core/encoding/index.js';
import { arbiterIssuer } from '../helpers/pki.js';
import type { Statement } from '../../core/statements/index.js';
import { signComplaint, verifyVerdict, type Claim, type VerdictBody } from '../../core/arbiter/index.js';
import { ARBITER_DB_FILE, type ArbiterService, createArbiterApp, type OpenArbiterOptions, openMarketplaceArbiter } from '../../server/arbiter/index.js';
import { CaService } from '../../server/ca/index.js';
import { StatementStamps } from '../../server/storage/statement-stamps.js';
import { inProcessTimestamper, openMarketplaceTsa } from '../../server/tsa/index.js';
import { closeCheckingInvariants } from '../core/payment/helpers.js';
import { type ArbiterWorld, fundedShopper, makeArbiterWorld, payShop, runPurchase } from '../core/arbiter/fixtures.js';

let w: ArbiterWorld;
let dir: string;
let arbiter: ArbiterService;

const issuer = () => arbiterIssuer(w.ca, () => w.clock.now);

const open = (extra: Pick<OpenArbiterOptions, 'stamps'> = {}) =>
  openMarketplaceArbiter({ dataDir: dir, ca: issuer(), paymentIssuers: [w.bank.bank.keyId], now: () => w.clock.now, ...extra });

beforeEach(async () => {
  w = await makeArbiterWorld();
  dir = mkdtempSync(join(tmpdir(), 'semper-arbiter-'));
  arbiter = await open();
});
afterEach(() => {
  arbiter.close();
  rmSync(dir, { recursive: true, force: true });
  closeCheckingInvariants(w.bank);
});

/** A real evidence bundle (core/evidence) of these statements. */
function bundleOf(dealId: string, statements: unknown[]): Promise<EvidenceBundle> {
  return buildBundle({ deal: { id: dealId, kind: 'purchase', exporter: 'shopper' }, statements: statements as Statement[], now: w.clock.now });
}

/** An unpaid-for, undelivered purchase the shopper paid: the honest complaint is upheld. */
async function paidUndelivered() {
  const shopper = await fundedShopper(w);
  const t = await runPurchase(w, shopper.signer, { noAnswer: true });
  const proof = await payShop(w, shopper, t.dealId);
  return { shopper, t, bundle: await bundleOf(t.dealId, [t.offer, t.order, proof]) };
}

async function complaintFor(signer: Parameters<typeof signComplaint>[1], dealId: string, bundle: unknown, claim: Claim = 'goods-not-delivered') {
  return signComplaint({ claim, dealId, evidence: await digestJson(bundle) }, signer, w.clock.now);
}

const post = (app: ReturnType<typeof createArbiterApp>, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  app.request('/arbiter/complaints', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

type Answer = { verdict: Statement<VerdictBody>; id: string; replayed: boolean; error?: { code: string; message: string } };

describe('arbiter server', () => {
  it('a complaint with its bundle gets a signed, reasoned verdict that verifies against the CA root as the arbiter’s', async () => {
    const app = createArbiterApp(arbiter);
    const { shopper, t, bundle } = await paidUndelivered();
    const res = await post(app, { complaint: await complaintFor(shopper.signer, t.dealId, bundle), bundle });
    expect(res.status).toBe(200);
    const a = (await res.json()) as Answer;
    expect(a.replayed).toBe(false);
    const v = await verifyVerdict(a.verdict, { roots: [w.ca.root], now: w.clock.now });
    expect(v.body).toMatchObject({ decision: 'upheld', rule: 'goods-not-delivered/paid-undelivered' });
    expect(v.arbiter).toBe('Semper Demo Arbiter');
    const cert = (await (await app.request('/arbiter/certificate')).json()) as { certificate: string; pem: string };
    expect(a.verdict.signature.signer).toEqual({ kind: 'x509', chain: [cert.certificate] });
    expect(cert.pem).toMatch(/BEGIN CERTIFICATE/);
  });

  it('the same complaint again gets the stored verdict, not a second decision (also when both race)', async () => {
    const app = createArbiterApp(arbiter);
    const { shopper, t, bundle } = await paidUndelivered();
    const complaint = await complaintFor(shopper.signer, t.dealId, bundle);
    const first = (await (await post(app, { complaint, bundle })).json()) as Answer;
    w.clock.now += 60_000; // a later decision would carry a later issuedAt
    const again = (await (await post(app, { complaint, bundle })).json()) as Answer;
    expect(again.replayed).toBe(true);
    expect(again.verdict).toEqual(first.verdict);
    const x = await complaintFor(shopper.signer, t.dealId, bundle, 'goods-mismatch');
    const racing = await Promise.all([post(app, { complaint: x, bundle }), post(app, { complaint: x, bundle })]);
    const answers = (await Promise.all(racing.map((r) => r.json()))) as Answer[];
    expect(answers[0]!.verdict).toEqual(answers[1]!.verdict);
    expect(arbiter.count()).toBe(2);
  });

  it('of two racing copies of a complaint, only the verdict kept is time-stamped (the other was never issued)', async () => {
    arbiter.close();
    const ca = await CaService.open({ dataDir: dir });
    const tsa = await openMarketplaceTsa({ dataDir: dir, ca });
    const stamps = StatementStamps.open({ dataDir: dir, party: 'arbiter', timestamper: inProcessTimestamper(tsa) });
    arbiter = await open({ stamps });
    try {
      const app = createArbiterApp(arbiter);
      const { shopper, t, bundle } = await paidUndelivered();
      const complaint = await complaintFor(shopper.signer, t.dealId, bundle);
      // Both pass the replay check before either is stored; each signs a verdict of its own (ES256 is randomised).
      const racing = (await Promise.all([post(app, { complaint, bundle }), post(app, { complaint, bundle })].map(async (r) => (await r).json()))) as Answer[];
      expect(racing.map((a) => a.replayed).sort()).toEqual([false, true]);
      await stamps.idle();
      const kept = racing[0]!.id;
      expect(stamps.tokenOf(kept)).toBeDefined();
      const file = new Database(join(dir, 'arbiter-timestamps.sqlite'), { readonly: true });
      try {
        expect(file.prepare('SELECT statement_digest AS of FROM statement_stamps').all()).toEqual([{ of: kept }]);
      } finally {
        file.close();
      }
    } finally {
      await stamps.close();
      tsa.close();
      await ca.close();
    }
  });

  it('GET /arbiter/verdicts/:id by the verdict’s id or the complaint’s digest; 404 otherwise', async () => {
    const app = createArbiterApp(arbiter);
    const { shopper, t, bundle } = await paidUndelivered();
    const complaint = await complaintFor(shopper.signer, t.dealId, bundle);
    const a = (await (await post(app, { complaint, bundle })).json()) as Answer;
    const byId = (await (await app.request(`/arbiter/verdicts/${a.id}`)).json()) as Answer;
    expect(byId.verdict).toEqual(a.verdict);
    const byComplaint = (await (await app.request(`/arbiter/verdicts/${a.verdict.body.complaint}`)).json()) as Answer;
    expect(byComplaint.id).toBe(a.id);
    expect((await app.request(`/arbiter/verdicts/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await app.request('/arbiter/verdicts/not-an-id')).status).toBe(404);
  });

  it('a restart keeps the arbiter’s key and every verdict', async () => {
    const { shopper, t, bundle } = await paidUndelivered();
    const complaint = await complaintFor(shopper.signer, t.dealId, bundle);
    const a = (await (await post(createArbiterApp(arbiter), { complaint, bundle })).json()) as Answer;
    const keyId = arbiter.keyId;
    arbiter.close();
    arbiter = await open();
    expect(arbiter.keyId).toBe(keyId);
    const app = createArbiterApp(arbiter);
    expect(((await (await app.request(`/arbiter/verdicts/${a.id}`)).json()) as Answer).verdict).toEqual(a.verdict);
    const again = (await (await post(app, { complaint, bundle })).json()) as Answer;
    expect(again).toMatchObject({ replayed: true, id: a.id });
  });

  it('verdicts are append-only: the database refuses to change or delete one', async () => {
    const { shopper, t, bundle } = await paidUndelivered();
    await post(createArbiterApp(arbiter), { complaint: await complaintFor(shopper.signer, t.dealId, bundle), bundle });
    const db = new Database(join(dir, ARBITER_DB_FILE));
    try {
      expect(() => db.prepare("UPDATE verdicts SET decision = 'dismissed'").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM verdicts').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
    expect(arbiter.count()).toBe(1);
  });

  it('refusals come back with their code and status, and nothing is stored', async () => {
    const app = createArbiterApp(arbiter);
    const { shopper, t, bundle } = await paidUndelivered();
    const errorOf = async (r: Response) => ({ status: r.status, ...((await r.json()) as { error: { code: string; message: string } }).error });
    // tampered: a statement in the bundle changed after signing
    const tamperedBundle = await bundleOf(t.dealId, [t.offer, { ...t.order, issuedAt: new Date(w.clock.now + 1).toISOString() }]);
    expect(await errorOf(await post(app, { complaint: await complaintFor(shopper.signer, t.dealId, tamperedBundle), bundle: tamperedBundle }))).toMatchObject({
      status: 403,
      code: 'ERR_SIGNATURE_INVALID',
      message: expect.stringMatching(/^tampered/),
    });
    // foreign: the bundle is not the one the complaint committed to
    const other = await bundleOf(t.dealId, [t.offer, t.order]);
    expect(await errorOf(await post(app, { complaint: await complaintFor(shopper.signer, t.dealId, bundle), bundle: other }))).toMatchObject({
      status: 422,
      code: 'ERR_EVIDENCE_FOREIGN',
    });
    // not a party
    const stranger = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    expect(await errorOf(await post(app, { complaint: await complaintFor(stranger, t.dealId, bundle), bundle }))).toMatchObject({
      status: 403,
      code: 'ERR_FORBIDDEN',
    });
    // malformed: cut mid-JSON, or not the filing's shape, or not JSON at all
    const whole = JSON.stringify({ complaint: await complaintFor(shopper.signer, t.dealId, bundle), bundle });
    expect(await errorOf(await post(app, whole.slice(0, whole.length / 2)))).toMatchObject({ status: 400, code: 'ERR_SCHEMA' });
    expect(await errorOf(await post(app, { complaint: {}, bundle: { format: 'x' } }))).toMatchObject({ status: 400, code: 'ERR_SCHEMA' });
    expect((await post(app, whole, { 'content-type': 'text/plain' })).status).toBe(400);
    expect(arbiter.count()).toBe(0);
  });

  it('a body over the limit is refused before it is read (413); complaints beyond the budget get 429', async () => {
    const app = createArbiterApp(arbiter, { signedStatementsPerMinute: 1 });
    const big = await app.request('/arbiter/complaints', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(9 * 1024 * 1024) },
      body: '{}',
    });
    expect(big.status).toBe(413);
    const { shopper, t, bundle } = await paidUndelivered();
    expect((await post(app, { complaint: await complaintFor(shopper.signer, t.dealId, bundle), bundle })).status).toBe(200);
    const second = await post(app, { complaint: await complaintFor(shopper.signer, t.dealId, bundle, 'goods-mismatch'), bundle });
    expect(second.status).toBe(429);
  });
});
