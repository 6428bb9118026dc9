/**
 * disputes.raise / disputes.list and the trusted-arbiter setting (extension/disputes, settings/arbiter-trust):
 * a real purchase (both machines, test CA, certified merchant) archived as the worker keeps it, a
 * real arbiter (server/arbiter, its Hono app behind an injected fetch), and the attacks: a verdict by
 * an arbiter the shopper does not trust, a verdict for another complaint, an unreachable arbiter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../../core/crypto/index.js';
import { EvidenceBundle } from '../../../core/evidence/index.js';
import { arbiterIssuer } from '../../helpers/pki.js';
import { statementDigest, type Statement } from '../../../core/statements/index.js';
import { type ArbiterService, createArbiterApp, openMarketplaceArbiter } from '../../../server/arbiter/index.js';
import { MemoryDealStore, type PurchaseRecord } from '../../../extension/deals/records.js';
import {
  complaintToSign,
  DisputeError,
  listDisputes,
  raiseDispute,
  raiseTokenSignedDispute,
  TOKEN_COMPLAINT_TTL_MS,
  type DisputeDeps,
  type DisputeInput,
} from '../../../extension/disputes/raise.js';
import { IdentityService, MemorySettingsRecords, MemoryTokenRecords } from '../../../extension/identity/service.js';
import { challengeForStatement, createWebAuthnVerifier } from '../../../core/crypto/webauthn.js';
import type { WebAuthnStatementVerifier } from '../../../core/statements/verify.js';
import { orderToSign, startPurchase, stepMerchant, stepShopper, newMerchantDeal } from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import { randomId } from '../../../core/encoding/index.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import { evidenceHandlers } from '../../../extension/operations/handlers/evidence.js';
import { disputeHandlers } from '../../../extension/operations/handlers/disputes.js';
import type { OperationContext } from '../../../extension/operations/context.js';
import { MemoryFingerprintRecords, TrustedArbiters, type TrustedArbiter } from '../../../extension/settings/arbiter-trust.js';
import { fetchCertificate } from '../../../extension/settings/fetch-certificate.js';
import type { StoredKey } from '../../../extension/identity/key-store.js';
import { closeCheckingInvariants } from '../../core/payment/helpers.js';
import { type ArbiterWorld, makeArbiterWorld, REPORT, runPurchase } from '../../core/arbiter/fixtures.js';
import { statementsIn } from '../../evidence/deal-fixture.js';
import { handleOperation, type DispatchDeps } from '../../../extension/operations/dispatch.js';
import { BASE, EXT_ID } from '../fixtures.js';

const URL_A = 'http://127.0.0.1:8455';
const URL_B = 'http://127.0.0.1:9455';

let w: ArbiterWorld;
const dirs: string[] = [];
const services: ArbiterService[] = [];

async function openArbiter(o: { webauthn?: WebAuthnStatementVerifier } = {}): Promise<ArbiterService> {
  const dir = mkdtempSync(join(tmpdir(), 'semper-dispute-'));
  dirs.push(dir);
  const service = await openMarketplaceArbiter({
    dataDir: dir,
    ca: arbiterIssuer(w.ca, () => w.clock.now),
    paymentIssuers: [w.bank.bank.keyId],
    now: () => w.clock.now,
    ...(o.webauthn ? { webauthn: o.webauthn } : {}),
  });
  services.push(service);
  return service;
}

/** fetch, answered in-process by the arbiter app for that origin. */
function fetchTo(apps: Record<string, ReturnType<typeof createArbiterApp>>, calls: string[] = []): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push(url.href);
    const app = apps[url.origin];
    if (!app) throw new TypeError('fetch failed: connection refused');
    return app.fetch(new Request(url, init));
  }) as typeof fetch;
}

interface Setup {
  store: MemoryDealStore;
  dealId: string;
  shopper: Signer;
  arbiters: TrustedArbiters;
  deps: (fetchImpl: typeof fetch) => DisputeDeps;
}

/** A completed purchase archived as the worker keeps it: offer and reply received, the order sent. */
async function completedPurchase(
  store = new MemoryDealStore(),
  arbiters = new TrustedArbiters(new MemoryFingerprintRecords<TrustedArbiter>(), () => w.clock.now),
  token?: SoftAuthenticator,
): Promise<Setup> {
  const shopper = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
  const t = token ? await tokenPurchase(token) : await runPurchase(w, shopper);
  const record = {
    kind: 'purchase',
    dealId: t.dealId,
    origin: 'http://127.0.0.1:8451',
    createdAt: 1,
    updatedAt: 2,
    state: { phase: 'completed', dealId: t.dealId },
    status: 'completed',
    terminal: true,
  } as unknown as PurchaseRecord;
  await store.create(record);
  const entries = [
    { statement: t.offer as Statement<unknown>, direction: 'received' as const },
    { statement: t.order as Statement<unknown>, direction: 'sent' as const },
    ...statementsIn(JSON.parse(JSON.stringify(t.reply))).map((statement) => ({ statement, direction: 'received' as const })),
  ];
  await store.commit(
    record,
    await Promise.all(
      entries.map(async ({ statement, direction }, i) => ({
        dealId: t.dealId,
        direction,
        type: statement.type,
        statement,
        digest: await statementDigest(statement),
        archivedAt: i,
      })),
    ),
  );
  const key = { keyId: shopper.keyId, purpose: 'identity', status: 'active' } as unknown as StoredKey;
  const keys = { list: async () => [key], signer: async (k: StoredKey) => (k.keyId === shopper.keyId ? shopper : Promise.reject(new Error('no such key'))) };
  return {
    store,
    dealId: t.dealId,
    shopper,
    arbiters,
    deps: (fetchImpl) => ({ store, keys, roots: { ders: async () => [w.ca.root] }, arbiters, now: () => w.clock.now, fetchImpl }),
  };
}

const EXT = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const tokenVerifier = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT], requireUserVerification: false });

/** A purchase whose order a security key signed (the shop verifies it as the worker's machine does). */
async function tokenPurchase(token: SoftAuthenticator) {
  const now = w.clock.now;
  const device = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
  const ctx = { roots: [w.ca.root], signer: device, random: cryptoRandom, webauthn: tokenVerifier };
  const shop = { ...w.shop, webauthn: tokenVerifier };
  let s = startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: 'http://127.0.0.1:8451', items: [{ sku: REPORT.sku, quantity: 1 }], now });
  const offered = await stepMerchant(newMerchantDeal(s.state.dealId), { type: 'offer-requested', request: s.send[0]!.body, now }, shop);
  const offer = (offered.send[0]!.body as { offer: Statement }).offer;
  s = await stepShopper(s.state, { type: 'offer-response', response: { offer }, now }, ctx);
  const { signature: _header, ...unsigned } = orderToSign(s.state, now, { alg: 'webauthn-ES256', signer: token.signerRef });
  s = await stepShopper(s.state, { type: 'order-signed', order: await token.signStatement(unsigned), now }, ctx);
  const order = (s.send[0]!.body as { order: Statement }).order;
  const answered = await stepMerchant(offered.state, { type: 'order-received', order, now }, shop);
  return { dealId: s.state.dealId, offer, order, reply: answered.send[0]!.body };
}

/** The worker's identity service with `tokens` registered (what complaintToSign asks for the ceremony). */
async function identityWith(...tokens: SoftAuthenticator[]) {
  const records = new MemoryTokenRecords();
  for (const t of tokens) {
    await records.put({
      credentialId: t.credentialId,
      jwk: t.jwk,
      rpId: t.rpId,
      label: 'Key',
      userVerifiedAtRegistration: true,
      createdAt: 1,
      aaguid: '',
      attestationFormat: 'none',
    });
  }
  const identity = new IdentityService({
    keys: {} as never,
    tokens: records,
    settings: new MemorySettingsRecords(),
    roots: async () => [w.ca.root],
    fetch: (() => Promise.reject(new Error('offline'))) as typeof fetch,
    now: () => w.clock.now,
    randomId: (bytes) => randomId(bytes),
    extensionOrigin: EXT,
    challenges: { get: async () => [], set: async () => undefined },
  });
  return { identity, records };
}

beforeEach(async () => {
  w = await makeArbiterWorld();
});
afterEach(() => {
  for (const s of services.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  closeCheckingInvariants(w.bank);
});

describe('raising a dispute (extension)', () => {
  it('fetches and trusts the arbiter, files offer-denied with the deal’s bundle, keeps the verified verdict in the archive', async () => {
    const appA = createArbiterApp(await openArbiter());
    const f = fetchTo({ [URL_A]: appA });
    const s = await completedPurchase();
    // The setting: fetch by address (describes only), then trust that certificate.
    const getJson = async (u: string) => (await f(u)).json();
    const fetched = await fetchCertificate('arbiter', `${URL_A}/anything`, getJson, w.clock.now);
    expect(fetched).toMatchObject({ role: 'arbiter', url: URL_A, commonName: 'Semper Demo Arbiter' });
    await expect(fetchCertificate('ttp', URL_A, getJson, w.clock.now)).rejects.toThrow();
    const trusted = await s.arbiters.add({ certificate: fetched.certificate, url: URL_A });
    expect(trusted.fingerprint).toBe(fetched.fingerprint);
    await expect(s.arbiters.add({ certificate: w.ca.root, url: URL_A })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });

    const ctx = { ...s.deps(f), keys: s.deps(f).keys, arbiters: s.arbiters, fetchImpl: f } as unknown as OperationContext;
    const { dispute } = await disputeHandlers['disputes.raise']({ dealId: s.dealId, claim: 'offer-denied', arbiter: URL_A }, ctx);
    expect(dispute).toMatchObject({ claim: 'offer-denied', decision: 'upheld', rule: 'offer-denied/certified-offer', arbiter: 'Semper Demo Arbiter' });
    expect(dispute.reasons.length).toBeGreaterThan(0);
    // Archived: complaint sent, verdict received; listed; and the next export carries both.
    const archive = await s.store.archiveOf(s.dealId);
    expect(archive.filter((a) => a.type.startsWith('semper.arbiter.')).map((a) => [a.type, a.direction])).toEqual([
      ['semper.arbiter.complaint', 'sent'],
      ['semper.arbiter.verdict', 'received'],
    ]);
    expect(await listDisputes(s.store, s.dealId)).toEqual([dispute]);
    const { json } = await evidenceHandlers.exportEvidence({ dealId: s.dealId }, ctx);
    const types = EvidenceBundle.parse(JSON.parse(json)).statements.map((x) => (x.statement as Statement).type);
    expect(types).toEqual(expect.arrayContaining(['semper.arbiter.complaint', 'semper.arbiter.verdict']));
    // A second dispute about the same deal (its bundle now holds the first verdict) is judged too; by fingerprint this time.
    const second = await raiseDispute(s.deps(f), { dealId: s.dealId, claim: 'goods-not-delivered', arbiter: trusted.fingerprint });
    expect(second).toMatchObject({ decision: 'dismissed', rule: 'goods-not-delivered/delivered' });
    expect(await listDisputes(s.store, s.dealId)).toHaveLength(2);
  });

  it('refuses an arbiter the shopper does not trust, and a verdict signed by another arbiter than the one chosen', async () => {
    const appA = createArbiterApp(await openArbiter());
    const appB = createArbiterApp(await openArbiter());
    const calls: string[] = [];
    const f = fetchTo({ [URL_A]: appA, [URL_B]: appB }, calls);
    const s = await completedPurchase();
    const archived = (await s.store.archiveOf(s.dealId)).length;
    // Not in the setting at all: nothing is even sent.
    await expect(raiseDispute(s.deps(f), { dealId: s.dealId, claim: 'offer-denied', arbiter: URL_B })).rejects.toMatchObject({
      failure: 'untrusted-arbiter',
      code: 'ERR_CERT_UNTRUSTED',
    });
    expect(calls).toEqual([]);
    // Trusted: A's certificate — but the address answers with B's verdict (B is certified by the same CA, role arbiter).
    const a = (await (await appA.request('/arbiter/certificate')).json()) as { certificate: string };
    await s.arbiters.add({ certificate: a.certificate, url: URL_B });
    const err = await raiseDispute(s.deps(f), { dealId: s.dealId, claim: 'offer-denied', arbiter: URL_B }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DisputeError);
    expect(err).toMatchObject({ failure: 'untrusted-arbiter', code: 'ERR_CERT_UNTRUSTED', message: expect.stringMatching(/not by the arbiter you chose/) });
    expect(calls).toEqual([`${URL_B}/arbiter/complaints`]);
    expect(await s.store.archiveOf(s.dealId)).toHaveLength(archived);
  });

  it('refuses a verdict for another complaint (a replayed verdict of another deal)', async () => {
    const appA = createArbiterApp(await openArbiter());
    const f = fetchTo({ [URL_A]: appA });
    const arbiters = new TrustedArbiters(new MemoryFingerprintRecords<TrustedArbiter>(), () => w.clock.now);
    const a = (await (await appA.request('/arbiter/certificate')).json()) as { certificate: string };
    await arbiters.add({ certificate: a.certificate, url: URL_A });
    const store = new MemoryDealStore();
    const one = await completedPurchase(store, arbiters);
    const two = await completedPurchase(store, arbiters);
    await raiseDispute(one.deps(f), { dealId: one.dealId, claim: 'offer-denied', arbiter: URL_A });
    const [, verdict] = (await store.archiveOf(one.dealId)).filter((x) => x.type.startsWith('semper.arbiter.'));
    // A man in the middle (or a careless arbiter) answers deal two's complaint with deal one's genuine verdict.
    const replaying = (async () => Response.json({ verdict: verdict!.statement, id: verdict!.digest, replayed: true })) as unknown as typeof fetch;
    const before = (await store.archiveOf(two.dealId)).length;
    await expect(raiseDispute(two.deps(replaying), { dealId: two.dealId, claim: 'offer-denied', arbiter: URL_A })).rejects.toMatchObject({
      failure: 'bad-verdict',
      code: 'ERR_EVIDENCE_FOREIGN',
    });
    expect(await store.archiveOf(two.dealId)).toHaveLength(before);
  });

  it('an unreachable arbiter is a typed error and nothing is archived; the arbiter’s refusal comes back with its code', async () => {
    const appA = createArbiterApp(await openArbiter());
    const s = await completedPurchase();
    const a = (await (await appA.request('/arbiter/certificate')).json()) as { certificate: string };
    await s.arbiters.add({ certificate: a.certificate, url: URL_A });
    const before = (await s.store.archiveOf(s.dealId)).length;
    await expect(raiseDispute(s.deps(fetchTo({})), { dealId: s.dealId, claim: 'offer-denied', arbiter: URL_A })).rejects.toMatchObject({
      failure: 'arbiter-unreachable',
      message: expect.stringMatching(/could not be reached/),
    });
    // A claim a shopper cannot make about a purchase, and the deal's signing key gone: refused before anything is sent.
    await expect(raiseDispute(s.deps(fetchTo({ [URL_A]: appA })), { dealId: s.dealId, claim: 'payment-not-received', arbiter: URL_A })).rejects.toMatchObject({
      failure: 'not-a-claim',
    });
    const noKeys = { ...s.deps(fetchTo({ [URL_A]: appA })), keys: { list: async () => [], signer: async () => s.shopper } };
    await expect(raiseDispute(noKeys, { dealId: s.dealId, claim: 'offer-denied', arbiter: URL_A })).rejects.toMatchObject({ failure: 'no-signing-key' });
    // The arbiter refuses (as server/arbiter answers a refusal) → its code, typed as refused.
    const refusing = (async () =>
      Response.json({ error: { code: 'ERR_RATE_LIMITED', message: 'too many complaints' } }, { status: 429 })) as unknown as typeof fetch;
    await expect(raiseDispute(s.deps(refusing), { dealId: s.dealId, claim: 'offer-denied', arbiter: URL_A })).rejects.toMatchObject({
      failure: 'refused',
      code: 'ERR_RATE_LIMITED',
    });
    expect(await s.store.archiveOf(s.dealId)).toHaveLength(before);
  });

  it('the operations: Semper’s pages only, the request checked (a known claim, an arbiter named), the settings ops list and remove', async () => {
    const arbiters = new TrustedArbiters(new MemoryFingerprintRecords<TrustedArbiter>(), () => w.clock.now);
    const deps = {
      extensionId: EXT_ID,
      extensionBase: BASE,
      currentWindow: async () => undefined,
      store: new MemoryDealStore(),
      arbiters,
      now: () => w.clock.now,
    } as unknown as DispatchDeps;
    const popup = { id: EXT_ID, url: `${BASE}popup/index.html` };
    const request = { dealId: 'A'.repeat(22), claim: 'offer-denied', arbiter: URL_A };
    expect(await handleOperation({ op: 'disputes.raise', request }, { id: EXT_ID, url: 'https://shop.example/' }, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'disputes.raise', request: { ...request, claim: 'refund-please' } }, popup, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_SCHEMA' },
    });
    expect(await handleOperation({ op: 'disputes.raise', request }, popup, deps)).toMatchObject({ ok: false, error: { code: 'ERR_CERT_UNTRUSTED' } });
    const appA = createArbiterApp(await openArbiter());
    const a = (await (await appA.request('/arbiter/certificate')).json()) as { certificate: string };
    const added = await handleOperation({ op: 'settings.addArbiter', request: { certificate: a.certificate, url: `${URL_A}/` } }, popup, deps);
    expect(added).toMatchObject({ ok: true, response: { arbiter: { url: URL_A, commonName: 'Semper Demo Arbiter' } } });
    const fingerprint = (added as { response: { arbiter: { fingerprint: string } } }).response.arbiter.fingerprint;
    expect(await handleOperation({ op: 'settings.listArbiters', request: {} }, popup, deps)).toMatchObject({
      ok: true,
      response: { arbiters: [{ fingerprint }] },
    });
    expect(await handleOperation({ op: 'settings.removeArbiter', request: { fingerprint } }, popup, deps)).toMatchObject({
      ok: true,
      response: { removed: true },
    });
    expect(await handleOperation({ op: 'disputes.list', request: { dealId: 'A'.repeat(22) } }, popup, deps)).toMatchObject({
      ok: true,
      response: { disputes: [] },
    });
  });

  it('disputes.openWindow opens the trusted window on a deal of the archive, and on nothing else', async () => {
    const s = await completedPurchase();
    const opened: [string, string | undefined][] = [];
    const deps = {
      extensionId: EXT_ID,
      extensionBase: BASE,
      currentWindow: async () => undefined,
      store: s.store,
      openWindow: async (view: string, dealId?: string) => void opened.push([view, dealId]),
      now: () => w.clock.now,
    } as unknown as DispatchDeps;
    const popup = { id: EXT_ID, url: `${BASE}popup/index.html` };
    expect(await handleOperation({ op: 'disputes.openWindow', request: { dealId: 'A'.repeat(22) } }, popup, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_NOT_FOUND' },
    });
    expect(
      await handleOperation({ op: 'disputes.openWindow', request: { dealId: s.dealId } }, { id: EXT_ID, url: 'https://shop.example/' }, deps),
    ).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(opened).toEqual([]);
    expect(await handleOperation({ op: 'disputes.openWindow', request: { dealId: s.dealId } }, popup, deps)).toEqual({ ok: true, response: { opened: true } });
    expect(opened).toEqual([['dispute', s.dealId]]);
  });
});

describe('a dispute about a deal a security key signed', () => {
  async function setup() {
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT, userVerification: true });
    const app = createArbiterApp(await openArbiter({ webauthn: tokenVerifier }));
    const calls: string[] = [];
    const f = fetchTo({ [URL_A]: app }, calls);
    const s = await completedPurchase(undefined, undefined, token);
    const trusted = await s.arbiters.add({
      certificate: (await fetchCertificate('arbiter', URL_A, async (u) => (await f(u)).json(), w.clock.now)).certificate,
      url: URL_A,
    });
    calls.length = 0;
    const { identity, records } = await identityWith(token);
    const input: DisputeInput = { dealId: s.dealId, claim: 'offer-denied', arbiter: trusted.fingerprint, statement: 'The shop says it never offered this.' };
    return { token, s, f, calls, identity, records, input, deps: s.deps(f) };
  }
  /** What the trusted window does: the ceremony over the challenge, the assertion as the signature block. */
  async function signInWindow(token: SoftAuthenticator, request: Awaited<ReturnType<typeof complaintToSign>>) {
    if (request.signer !== 'token') throw new Error('expected a token request');
    const { signature: _header, ...unsigned } = request.complaint;
    return token.signStatement(unsigned);
  }
  const complaintsIn = async (store: MemoryDealStore, dealId: string) => (await store.archiveOf(dealId)).filter((a) => a.type.startsWith('semper.arbiter.'));

  it('the complaint is signed by that security key (device keys would not be a party), verified here, and the verdict kept', async () => {
    const { token, s, calls, identity, input, deps } = await setup();
    // disputes.raise cannot sign it with a device key: it says which way to go instead.
    await expect(raiseDispute(deps, input)).rejects.toMatchObject({ failure: 'token-signed', code: 'ERR_WEBAUTHN' });
    const request = await complaintToSign(deps, identity, input);
    if (request.signer !== 'token') throw new Error('expected a token request');
    expect(request).toMatchObject({ credentialId: token.credentialId, rpId: EXT, userVerification: 'preferred' });
    expect(request.complaint).toMatchObject({
      type: 'semper.arbiter.complaint',
      dealId: s.dealId,
      body: { claim: 'offer-denied', statement: input.statement },
    });
    expect(request.challenge).toBe(await challengeForStatement(request.complaint));
    const complaint = await signInWindow(token, request);
    const dispute = await raiseTokenSignedDispute(deps, tokenVerifier, { ...input, complaint });
    expect(dispute).toMatchObject({ claim: 'offer-denied', decision: 'upheld', arbiter: 'Semper Demo Arbiter' });
    expect(calls.filter((c) => c.endsWith('/arbiter/complaints'))).toHaveLength(1);
    const archived = await complaintsIn(s.store, s.dealId);
    expect(archived.map((a) => a.type)).toEqual(['semper.arbiter.complaint', 'semper.arbiter.verdict']);
    expect(archived[0]!.statement.signature).toMatchObject({ alg: 'webauthn-ES256', signer: { kind: 'webauthn', credentialId: token.credentialId } });
    // A device-signed deal needs no ceremony.
    const device = await completedPurchase(s.store, s.arbiters);
    expect(await complaintToSign(device.deps(deps.fetchImpl!), identity, { ...input, dealId: device.dealId })).toEqual({ signer: 'device' });
  });

  it('refuses, before anything leaves, a complaint by another key, for other words or evidence, a bad signature, an old one, and a key no longer registered', async () => {
    const { token, s, calls, identity, records, input, deps } = await setup();
    const request = await complaintToSign(deps, identity, input);
    if (request.signer !== 'token') throw new Error('expected a token request');
    const { signature: _header, ...unsigned } = request.complaint as typeof request.complaint & { body: Record<string, unknown> };
    const refused = async (complaint: Statement<unknown>, failure: string, code: string, over = input) =>
      expect(raiseTokenSignedDispute(deps, tokenVerifier, { ...over, complaint })).rejects.toMatchObject({ failure, code });

    // Another security key (even one registered here) signing the same complaint: not the deal's party.
    const other = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    await refused(await other.signStatement(unsigned), 'no-signing-key', 'ERR_WEBAUTHN');
    const good = await token.signStatement(unsigned);
    // The deal's credential id with another key's jwk: the assertion does not verify under it.
    await refused({ ...good, signature: { ...good.signature, signer: { ...token.signerRef, jwk: other.jwk } } }, 'no-signing-key', 'ERR_WEBAUTHN');
    // Other words than asked, another claim, evidence of another bundle.
    await refused(await token.signStatement({ ...unsigned, body: { ...unsigned.body, statement: 'Something else.' } }), 'not-a-claim', 'ERR_EVIDENCE_FOREIGN');
    await refused(await token.signStatement(unsigned), 'not-a-claim', 'ERR_EVIDENCE_FOREIGN', { ...input, claim: 'goods-not-delivered' });
    await refused(await token.signStatement({ ...unsigned, body: { ...unsigned.body, evidence: 'A'.repeat(43) } }), 'not-a-claim', 'ERR_EVIDENCE_FOREIGN');
    // A tampered assertion.
    const flipped = good.signature.value.startsWith('M') ? `N${good.signature.value.slice(1)}` : `M${good.signature.value.slice(1)}`;
    await refused({ ...good, signature: { ...good.signature, value: flipped } }, 'no-signing-key', 'ERR_WEBAUTHN');
    // Signed longer ago than the window a complaint stays good for.
    w.clock.now += TOKEN_COMPLAINT_TTL_MS + 1;
    await refused(good, 'not-a-claim', 'ERR_SCHEMA');
    expect(calls.filter((c) => c.endsWith('/arbiter/complaints'))).toEqual([]);
    expect(await complaintsIn(s.store, s.dealId)).toEqual([]);
    // The key was removed from this browser: no ceremony is offered for it.
    await records.delete(token.credentialId);
    await expect(complaintToSign(deps, identity, input)).rejects.toMatchObject({ code: 'ERR_WEBAUTHN' });
  });
});
