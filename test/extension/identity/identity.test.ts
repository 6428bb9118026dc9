/**
 * The shopper's identity in Node, without IndexedDB: the key store (purposes, one pseudonym per
 * origin, rotation, revocation, legacy migration), the identity service (phrase, threshold, CA
 * registration and revocation against a CA built from core/pki, WebAuthn registration and token
 * signing with the software authenticator, through the real purchase machine), and who may call
 * the identity operations.
 */
import { NO_PAYMENTS } from '../../../extension/payments/service.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, jwkThumbprint, signerFromKeyPair } from '../../../core/crypto/index.js';
import { randomId } from '../../../core/encoding/index.js';
import { createWebAuthnVerifier, type RegistrationResponseJSON } from '../../../core/crypto/webauthn.js';
import { SemperError } from '../../../core/errors.js';
import { issueCertificate, validateChain, verifyCertificationRequest } from '../../../core/pki/index.js';
import { verifyStatement } from '../../../core/statements/index.js';
import { newMerchantDeal, startPurchase, stepMerchant, stepShopper, type ShopperState } from '../../../core/commerce/index.js';
import { STATEMENT_TYPES } from '../../../core/protocol/commerce.js';
import { FIREFOX_WEBAUTHN_ORIGIN, GECKO_ID, extensionRelyingParties, firefoxWebAuthnOrigin } from '../../../core/protocol/extension-id.js';
import { canonicalSerial } from '../../../core/pki/index.js';
import { cryptoRandom, type TransportReply } from '../../../core/machine.js';
import {
  CHALLENGE_TTL_MS,
  DEFAULT_HARDWARE_TOKEN_ABOVE,
  IdentityService,
  MemorySettingsRecords,
  MemoryTokenRecords,
  normaliseCaUrl,
  normalisePhrase,
  type PendingChallenge,
} from '../../../extension/identity/service.js';
import { KeyStore, MemoryKeyRecords } from '../../../extension/identity/key-store.js';
import { MemoryDealStore, type PurchaseRecord } from '../../../extension/deals/records.js';
import { purchaseKind } from '../../../extension/deals/purchase.js';
import { MachineHost, type HttpOutbound } from '../../../extension/worker/host.js';
import { handleOperation, type DispatchDeps } from '../../../extension/operations/dispatch.js';
import { TrustRoots } from '../../../extension/settings/trust-roots.js';
import { TrustedTtps } from '../../../extension/settings/ttp-trust.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';

const EXT = 'chrome-extension://ogebgngddklbcapdihmjkemgigajimlo';
/** A Firefox add-on page's own origin: a per-install UUID, not what its WebAuthn ceremonies report. */
const FIREFOX_PAGE_ORIGIN = 'moz-extension://5e3b2a1c-0d4f-4e6a-9b8c-7a6f5e4d3c2b';
const SHOP = 'http://127.0.0.1:8451';
const CA_URL = 'http://127.0.0.1:8450';
const CODE = 'ABCD-EFGH-JKMN-PQRS';

let ca: TestCa;
beforeAll(async () => {
  ca = await makeTestCa();
});

function keyStore(extra: Partial<ConstructorParameters<typeof KeyStore>[0]> = {}) {
  const records = new MemoryKeyRecords();
  let t = 1_000;
  return { records, keys: new KeyStore({ records, now: () => ++t, ...extra }) };
}

describe('key store', () => {
  it('makes one non-extractable identity key, also under concurrent first use', async () => {
    const { keys, records } = keyStore();
    const [a, b, c] = await Promise.all([keys.identity(), keys.identity(), keys.identity()]);
    expect(b.keyId).toBe(a.keyId);
    expect(c.keyId).toBe(a.keyId);
    expect(records.keys.size).toBe(1);
    expect(a).toMatchObject({ purpose: 'identity', status: 'active', alg: 'ES256' });
    expect(a.pair.privateKey.extractable).toBe(false);
    expect(a.keyId).toBe(await jwkThumbprint(a.publicJwk));
    const signer = await keys.signer(a);
    expect(signer.keyId).toBe(a.keyId);
  });

  it('migrates the legacy device key into an empty key ring, once', async () => {
    const legacy = await generateKeyPair('ES256', false);
    let dropped = 0;
    const { keys } = keyStore({ legacyDeviceKey: async () => ({ pair: legacy, createdAt: 42 }), legacyMigrated: async () => void dropped++ });
    const identity = await keys.identity();
    expect(identity).toMatchObject({ purpose: 'identity', createdAt: 42, migrated: true });
    expect((await keys.signer(identity)).publicJwk).toEqual(identity.publicJwk);
    expect(identity.pair.publicKey).toBe(legacy.publicKey);
    expect(dropped).toBe(1);
    await keys.identity();
    expect(dropped).toBe(1);
  });

  it('refuses extractable keys', async () => {
    const { keys } = keyStore({ generate: () => generateKeyPair('ES256', true) });
    await expect(keys.identity()).rejects.toMatchObject({ code: 'ERR_KEY' });
  });

  it('never signs with a stored key found extractable (a record the key store did not write)', async () => {
    const { keys } = keyStore();
    const identity = await keys.identity();
    const exportable = { ...identity, pair: await generateKeyPair('ES256', true) };
    await expect(keys.signer(exportable)).rejects.toMatchObject({ code: 'ERR_KEY' });
  });

  it('one pseudonym per merchant origin: reused for that origin, never for another, never the identity', async () => {
    const { keys } = keyStore();
    const identity = await keys.identity();
    const [a1, a2] = await Promise.all([keys.pseudonymFor(SHOP), keys.pseudonymFor(SHOP)]);
    const b = await keys.pseudonymFor('https://other.example');
    expect(a2.keyId).toBe(a1.keyId);
    expect(a1).toMatchObject({ purpose: 'pseudonym', origin: SHOP, status: 'active' });
    expect(b.keyId).not.toBe(a1.keyId);
    expect(new Set([identity.keyId, a1.keyId, b.keyId]).size).toBe(3);
    expect((await keys.pseudonyms()).map((k) => k.origin).sort()).toEqual(['http://127.0.0.1:8451', 'https://other.example']);
    expect(() => keys.pseudonymFor('http://127.0.0.1:8451/path')).toThrow(SemperError);
  });

  it('rotation: a new identity; the old one is kept (rotated), no longer signs orders, can still sign its revocation', async () => {
    const { keys } = keyStore();
    const first = await keys.identity();
    const { previous, current } = await keys.rotateIdentity();
    expect(previous?.keyId).toBe(first.keyId);
    expect(previous?.status).toBe('rotated');
    expect((await keys.identity()).keyId).toBe(current.keyId);
    expect((await keys.list()).map((k) => [k.keyId, k.status])).toEqual([
      [first.keyId, 'rotated'],
      [current.keyId, 'active'],
    ]);
    await expect(keys.signer((await keys.get(first.keyId))!)).rejects.toMatchObject({ code: 'ERR_KEY' });
    await expect(keys.revocationSigner((await keys.get(first.keyId))!)).resolves.toMatchObject({ keyId: first.keyId });
    const revoked = await keys.markRevoked(first.keyId, 'superseded');
    await expect(keys.revocationSigner(revoked)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
  });
});

/** A CA over a fake fetch, built from core/pki: POST /ca/register and /ca/revoke as server/ca answers them. */
function fakeCa(opts: { certifyOtherKey?: boolean } = {}) {
  const issued = new Map<string, string>();
  const revoked: { serial: string; reason: string }[] = [];
  const requests: { path: string; body: unknown }[] = [];
  let codeUsed = false;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
    requests.push({ path: url.pathname, body });
    if (url.origin !== CA_URL) return json(404, { error: { code: 'ERR_NOT_FOUND', message: 'no such CA' } });
    if (url.pathname === '/ca/register') {
      if (body.registrationCode !== CODE.replace(/-/g, '') || codeUsed)
        return json(403, { error: { code: 'ERR_REGISTRATION_CODE', message: 'unknown, expired or used code' } });
      codeUsed = true;
      const csr = await verifyCertificationRequest(body.csr as string);
      const subject = opts.certifyOtherKey ? (await generateKeyPair('ES256')).publicKey : csr.publicKey;
      const der = await issueCertificate({
        issuerCertificate: ca.root,
        issuerPrivateKey: ca.keys.privateKey,
        subjectPublicKey: subject,
        commonName: 'Alice Example',
        role: 'shopper',
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 86_400_000),
      });
      // Serials compared as server/ca compares them: lower-case hex without leading zeros.
      const serial = canonicalSerial((await validateChain([der], { roots: [ca.root], now: new Date() })).leaf.serialNumber);
      issued.set(serial, der);
      return json(200, { certificate: der, chain: [der], name: 'Alice Example', serial });
    }
    if (url.pathname === '/ca/revoke') {
      const verified = await verifyStatement<{ serial: string; reason: string }>(body.request, {
        types: ['semper.ca.revocation-request'],
        requireCertificate: true,
        trust: { roots: [ca.root], now: new Date() },
      });
      const { serial, reason } = verified.statement.body;
      if (verified.chain!.leaf.der !== issued.get(canonicalSerial(serial)))
        return json(403, { error: { code: 'ERR_FORBIDDEN', message: 'not signed by that certificate' } });
      revoked.push({ serial, reason });
      return json(200, { serial, status: 'revoked', revokedAt: new Date().toISOString(), reason });
    }
    return json(404, { error: { code: 'ERR_NOT_FOUND', message: 'no route' } });
  }) as typeof fetch;
  return { fetch: fetchImpl, issued, revoked, requests };
}

function service(opts: { fetch?: typeof fetch; roots?: string[]; firefox?: boolean; now?: () => number } = {}) {
  const { keys } = keyStore();
  let challenges: PendingChallenge[] = [];
  const tokens = new MemoryTokenRecords();
  const settings = new MemorySettingsRecords();
  const svc = new IdentityService({
    keys,
    tokens,
    settings,
    roots: async () => opts.roots ?? [ca.root],
    fetch: opts.fetch ?? ((() => Promise.reject(new Error('offline'))) as typeof fetch),
    now: opts.now ?? (() => Date.now()),
    randomId: (bytes) => randomId(bytes),
    extensionOrigin: opts.firefox ? FIREFOX_PAGE_ORIGIN : EXT,
    ...(opts.firefox ? { firefox: { webauthnOrigin: firefoxWebAuthnOrigin(GECKO_ID) } } : {}),
    challenges: {
      get: async () => challenges,
      set: async (v) => {
        challenges = v;
      },
    },
  });
  return { svc, keys, tokens, settings };
}

describe('identity service: phrase, settings', () => {
  it('phrase: 3–64 characters, trimmed, no control characters; picture one of twelve', async () => {
    const { svc } = service();
    expect(normalisePhrase('  blue   teapot  ')).toBe('blue teapot');
    expect(() => normalisePhrase('ab')).toThrow(/3–64/);
    expect(() => normalisePhrase('x'.repeat(65))).toThrow(/3–64/);
    expect(() => normalisePhrase('bell\u0007 here')).toThrow(/control/);
    expect((await svc.status()).personalised).toBe(false);
    await expect(svc.personalise('blue teapot', 12)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await svc.personalise(' blue teapot ', 3);
    expect(await svc.status()).toMatchObject({ personalised: true, personalisation: { phrase: 'blue teapot', picture: 3 } });
  });

  it('threshold: 100.00 EUR by default, editable, or none; CA URL https or loopback http', async () => {
    const { svc } = service();
    expect(await svc.policy()).toEqual({ hardwareTokenAbove: DEFAULT_HARDWARE_TOKEN_ABOVE });
    expect(DEFAULT_HARDWARE_TOKEN_ABOVE).toEqual({ amount: 10_000, currency: 'EUR' });
    await svc.updateSettings({ hardwareTokenAbove: { amount: 2500, currency: 'EUR' } });
    expect(await svc.policy()).toEqual({ hardwareTokenAbove: { amount: 2500, currency: 'EUR' } });
    await svc.updateSettings({ hardwareTokenAbove: null });
    expect(await svc.policy()).toEqual({});
    await expect(svc.updateSettings({ hardwareTokenAbove: { amount: -1, currency: 'EUR' } })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    expect(normaliseCaUrl(' http://127.0.0.1:8450/ca/ ')).toBe('http://127.0.0.1:8450');
    expect(normaliseCaUrl('https://ca.example')).toBe('https://ca.example');
    expect(() => normaliseCaUrl('http://ca.example')).toThrow(/https/);
    expect(() => normaliseCaUrl('https://user:pw@ca.example')).toThrow(/credentials/);
  });
});

describe('identity service: CA registration and revocation', () => {
  it('registers the identity key with a one-time code (PKCS #10), stores the certificate; the code is not reusable', async () => {
    const net = fakeCa();
    const { svc } = service({ fetch: net.fetch });
    await expect(svc.register(CA_URL, 'not a code')).rejects.toMatchObject({ code: 'ERR_REGISTRATION_CODE' });
    expect(net.requests).toHaveLength(0); // refused before asking the CA
    await expect(svc.register(CA_URL, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ')).rejects.toMatchObject({ code: 'ERR_REGISTRATION_CODE' });
    const identity = await svc.register(`${CA_URL}/`, CODE.toLowerCase());
    expect(identity.certificate).toMatchObject({ name: 'Alice Example', caUrl: CA_URL, trusted: true });
    expect((await svc.status()).identity?.certificate?.name).toBe('Alice Example');
    await expect(svc.register(CA_URL, CODE)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
  });

  it('refuses a certificate for another key; marks a certificate from an untrusted CA', async () => {
    await expect(service({ fetch: fakeCa({ certifyOtherKey: true }).fetch }).svc.register(CA_URL, CODE)).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    const other = await makeTestCa('Some Other Root');
    const identity = await service({ fetch: fakeCa().fetch, roots: [other.root] }).svc.register(CA_URL, CODE);
    expect(identity.certificate?.trusted).toBe(false);
  });

  it('revocation: a request signed by the certified key, posted as { request }', async () => {
    const net = fakeCa();
    const { svc } = service({ fetch: net.fetch });
    const identity = await svc.register(CA_URL, CODE);
    await svc.rotate();
    await expect(svc.revoke(identity.keyId, 'lost it')).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    const revoked = await svc.revoke(identity.keyId, 'superseded');
    expect(revoked).toMatchObject({ status: 'revoked', revocation: { reason: 'superseded' } });
    expect(net.revoked).toEqual([{ serial: identity.certificate!.serial, reason: 'superseded' }]);
    const sent = net.requests.at(-1)!.body as { request: { signature: { signer: unknown } } };
    expect(sent.request.signature.signer).toEqual({ kind: 'x509', chain: [net.issued.get(identity.certificate!.serial)] });
    await expect(svc.revoke(identity.keyId, 'superseded')).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
  });
});

/** A deal awaiting confirmation (the real machines); by default its offer demands a token with UV. */
async function awaitingDeal(opts: { demandToken?: boolean; dealId?: string } = {}): Promise<Extract<ShopperState, { phase: 'awaiting-confirmation' }>> {
  const m = await ca.issue({ commonName: 'Token Shop', role: 'merchant', origins: [SHOP] });
  const dealId = opts.dealId ?? 'deal-token-0000000001';
  const start = startPurchase({ dealId, nonce: 'n'.repeat(43), origin: SHOP, items: [{ sku: 'archive', quantity: 1 }], now: Date.now() });
  const offered = await stepMerchant(
    newMerchantDeal(dealId),
    { type: 'offer-requested', request: start.send[0]!.body, now: Date.now() },
    {
      identity: { signer: m.signer, chain: m.chain, origin: SHOP },
      lookup: () => ({
        sku: 'archive',
        title: 'Archive',
        unitPrice: { amount: 14_900, currency: 'EUR' },
        kind: 'digital',
        good: { mediaType: 'text/plain', content: 'x' },
      }),
      offerTtlMs: 600_000,
      terms: 'T',
      random: cryptoRandom,
      ...(opts.demandToken === false ? {} : { requireHardwareToken: () => ({ hardwareToken: true, userVerification: true }) }),
    },
  );
  const step = await stepShopper(
    start.state,
    { type: 'offer-response', response: offered.send[0]!.body, now: Date.now() },
    { roots: [ca.root], signer: await signerFromKeyPair('ES256', await generateKeyPair('ES256')), random: cryptoRandom },
  );
  if (step.state.phase !== 'awaiting-confirmation') throw new Error(`offer not accepted: ${step.state.phase}`);
  return step.state;
}

describe('identity service: hardware tokens', () => {
  it("registration: the worker's challenge, once; the credential is stored with its key and RP ID", async () => {
    const { svc } = service();
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const options = await svc.beginTokenRegistration();
    expect(options).toMatchObject({ rp: { name: 'Semper' }, pubKeyCredParams: [{ type: 'public-key', alg: -7 }], attestation: 'none' });
    expect('id' in options.rp).toBe(false); // Chromium fills in chrome-extension://<id>
    const response = await token.makeCredential(options.challenge);
    const stored = await svc.finishTokenRegistration('My key', options.challenge, response);
    expect(stored).toMatchObject({ credentialId: token.credentialId, label: 'My key', rpId: EXT, userVerifiedAtRegistration: true });
    await expect(svc.finishTokenRegistration('Again', options.challenge, response)).rejects.toMatchObject({ code: 'ERR_WEBAUTHN' });
    // The next registration excludes the registered credential.
    expect((await svc.beginTokenRegistration()).excludeCredentials).toEqual([{ id: token.credentialId, type: 'public-key' }]);
  });

  it('a registration challenge expires; a security key is registered once', async () => {
    let now = Date.now();
    const { svc } = service({ now: () => now });
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const late = await svc.beginTokenRegistration();
    now += CHALLENGE_TTL_MS + 1;
    await expect(svc.finishTokenRegistration('Late', late.challenge, await token.makeCredential(late.challenge))).rejects.toMatchObject({
      code: 'ERR_WEBAUTHN',
    });
    expect(await svc.listTokens()).toEqual([]);
    const first = await svc.beginTokenRegistration();
    await svc.finishTokenRegistration('First', first.challenge, await token.makeCredential(first.challenge));
    // The same key again, on a fresh challenge: refused, and what is stored for it stays as it was.
    const again = await svc.beginTokenRegistration();
    await expect(svc.finishTokenRegistration('Second', again.challenge, await token.makeCredential(again.challenge))).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
    expect((await svc.listTokens()).map((t) => t.label)).toEqual(['First']);
  });

  it('registration from another origin is refused', async () => {
    const { svc } = service();
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const options = await svc.beginTokenRegistration();
    const response: RegistrationResponseJSON = await token.makeCredential(options.challenge, { origin: 'https://evil.example' });
    await expect(svc.finishTokenRegistration('x', options.challenge, response)).rejects.toMatchObject({ code: 'ERR_WEBAUTHN' });
    expect(await svc.listTokens()).toEqual([]);
  });

  it("signing an order: the machine accepts the token's order with UV, refuses one without UV (deal stays open)", async () => {
    const { svc } = service();
    const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const options = await svc.beginTokenRegistration();
    await svc.finishTokenRegistration('Key', options.challenge, await token.makeCredential(options.challenge));
    const state = await awaitingDeal();
    await expect(svc.tokenSigningRequest({ ...state, phase: 'requesting-offer' } as ShopperState, undefined, Date.now())).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
    const request = await svc.tokenSigningRequest(state, undefined, Date.now());
    expect(request).toMatchObject({ userVerification: 'required', credentialId: token.credentialId, rpId: EXT });
    const { signature: header, ...unsigned } = request.order;
    expect(header).toEqual({ alg: 'webauthn-ES256', signer: token.signerRef });

    const ctx = {
      roots: [ca.root],
      random: cryptoRandom,
      signer: await signerFromKeyPair('ES256', await generateKeyPair('ES256')),
      webauthn: createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT], requireUserVerification: false }),
    };
    const noUv = await token.signStatement(unsigned, { flags: 0x01 });
    await svc.checkTokenSigner(noUv);
    await expect(stepShopper(state, { type: 'order-signed', order: noUv, now: Date.now() }, ctx)).rejects.toMatchObject({
      code: 'ERR_HARDWARE_TOKEN_REQUIRED',
    });
    // A device-key confirm is refused the same way.
    await expect(stepShopper(state, { type: 'user-confirmed', now: Date.now() }, ctx)).rejects.toMatchObject({ code: 'ERR_HARDWARE_TOKEN_REQUIRED' });

    const signed = await token.signStatement(unsigned);
    const step = await stepShopper(state, { type: 'order-signed', order: signed, now: Date.now() }, ctx);
    expect(step.state.phase).toBe('ordering');
    expect(step.send[0]?.path).toBe('/semper/order');
    const verified = await verifyStatement(signed, { types: [STATEMENT_TYPES.order], webauthn: ctx.webauthn });
    expect(verified.userVerified).toBe(true);

    // An order from an unregistered credential is refused before the machine sees it.
    const stranger = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    await expect(svc.checkTokenSigner(await stranger.signStatement(unsigned))).rejects.toMatchObject({ code: 'ERR_WEBAUTHN' });
  });
});

describe('identity service: hardware tokens in Firefox (web-domain RP ID)', () => {
  it('registers for the RP ID tied to the CA (loopback → localhost), expecting the add-on origin moz-extension://<SHA-256 of its id>', async () => {
    const { svc } = service({ firefox: true });
    expect((await svc.status()).tokenRpId).toBe('localhost');
    const options = await svc.beginTokenRegistration();
    expect(options.rp).toEqual({ name: 'Semper', id: 'localhost' });
    const token = await SoftAuthenticator.create({ rpId: 'localhost', origin: FIREFOX_WEBAUTHN_ORIGIN });
    const stored = await svc.finishTokenRegistration('Key', options.challenge, await token.makeCredential(options.challenge));
    expect(stored).toMatchObject({ credentialId: token.credentialId, rpId: 'localhost' });
    // Chromium's status has no Firefox RP ID.
    expect('tokenRpId' in (await service().svc.status())).toBe(false);
    // settings.get's view (the settings record alone) says the same as the status.
    expect(await svc.settingsView()).toEqual({
      hardwareTokenAbove: { amount: 10_000, currency: 'EUR' },
      caUrl: (await svc.status()).caUrl,
      tokenRpId: 'localhost',
    });
    expect('tokenRpId' in (await service().svc.settingsView())).toBe(false);
    await svc.updateSettings({ hardwareTokenAbove: null, tokenRpId: 'shop.example' });
    expect(await svc.settingsView()).toMatchObject({ hardwareTokenAbove: null, tokenRpId: 'shop.example' });
  });

  it("refuses a credential made on the page's own origin, by another add-on, by the web site, or for another RP ID", async () => {
    const { svc } = service({ firefox: true });
    const cases: [string, string][] = [
      [FIREFOX_PAGE_ORIGIN, 'localhost'],
      [await firefoxWebAuthnOrigin('evil@add-on.example'), 'localhost'],
      ['http://localhost:8451', 'localhost'],
      [FIREFOX_WEBAUTHN_ORIGIN, 'evil.example'],
    ];
    for (const [origin, rpId] of cases) {
      const token = await SoftAuthenticator.create({ rpId, origin });
      const options = await svc.beginTokenRegistration();
      await expect(
        svc.finishTokenRegistration('x', options.challenge, await token.makeCredential(options.challenge)),
        `${origin} ${rpId}`,
      ).rejects.toMatchObject({
        code: 'ERR_WEBAUTHN',
      });
    }
    expect(await svc.listTokens()).toEqual([]);
  });

  it('the RP ID is a setting: a web domain (not an IP address), null for the CA default; Chromium has none; an IP-address CA needs one', async () => {
    const { svc } = service({ firefox: true });
    expect(await svc.updateSettings({ tokenRpId: 'Shop.Example' })).toMatchObject({ tokenRpId: 'shop.example' });
    expect((await svc.beginTokenRegistration()).rp.id).toBe('shop.example');
    await expect(svc.updateSettings({ tokenRpId: '192.168.1.2' })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(svc.updateSettings({ tokenRpId: 'https://shop.example' })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    expect(await svc.updateSettings({ tokenRpId: null, caUrl: 'https://ca.semper.example' })).toMatchObject({ tokenRpId: 'ca.semper.example' });
    expect(await svc.updateSettings({ caUrl: 'http://127.0.0.1:9000' })).toMatchObject({ tokenRpId: 'localhost' });
    await expect(service().svc.updateSettings({ tokenRpId: 'shop.example' })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });

    const { svc: ipCa, settings } = service({ firefox: true });
    settings.value = { caUrl: 'https://10.0.0.7' };
    expect((await ipCa.status()).tokenRpId).toBeNull();
    await expect(ipCa.beginTokenRegistration()).rejects.toMatchObject({ code: 'ERR_WEBAUTHN' });
  });

  it('signing: the window is told the RP ID to name; the order verifies for the pinned add-on with that RP ID', async () => {
    const { svc } = service({ firefox: true });
    const token = await SoftAuthenticator.create({ rpId: 'localhost', origin: FIREFOX_WEBAUTHN_ORIGIN });
    const options = await svc.beginTokenRegistration();
    await svc.finishTokenRegistration('Key', options.challenge, await token.makeCredential(options.challenge));
    const state = await awaitingDeal({ dealId: 'deal-token-firefox-01' });
    const request = await svc.tokenSigningRequest(state, undefined, Date.now());
    expect(request).toMatchObject({ rpId: 'localhost', ceremonyRpId: 'localhost', credentialId: token.credentialId });
    const { signature: _header, ...unsigned } = request.order;
    const signed = await token.signStatement(unsigned);
    expect(await svc.checkTokenSigner(signed)).toBe(token.credentialId);
    const webauthn = createWebAuthnVerifier({ relyingParties: extensionRelyingParties({ firefoxRpIds: ['localhost'] }) });
    expect((await verifyStatement(signed, { types: [STATEMENT_TYPES.order], webauthn })).userVerified).toBe(true);
    const ctx = { roots: [ca.root], random: cryptoRandom, signer: await signerFromKeyPair('ES256', await generateKeyPair('ES256')), webauthn };
    expect((await stepShopper(state, { type: 'order-signed', order: signed, now: Date.now() }, ctx)).state.phase).toBe('ordering');
    // Chromium's signing request leaves the RP ID to the browser.
    const chromium = service();
    const ct = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const co = await chromium.svc.beginTokenRegistration();
    await chromium.svc.finishTokenRegistration('Key', co.challenge, await ct.makeCredential(co.challenge));
    expect('ceremonyRpId' in (await chromium.svc.tokenSigningRequest(state, undefined, Date.now()))).toBe(false);
  });
});

describe('identity operations: who may call them', () => {
  const BASE = `${EXT}/`;
  const popup = { id: 'ogebgngddklbcapdihmjkemgigajimlo', url: `${BASE}popup/index.html` };
  const twPage = (windowId: number) => ({
    id: popup.id,
    url: `${BASE}trusted-window/index.html?deal=deal-0001-abcdefghijkl`,
    tab: { windowId } as chrome.tabs.Tab,
  });

  /** Two deals awaiting the user in a real host whose purchases are signed by the key store; the orders sent are captured. */
  async function deps() {
    const { svc, keys } = service();
    const store = new MemoryDealStore();
    const records: PurchaseRecord[] = [];
    for (const dealId of ['deal-0001-abcdefghijkl', 'deal-0002-abcdefghijkl']) {
      const state = await awaitingDeal({ demandToken: false, dealId });
      const record: PurchaseRecord = {
        kind: 'purchase',
        dealId,
        origin: SHOP,
        createdAt: 1,
        updatedAt: 1,
        state,
        status: state.phase,
        terminal: false,
        view: state.view,
      };
      await store.create(record);
      records.push(record);
    }
    const orders: { signature: { signer: { jwk: Parameters<typeof jwkThumbprint>[0] } } }[] = [];
    const host = new MachineHost({
      store,
      kinds: [
        purchaseKind({
          roots: async () => [ca.root],
          signer: (origin, anonymous) => keys.dealSigner(origin, anonymous),
          policy: async () => ({}),
          random: cryptoRandom,
        }),
      ],
      transport: (_origin: string, outbound: HttpOutbound): Promise<TransportReply> => {
        orders.push((outbound.body as { order: (typeof orders)[number] }).order);
        return new Promise(() => undefined); // the merchant never answers: only what was signed matters here
      },
      alarms: { set: () => undefined, clear: () => undefined },
      now: () => Date.now(),
      onAwaitingUser: () => undefined,
      onSettled: () => undefined,
    });
    const unused = { list: async () => [], get: async () => undefined, put: async () => Promise.reject(new Error('no')), delete: async () => false };
    let shown = records[0]!.dealId;
    const d: DispatchDeps = {
      extensionId: popup.id,
      extensionBase: BASE,
      currentWindow: async () => ({ dealId: shown, windowId: 7 }),
      store,
      host,
      keys,
      identity: svc,
      payments: NO_PAYMENTS,
      roots: new TrustRoots(unused),
      ttps: new TrustedTtps(unused),
      openWindow: async () => undefined,
      now: () => Date.now(),
    };
    const signedWith = async () => Promise.all(orders.map((o) => jwkThumbprint(o.signature.signer.jwk)));
    return { d, keys, signedWith, record: records[0]!, records, show: (dealId: string) => (shown = dealId) };
  }

  it("WebAuthn ceremonies only from the trusted window page; deal-bound token operations only from that deal's window", async () => {
    const { d, record } = await deps();
    expect(await handleOperation({ op: 'tokens.beginRegistration', request: {} }, popup, d)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await handleOperation({ op: 'tokens.beginRegistration', request: {} }, twPage(99), d)).toMatchObject({ ok: true });
    expect(await handleOperation({ op: 'tokens.orderToSign', request: { dealId: record.dealId } }, twPage(99), d)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'submitSignedOrder', request: { dealId: record.dealId, order: {} } }, popup, d)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'identity.status', request: {} }, { id: popup.id, url: `${SHOP}/` }, d)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    expect(await handleOperation({ op: 'identity.personalise', request: { phrase: 'ok phrase', picture: 12 } }, popup, d)).toMatchObject({
      ok: false,
      error: { code: 'ERR_SCHEMA' },
    });
  });

  it("confirmDeal signs with the identity key, or with the origin's pseudonym when anonymous", async () => {
    const { d, keys, signedWith, records, show } = await deps();
    const tw = (dealId: string) => ({ ...twPage(7), url: `${BASE}trusted-window/index.html?deal=${dealId}` });
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: records[0]!.dealId } }, tw(records[0]!.dealId), d)).toMatchObject({ ok: true });
    show(records[1]!.dealId);
    expect(await handleOperation({ op: 'confirmDeal', request: { dealId: records[1]!.dealId, anonymous: true } }, tw(records[1]!.dealId), d)).toMatchObject({
      ok: true,
    });
    expect(await signedWith()).toEqual([(await keys.identity()).keyId, (await keys.pseudonymFor(SHOP)).keyId]);
  });
});
