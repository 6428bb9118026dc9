import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { convertCOSEtoPKCS, isoCBOR } from '@simplewebauthn/server/helpers';
import { exportPublicJwk, generateKeyPair, signerFromKeyPair, type PublicJwk } from '../../../core/crypto/index.js';
import { coseToJwk, jwkToCose } from '../../../core/crypto/cose.js';
import { ecdsaDerToRaw } from '../../../core/crypto/ecdsa-der.js';
import {
  challengeForStatement,
  createWebAuthnVerifier,
  signatureBlockFromAssertion,
  verifyRegistration,
  type WebAuthnCheck,
} from '../../../core/crypto/webauthn.js';
import { decodeBase64url, encodeBase64url, sha256, utf8 } from '../../../core/encoding/index.js';
import { signStatement, verifyStatement, type Statement } from '../../../core/statements/index.js';
import { FLAG_UP, FLAG_UV, SoftAuthenticator, p1363ToDer } from '../../helpers/soft-authenticator.js';

// Chromium: an extension page's RP ID is its origin string (see core/crypto/webauthn.ts).
const EXT = 'chrome-extension://kfjpmdjmiogaolnnlnbpdnhonnpaecoa';
const OTHER_EXT = 'chrome-extension://aaaabbbbccccddddeeeeffffgggghhhh';
const base = {
  type: 'semper.order',
  version: 1 as const,
  dealId: 'deal-0123456789abcdef',
  issuedAt: '2026-11-23T10:00:00.000Z',
  body: { amount: 100, to: 'Bob' },
};
const other = { ...base, body: { amount: 900, to: 'Mallory' } };

const verifier = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT] });
const token = () => SoftAuthenticator.create({ rpId: EXT, origin: EXT });

/**
 * Captured from Chromium 156 (headless): an MV3 extension page registered a credential on CDP's virtual
 * CTAP2 authenticator (rp.id left to the default) and signed this statement with @simplewebauthn/browser's
 * startAuthentication over challengeForStatement(). Chromium used RP ID = origin = chrome-extension://<id>.
 */
const CHROMIUM_STATEMENT = {
  type: 'semper.order',
  version: 1,
  dealId: 'deal-0123456789abcdef',
  issuedAt: '2026-11-23T10:00:00.000Z',
  body: {
    amount: 100,
    to: 'Bob',
  },
  signature: {
    alg: 'webauthn-ES256',
    signer: {
      kind: 'webauthn',
      jwk: {
        kty: 'EC',
        crv: 'P-256',
        x: 'YJJv4_DbahhA_GPRl8WzMimrAIz8JtkqUXRQBUYJ-LI',
        y: 'xalbzNWBdCmDiiBqMlRDbuCpPsqGQz1jTDPwFF44l8g',
      },
      credentialId: 'zi9--DZdkAMIqlhKT59xFYD3cEC0bDnlwfR4L1QfDXk',
      rpId: 'chrome-extension://mhgcffeoelefehfgohggohpmakeagiob',
    },
    value: 'MEUCIQDViTK6kfa1EY_a13loOlbV0QQQ-8SqMrg-ZOjV1DqiUwIgeo6L6iq8T0MbNdUl6v8zzrlHQPTJwQVkuSsUiXkbZL0',
    authenticatorData: 'B-aTVbp56QVTBLj0cHWgPhvfCxduXqi_DyfW4FRZwYAFAAAAAg',
    clientDataJSON:
      'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiX1BrRWtzMVh0U1NrS19wcGx1dFVGMzV2LTJpNzNHSTlhUVZsdWxHRDdyMCIsIm9yaWdpbiI6ImNocm9tZS1leHRlbnNpb246Ly9taGdjZmZlb2VsZWZlaGZnb2hnZ29ocG1ha2VhZ2lvYiIsImNyb3NzT3JpZ2luIjpmYWxzZX0',
  },
} as const;
const CHROMIUM_EXT = CHROMIUM_STATEMENT.signature.signer.rpId;

/** Expect ERR_WEBAUTHN naming `check`, both in details and in the message. */
async function expectCheck(p: Promise<unknown>, check: WebAuthnCheck, label: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ERR_WEBAUTHN (${check})`).toMatchObject({ code: 'ERR_WEBAUTHN', details: { check } });
  expect((e as Error).message).toMatch(label);
}

type Cbor = Parameters<typeof isoCBOR.encode>[0];

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('P1363 → DER ECDSA signatures (soft authenticator) and the strict DER parser (core)', () => {
  const r = (first: string) => first + '11'.repeat(31);
  it('encodes minimal positive INTEGERs: 0x00 prefix for a high bit, leading zeros stripped', () => {
    const highBit = hex(r('80') + r('01'));
    expect(toHex(p1363ToDer(highBit))).toBe(`3045022100${r('80')}0220${r('01')}`);
    const leadingZeros = hex(`0000${'7f'.repeat(30)}${r('ff')}`);
    expect(toHex(p1363ToDer(leadingZeros))).toBe(`3043021e${'7f'.repeat(30)}022100${r('ff')}`);
    const tiny = hex(`${'00'.repeat(31)}01${'00'.repeat(31)}80`);
    expect(toHex(p1363ToDer(tiny))).toBe('3007' + '020101' + '02020080');
    for (const raw of [highBit, leadingZeros, tiny]) expect(ecdsaDerToRaw(p1363ToDer(raw))).toEqual(raw);
  });

  it('a converted WebCrypto signature verifies as DER under node:crypto', async () => {
    const pair = await generateKeyPair('ES256', true);
    const data = utf8('authenticatorData || clientDataHash');
    for (let i = 0; i < 20; i++) {
      const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, data));
      const der = p1363ToDer(raw);
      const key = createPublicKey({ key: (await crypto.subtle.exportKey('jwk', pair.publicKey)) as import('node:crypto').JsonWebKey, format: 'jwk' });
      expect(nodeVerify('sha256', data, { key, dsaEncoding: 'der' }, der)).toBe(true);
      expect(ecdsaDerToRaw(der)).toEqual(raw);
    }
  });

  it('the core parser rejects BER leniencies and garbage, each case breaking one rule only', () => {
    const int = (content: string) => `02${(content.length / 2).toString(16).padStart(2, '0')}${content}`;
    const seq = (...parts: string[]) => {
      const body = parts.join('');
      return `30${(body.length / 2).toString(16).padStart(2, '0')}${body}`;
    };
    const good = p1363ToDer(hex(r('01') + r('02')));
    expect(toHex(good)).toBe(seq(int(r('01')), int(r('02'))));
    const bad: [string, string][] = [
      [seq(int(`0001${'11'.repeat(31)}`), int(r('02'))), 'not minimally encoded'], // 0x00 before a low byte
      [seq(int(r('01')), int(`00${r('02')}`)), 'not minimally encoded'], // the same in s
      [seq(int(r('81')), int(r('02'))), 'negative'],
      [seq(int(`01${'11'.repeat(32)}`), int('01')), 'larger than the curve order'], // 33 significant bytes
      [seq(int('00'), int('01')), 'zero'],
      [seq('0200', int('01')), 'zero'], // an empty INTEGER
      [seq(int('01'), int('02'), '00'), 's does not end the value'], // a byte after s inside the SEQUENCE
      [`${seq(int('01'), int('02'))}00`, 'SEQUENCE length'], // a byte after the SEQUENCE
      [`3007${int('01')}${int('02')}`, 'SEQUENCE length'], // a length byte that claims more
      [`3005${int('01')}${int('02')}`, 'SEQUENCE length'], // ... or less
      [`308106${int('01')}${int('02')}`, 'SEQUENCE length'], // long-form length
      [`3106${int('01')}${int('02')}`, 'expected SEQUENCE'],
      [seq('030101', int('02')), 'expected INTEGER'],
      [seq(int('01'), '040102'), 'expected INTEGER'],
      [seq(int('01'), '0221', '02'), 's does not end the value'], // s runs past the end
      [seq('0240', int('02')), 'expected INTEGER'], // r runs past the end
      [toHex(good.subarray(0, good.length - 1)), 'SEQUENCE length'], // truncated
      ['30', 'SEQUENCE length'],
      ['', 'expected SEQUENCE'],
    ];
    for (const [der, rule] of bad) {
      expect(() => ecdsaDerToRaw(hex(der)), der).toThrow(expect.objectContaining({ code: 'ERR_SIGNATURE_INVALID', message: expect.stringContaining(rule) }));
    }
    // The smallest and the largest valid encodings still parse.
    expect(ecdsaDerToRaw(hex(seq(int('01'), int('01'))))).toEqual(hex(`${'00'.repeat(31)}01${'00'.repeat(31)}01`));
    expect(ecdsaDerToRaw(hex(seq(int(`00${'ff'.repeat(32)}`), int(`00${'ff'.repeat(32)}`))))).toEqual(hex('ff'.repeat(64)));
  });
});

describe('JWK ↔ COSE_Key (RFC 9053 §7.1.1)', () => {
  it('encodes {1:2, 3:-7, -1:1, -2:x, -3:y} in CTAP2 canonical form, and decodes back', async () => {
    const pair = await generateKeyPair('ES256', true);
    const jwk = await exportPublicJwk(pair.publicKey);
    if (jwk.kty !== 'EC') throw new Error('unreachable');
    const cose = jwkToCose(jwk);
    const map = isoCBOR.decodeFirst<Map<number, unknown>>(cose);
    expect([...map.keys()]).toEqual([1, 3, -1, -2, -3]);
    expect(map.get(1)).toBe(2);
    expect(map.get(3)).toBe(-7);
    expect(map.get(-1)).toBe(1);
    expect(map.get(-2)).toEqual(decodeBase64url(jwk.x));
    expect(map.get(-3)).toEqual(decodeBase64url(jwk.y));
    expect(new Uint8Array(isoCBOR.encode(map as Cbor))).toEqual(cose); // canonical: re-encodes to the same bytes
    // @simplewebauthn/server's own reading of the key is the uncompressed point WebCrypto exports.
    expect(new Uint8Array(convertCOSEtoPKCS(cose))).toEqual(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
    expect(coseToJwk(cose)).toEqual(jwk);
  });

  it('refuses anything but an EC2 / ES256 / P-256 key', async () => {
    const jwk = await exportPublicJwk((await generateKeyPair('ES256')).publicKey);
    const cose = jwkToCose(jwk);
    const edit = (label: number, value: unknown) => {
      const m = isoCBOR.decodeFirst<Map<number, unknown>>(cose);
      if (value === undefined) m.delete(label);
      else m.set(label, value);
      return new Uint8Array(isoCBOR.encode(m as Cbor));
    };
    for (const bad of [
      edit(1, 1),
      edit(3, -8),
      edit(-1, 2),
      edit(-2, new Uint8Array(31)),
      edit(-3, undefined),
      edit(3, undefined),
      edit(-4, new Uint8Array(32)),
      new Uint8Array([0x01]),
      new Uint8Array([0xff, 0x00]),
    ]) {
      expect(() => coseToJwk(bad)).toThrow(expect.objectContaining({ code: 'ERR_KEY' }));
    }
    const ed = await exportPublicJwk((await generateKeyPair('EdDSA')).publicKey);
    expect(() => jwkToCose(ed)).toThrow(expect.objectContaining({ code: 'ERR_KEY' }));
  });
});

describe('webauthn-ES256 statements', () => {
  it('a statement signed by the token verifies through verifyStatement and reports UV', async () => {
    const t = await token();
    const st = await t.signStatement(base);
    expect(st.signature.alg).toBe('webauthn-ES256');
    const v = await verifyStatement(st, { webauthn: verifier, types: ['semper.order'] });
    expect(v.userVerified).toBe(true);
    expect(v.signerJwk).toEqual(t.jwk);
    // The challenge is base64url(SHA-256) of the signing input, as the clientDataJSON says.
    const clientData = JSON.parse(new TextDecoder().decode(decodeBase64url(st.signature.alg === 'webauthn-ES256' ? st.signature.clientDataJSON : '')));
    expect(clientData).toMatchObject({
      type: 'webauthn.get',
      origin: EXT,
      challenge: await challengeForStatement({ ...base, signature: { alg: 'webauthn-ES256', signer: t.signerRef } }),
    });

    // A presence-only token passes when UV is not required, and says so.
    const presenceOnly = await SoftAuthenticator.create({ rpId: EXT, origin: EXT, userVerification: false });
    const lax = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT], requireUserVerification: false });
    expect((await verifyStatement(await presenceOnly.signStatement(base), { webauthn: lax })).userVerified).toBe(false);
  });

  it('a statement signed by real Chromium (virtual authenticator, extension page) verifies', async () => {
    const v = createWebAuthnVerifier({ expectedOrigins: [CHROMIUM_EXT], expectedRpIds: [CHROMIUM_EXT] });
    expect((await verifyStatement(CHROMIUM_STATEMENT, { webauthn: v })).userVerified).toBe(true);
    const clientData = JSON.parse(new TextDecoder().decode(decodeBase64url(CHROMIUM_STATEMENT.signature.clientDataJSON)));
    expect(clientData).toEqual({ type: 'webauthn.get', challenge: await challengeForStatement(CHROMIUM_STATEMENT), origin: CHROMIUM_EXT, crossOrigin: false });
    // Chromium's RP ID for an extension page is the whole origin string, not the bare extension id.
    const bareId = CHROMIUM_EXT.slice('chrome-extension://'.length);
    const rpIdHash = decodeBase64url(CHROMIUM_STATEMENT.signature.authenticatorData).subarray(0, 32);
    expect(rpIdHash).toEqual(await sha256(utf8(CHROMIUM_EXT)));
    expect(rpIdHash).not.toEqual(await sha256(utf8(bareId)));
    await expectCheck(verifyStatement(CHROMIUM_STATEMENT, { webauthn: verifier }), 'rp-id', /wrong RP ID/);
  });

  it('counters are not enforced: older statements still verify after newer ones', async () => {
    const t = await token();
    const first = await t.signStatement(base);
    const second = await t.signStatement(other);
    await verifyStatement(second, { webauthn: verifier });
    await verifyStatement(first, { webauthn: verifier });
    await verifyStatement(first, { webauthn: verifier });
  });

  it('is refused without a WebAuthn verifier, and a webauthn signer cannot make ES256 signatures', async () => {
    const t = await token();
    await expect(verifyStatement(await t.signStatement(base))).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    const s = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const es = await signStatement(base, s, { signerRef: { ...t.signerRef, jwk: s.publicJwk } });
    await expect(verifyStatement(es, { webauthn: verifier })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
  });

  describe('every wrong field fails with ERR_WEBAUTHN naming it', () => {
    const header = (t: SoftAuthenticator) => ({ alg: 'webauthn-ES256' as const, signer: t.signerRef });
    const blockFor = async (t: SoftAuthenticator, challenge: string, o: Parameters<SoftAuthenticator['getAssertion']>[1] = {}) =>
      signatureBlockFromAssertion({ response: await t.getAssertion(challenge, o), jwk: t.jwk, credentialId: t.credentialId, rpId: t.rpId });
    const signedWith = async (o: Parameters<SoftAuthenticator['getAssertion']>[1], t?: SoftAuthenticator): Promise<Statement> => {
      const tok = t ?? (await token());
      return (await tok.signStatement(base, o)) as Statement;
    };
    const check = (st: unknown, c: WebAuthnCheck, label: RegExp, v = verifier) => expectCheck(verifyStatement(st, { webauthn: v }), c, label);

    it('challenge: an assertion over another statement', async () => {
      const t = await token();
      const signature = await blockFor(t, await challengeForStatement({ ...other, signature: header(t) }));
      await check({ ...base, signature }, 'challenge', /wrong challenge/);
    });

    it('challenge: the body tampered with after signing', async () => {
      const st = await signedWith({});
      await check({ ...st, body: { amount: 900, to: 'Bob' } }, 'challenge', /wrong challenge/);
      await check({ ...st, issuedAt: '2026-11-24T10:00:00.000Z' }, 'challenge', /wrong challenge/);
    });

    it('challenge: the signer jwk swapped (the signer block is signed, so the challenge no longer matches)', async () => {
      const st = await signedWith({});
      const mallory = await exportPublicJwk((await generateKeyPair('ES256')).publicKey);
      const swapped = structuredClone(st);
      if (swapped.signature.signer.kind === 'webauthn') swapped.signature.signer.jwk = mallory;
      await check(swapped, 'challenge', /wrong challenge/);
    });

    it('signature: made by another key (statement names the victim credential)', async () => {
      const mallory = await generateKeyPair('ES256');
      await check(await signedWith({ signWith: mallory.privateKey }), 'signature', /bad signature/);
    });

    it('signature: a flipped bit, and non-DER or non-canonical encodings', async () => {
      const st = await signedWith({});
      if (st.signature.alg !== 'webauthn-ES256') throw new Error('unreachable');
      const der = decodeBase64url(st.signature.value);
      const flipped = der.slice();
      flipped[der.length - 3] = flipped[der.length - 3]! ^ 1;
      await check({ ...st, signature: { ...st.signature, value: encodeBase64url(flipped) } }, 'signature', /bad signature/);
      const raw = ecdsaDerToRaw(der);
      await check({ ...st, signature: { ...st.signature, value: encodeBase64url(raw) } }, 'signature', /bad signature/);
      // A non-canonical base64url text of the same bytes is refused: 37 bytes of authenticatorData are
      // 50 characters with 4 unused trailing bits, and setting one gives another text for the same bytes.
      const ad = st.signature.authenticatorData;
      expect(ad).toHaveLength(50);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const bumped = ad.slice(0, -1) + alphabet[alphabet.indexOf(ad.at(-1)!) + 1]!;
      expect(atob(`${bumped.replace(/-/g, '+').replace(/_/g, '/')}==`)).toBe(atob(`${ad.replace(/-/g, '+').replace(/_/g, '/')}==`));
      await check({ ...st, signature: { ...st.signature, authenticatorData: bumped } }, 'encoding', /bad encoding/);
    });

    it('origin: clientDataJSON from another origin, or from a cross-origin frame', async () => {
      await check(await signedWith({ origin: 'https://evil.example' }), 'origin', /wrong origin/);
      await check(await signedWith({ origin: OTHER_EXT }), 'origin', /wrong origin/);
      await check(await signedWith({ crossOrigin: true }), 'origin', /wrong origin/);
    });

    it('RP ID: rpIdHash of another RP ID, or a signer RP ID that is not expected', async () => {
      await check(await signedWith({ rpId: OTHER_EXT }), 'rp-id', /wrong RP ID/);
      // Chromium hashes the full origin string; a token bound to the bare extension id is another RP.
      await check(await signedWith({ rpId: EXT.slice('chrome-extension://'.length) }), 'rp-id', /wrong RP ID/);
      const foreign = await SoftAuthenticator.create({ rpId: OTHER_EXT, origin: EXT });
      await check(await foreign.signStatement(base), 'rp-id', /wrong RP ID/);
      // Both RP IDs accepted by the verifier, but the rpIdHash is not that of the one the signer names.
      const both = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT, OTHER_EXT] });
      await check(await signedWith({ rpId: OTHER_EXT }), 'rp-id', /wrong RP ID/, both);
    });

    it("type: a registration ceremony's clientDataJSON", async () => {
      await check(await signedWith({ type: 'webauthn.create' }), 'type', /wrong type/);
    });

    it('UP: user presence flag cleared', async () => {
      await check(await signedWith({ flags: FLAG_UV }), 'user-presence', /UP missing/);
      await check(await signedWith({ flags: 0 }), 'user-presence', /UP missing/);
    });

    it('UV: required (the default) but absent', async () => {
      await check(await signedWith({ flags: FLAG_UP }), 'user-verification', /UV missing/);
      const presenceOnly = await SoftAuthenticator.create({ rpId: EXT, origin: EXT, userVerification: false });
      await check(await presenceOnly.signStatement(base), 'user-verification', /UV missing/);
    });

    it('signer: a webauthn signer with an Ed25519 key', async () => {
      const t = await token();
      const ed = await exportPublicJwk((await generateKeyPair('EdDSA')).publicKey);
      const st = structuredClone(await t.signStatement(base));
      if (st.signature.signer.kind === 'webauthn') st.signature.signer.jwk = ed as PublicJwk;
      await check(st, 'signer', /wrong signer/);
    });

    it('signer: a P-256 key with a non-canonical coordinate, also right after the same key verified (its COSE form is remembered)', async () => {
      const t = await token();
      const st = await t.signStatement(base);
      await verifyStatement(st, { webauthn: verifier });
      if (st.signature.signer.kind !== 'webauthn' || t.jwk.kty !== 'EC') throw new Error('unreachable');
      // The last of 43 characters carries 4 bits and 2 trailing bits that must be 0: flip one of them.
      const x = t.jwk.x;
      const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const bent = x.slice(0, 42) + last[last.indexOf(x[42]!) ^ 1];
      const tampered = structuredClone(st);
      if (tampered.signature.signer.kind === 'webauthn') tampered.signature.signer.jwk = { ...t.jwk, x: bent };
      await check(tampered, 'signer', /wrong signer/);
    });

    it('authenticatorData and clientDataJSON: malformed', async () => {
      const st = await signedWith({});
      if (st.signature.alg !== 'webauthn-ES256') throw new Error('unreachable');
      const short = encodeBase64url(decodeBase64url(st.signature.authenticatorData).subarray(0, 36));
      await check({ ...st, signature: { ...st.signature, authenticatorData: short } }, 'authenticator-data', /bad authenticatorData/);
      await check({ ...st, signature: { ...st.signature, clientDataJSON: encodeBase64url(utf8('not json')) } }, 'client-data', /bad clientDataJSON/);
    });
  });

  it('signatureBlockFromAssertion refuses an assertion by another credential', async () => {
    const t = await token();
    const u = await token();
    const response = await u.getAssertion(await challengeForStatement({ ...base, signature: { alg: 'webauthn-ES256', signer: t.signerRef } }));
    expect(() => signatureBlockFromAssertion({ response, jwk: t.jwk, credentialId: t.credentialId, rpId: EXT })).toThrow(
      expect.objectContaining({ code: 'ERR_WEBAUTHN', details: { check: 'credential-id' } }),
    );
  });

  it('the verifier needs expected origins and RP IDs', () => {
    expect(() => createWebAuthnVerifier({ expectedOrigins: [], expectedRpIds: [EXT] })).toThrow(expect.objectContaining({ code: 'ERR_WEBAUTHN' }));
  });
});

describe('registration (attestation "none")', () => {
  const challenge = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
  const opts = { expectedChallenge: challenge, expectedOrigin: EXT, expectedRpId: EXT };

  it('round trip: the registered credential signs statements that verify', async () => {
    const t = await token();
    const response = await t.makeCredential(challenge);
    const reg = await verifyRegistration({ response, ...opts });
    expect(reg).toEqual({
      credentialId: t.credentialId,
      jwk: t.jwk,
      userVerified: true,
      aaguid: '00000000-0000-0000-0000-000000000000',
      attestationFormat: 'none',
    });
    const st = await t.signStatement(base);
    if (st.signature.signer.kind !== 'webauthn') throw new Error('unreachable');
    expect(st.signature.signer.jwk).toEqual(reg.jwk);
    expect((await verifyStatement(st, { webauthn: verifier })).userVerified).toBe(true);
  });

  it('refuses a wrong challenge, origin, RP ID, type, missing UV, or a swapped id', async () => {
    const t = await token();
    const reg = (r: Awaited<ReturnType<SoftAuthenticator['makeCredential']>>, extra: Partial<Parameters<typeof verifyRegistration>[0]> = {}) =>
      verifyRegistration({ response: r, ...opts, ...extra });
    await expectCheck(reg(await t.makeCredential(challenge), { expectedChallenge: encodeBase64url(new Uint8Array(32)) }), 'challenge', /wrong challenge/);
    await expectCheck(reg(await t.makeCredential(challenge, { origin: 'https://evil.example' })), 'origin', /wrong origin/);
    await expectCheck(reg(await t.makeCredential(challenge, { rpId: OTHER_EXT })), 'rp-id', /wrong RP ID/);
    await expectCheck(reg(await t.makeCredential(challenge, { type: 'webauthn.get' })), 'type', /wrong type/);
    await expectCheck(reg(await t.makeCredential(challenge, { flags: FLAG_UP })), 'user-verification', /UV missing/);
    expect((await reg(await t.makeCredential(challenge, { flags: FLAG_UP }), { requireUserVerification: false })).userVerified).toBe(false);
    const u = await token();
    const swapped = { ...(await t.makeCredential(challenge)), id: u.credentialId, rawId: u.credentialId };
    await expectCheck(reg(swapped), 'credential-id', /wrong credential id/);
  });
});

describe('mutation table (docs/mutation-pki.md): strict DER, the verifier on its own, registration flags', () => {
  it('DER: an element that is not an INTEGER, or a byte after s inside the SEQUENCE, is refused', () => {
    const good = hex('3006' + '020101' + '020102');
    expect(ecdsaDerToRaw(good)).toHaveLength(64);
    for (const bad of [
      hex('3006' + '030101' + '020102'), // r is a BIT STRING
      hex('3006' + '020101' + '040102'), // s is an OCTET STRING
      hex('3007' + '020101' + '020102' + '00'), // a trailing byte the SEQUENCE length covers
    ]) {
      expect(() => ecdsaDerToRaw(bad)).toThrow(expect.objectContaining({ code: 'ERR_SIGNATURE_INVALID' }));
    }
  });

  it('the verifier, called directly, refuses a signature block whose signer is not a webauthn credential', async () => {
    const t = await token();
    const st = await t.signStatement(base);
    if (st.signature.alg !== 'webauthn-ES256' || st.signature.signer.kind !== 'webauthn') throw new Error('unreachable');
    const { signingInput } = await import('../../../core/statements/index.js');
    const input = signingInput(st);
    await expect(verifier.verify(st.signature, input)).resolves.toEqual({ userVerified: true });
    const jwkSigner = { ...st.signature, signer: { kind: 'jwk' as const, jwk: t.jwk } };
    await expectCheck(verifier.verify(jwkSigner as unknown as typeof st.signature, input), 'signer', /wrong signer/);
  });

  it('clientDataJSON that is JSON but not an object is refused as such (client-data), before the library reads it', async () => {
    const t = await token();
    const st = await t.signStatement(base);
    if (st.signature.alg !== 'webauthn-ES256') throw new Error('unreachable');
    for (const json of ['[]', 'null', '"webauthn.get"', '7']) {
      const forged = { ...st, signature: { ...st.signature, clientDataJSON: encodeBase64url(utf8(json)) } };
      await expectCheck(verifyStatement(forged, { webauthn: verifier }), 'client-data', /bad clientDataJSON/);
    }
  });

  it('registration: an attestation statement that does not verify (packed, self attestation, wrong signature) is refused', async () => {
    const t = await token();
    const challenge = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
    const response = await t.makeCredential(challenge);
    const attestation = isoCBOR.decodeFirst<Map<string, Cbor>>(decodeBase64url(response.response.attestationObject));
    attestation.set('fmt', 'packed');
    const wrongSignature = p1363ToDer(new Uint8Array(64).fill(0x11));
    attestation.set(
      'attStmt',
      new Map<string, Cbor>([
        ['alg', -7],
        ['sig', wrongSignature],
      ]),
    );
    const forged = { ...response, response: { ...response.response, attestationObject: encodeBase64url(new Uint8Array(isoCBOR.encode(attestation as Cbor))) } };
    await expectCheck(
      verifyRegistration({ response: forged, expectedChallenge: challenge, expectedOrigin: EXT, expectedRpId: EXT }),
      'attestation',
      /bad attestation/,
    );
  });

  it('registration: an Ed25519 (COSE -8) credential is refused, since statements are webauthn-ES256', async () => {
    const challenge = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
    const ed = await exportPublicJwk((await generateKeyPair('EdDSA')).publicKey);
    const cose = new Uint8Array(
      isoCBOR.encode(
        new Map<number, Cbor>([
          [1, 1],
          [3, -8],
          [-1, 6],
          [-2, decodeBase64url(ed.x)],
        ]) as Cbor,
      ),
    );
    const id = crypto.getRandomValues(new Uint8Array(16));
    const authData = new Uint8Array([...(await sha256(utf8(EXT))), FLAG_UP | FLAG_UV | 0x40, 0, 0, 0, 0, ...new Uint8Array(16), 0, id.length, ...id, ...cose]);
    const attestationObject = isoCBOR.encode(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, Cbor>()],
        ['authData', authData],
      ]) as Cbor,
    );
    const clientDataJSON = utf8(JSON.stringify({ type: 'webauthn.create', challenge, origin: EXT, crossOrigin: false }));
    const response = {
      id: encodeBase64url(id),
      rawId: encodeBase64url(id),
      type: 'public-key' as const,
      clientExtensionResults: {},
      response: { clientDataJSON: encodeBase64url(clientDataJSON), attestationObject: encodeBase64url(new Uint8Array(attestationObject)) },
    };
    await expectCheck(verifyRegistration({ response, expectedChallenge: challenge, expectedOrigin: EXT, expectedRpId: EXT }), 'algorithm', /wrong algorithm/);
  });

  it('registration: a credential made without user presence (UV alone) is refused', async () => {
    const t = await token();
    const challenge = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
    const response = await t.makeCredential(challenge, { flags: FLAG_UV });
    await expectCheck(verifyRegistration({ response, expectedChallenge: challenge, expectedOrigin: EXT, expectedRpId: EXT }), 'user-presence', /UP missing/);
  });
});
