/**
 * The fast WebAuthn path (core/crypto/webauthn.ts) against @simplewebauthn/server: every vector —
 * valid assertions, each wrong field, the unusual shapes the fast path hands to the library, and
 * random mutations — goes through verifyStatement with both implementations, under several verifier
 * options, and must come out the same: verified with the same UV flag, or refused with the same
 * code, check and message.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { exportPublicJwk, generateKeyPair, type PublicJwk } from '../../../core/crypto/index.js';
import { challengeForStatement, type WebAuthnSignerRef, type WebAuthnVerifierOptions } from '../../../core/crypto/webauthn.js';
import { encodeBase64url, sha256, utf8 } from '../../../core/encoding/index.js';
import { p1363ToDer } from '../../helpers/soft-authenticator.js';
import { type Outcome, verificationOutcome } from './webauthn-outcome.js';
import { P256_N } from '../../helpers/arbitraries.js';

const EXT = 'chrome-extension://kfjpmdjmiogaolnnlnbpdnhonnpaecoa';
const OTHER = 'chrome-extension://aaaabbbbccccddddeeeeffffgggghhhh';

const base = {
  type: 'semper.order',
  version: 1 as const,
  dealId: 'deal-0123456789abcdef',
  issuedAt: '2026-11-23T10:00:00.000Z',
  body: { amount: 100, to: 'Bob' },
};

interface Credential {
  signer: WebAuthnSignerRef;
  keys: CryptoKeyPair;
}

async function credential(rpId = EXT): Promise<Credential> {
  const keys = await generateKeyPair('ES256');
  const jwk = await exportPublicJwk(keys.publicKey);
  return { keys, signer: { kind: 'webauthn', jwk, credentialId: encodeBase64url(crypto.getRandomValues(new Uint8Array(16))), rpId } };
}

function authData(rpIdHash: Uint8Array, flags: number, counter = 1, tail: Uint8Array = new Uint8Array(0)): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(37 + tail.length);
  out.set(rpIdHash, 0);
  out[32] = flags;
  new DataView(out.buffer).setUint32(33, counter >>> 0, false);
  out.set(tail, 37);
  return out;
}

const toBig = (b: Uint8Array) => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);
const fromBig = (v: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((v >> BigInt(8 * (31 - i))) & 0xffn));

interface Shape {
  clientData?: (challenge: string) => unknown;
  /** Raw clientDataJSON bytes instead of JSON.stringify(clientData). */
  clientDataBytes?: (challenge: string) => Uint8Array<ArrayBuffer>;
  authenticatorData?: Uint8Array<ArrayBuffer>;
  signWith?: CryptoKey;
  /** Change the DER signature (after signing). */
  der?: (raw: Uint8Array) => Uint8Array;
  signer?: Partial<WebAuthnSignerRef>;
}

async function statementFor(c: Credential, shape: Shape = {}): Promise<unknown> {
  const signer = { ...c.signer, ...shape.signer } as WebAuthnSignerRef;
  const challenge = await challengeForStatement({ ...base, signature: { alg: 'webauthn-ES256', signer } });
  const clientData = shape.clientDataBytes
    ? shape.clientDataBytes(challenge)
    : utf8(JSON.stringify(shape.clientData ? shape.clientData(challenge) : { type: 'webauthn.get', challenge, origin: EXT, crossOrigin: false }));
  const ad = shape.authenticatorData ?? authData(await sha256(utf8(signer.rpId)), 0x05);
  const hash = await sha256(clientData);
  const signed = new Uint8Array(ad.length + hash.length);
  signed.set(ad, 0);
  signed.set(hash, ad.length);
  const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, shape.signWith ?? c.keys.privateKey, signed));
  const der = shape.der ? shape.der(raw) : p1363ToDer(raw);
  return {
    ...base,
    signature: {
      alg: 'webauthn-ES256',
      signer,
      value: encodeBase64url(new Uint8Array(der)),
      authenticatorData: encodeBase64url(ad),
      clientDataJSON: encodeBase64url(clientData),
    },
  };
}

const OPTIONS: WebAuthnVerifierOptions[] = [
  { expectedOrigins: [EXT], expectedRpIds: [EXT] },
  { expectedOrigins: [EXT], expectedRpIds: [EXT], requireUserVerification: false },
  { expectedOrigins: [OTHER, EXT], expectedRpIds: [EXT, OTHER], requireUserVerification: false },
  // Origins paired with their RP IDs (a Firefox add-on's origin with a web domain, as core/protocol/extension-id.ts makes them).
  {
    relyingParties: [
      { origin: EXT, rpIds: [EXT] },
      { origin: OTHER, rpIds: ['localhost'] },
    ],
    requireUserVerification: false,
  },
];

/** The same outcome through both paths, under every verifier option; returns the outcomes (fast path). */
async function same(statement: unknown): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const options of OPTIONS) {
    const fast = await verificationOutcome(statement, { ...options, implementation: 'fast' });
    const library = await verificationOutcome(statement, { ...options, implementation: 'library' });
    expect(fast).toEqual(library);
    out.push(fast);
  }
  return out;
}

describe('fast WebAuthn path = @simplewebauthn/server (differential)', () => {
  it('on valid assertions and on every wrong field', async () => {
    const c = await credential();
    const mallory = await generateKeyPair('ES256');
    const rpHash = await sha256(utf8(EXT));
    const vectors: [string, Shape, Credential?][] = [
      ['valid, UP+UV', {}],
      ['valid, UP only', { authenticatorData: authData(rpHash, 0x01) }],
      ['valid, backup flags and counter 0', { authenticatorData: authData(rpHash, 0x1d, 0) }],
      ['valid, counter 2^32-1', { authenticatorData: authData(rpHash, 0x05, 0xffffffff) }],
      ['flags 0', { authenticatorData: authData(rpHash, 0) }],
      ['UV without UP', { authenticatorData: authData(rpHash, 0x04) }],
      ['rpIdHash of another RP ID', { authenticatorData: authData(await sha256(utf8(OTHER)), 0x05) }],
      ['rpIdHash of the bare id', { authenticatorData: authData(await sha256(utf8(EXT.slice(19))), 0x05) }],
      ['signer names another (expected) RP ID', { signer: { rpId: OTHER } }],
      ['authenticatorData of 36 bytes', { authenticatorData: authData(rpHash, 0x05).slice(0, 36) }],
      ['authenticatorData of 0 bytes', { authenticatorData: new Uint8Array(0) }],
      ['leftover bytes', { authenticatorData: authData(rpHash, 0x05, 1, new Uint8Array([0])) }],
      ['ED flag with an empty extensions map', { authenticatorData: authData(rpHash, 0x85, 1, new Uint8Array([0xa0])) }],
      ['ED flag with an extension', { authenticatorData: authData(rpHash, 0x85, 1, Uint8Array.from(isoCBOR.encode(new Map([['credProtect', 1]])))) }],
      ['ED flag without extensions', { authenticatorData: authData(rpHash, 0x85) }],
      ['AT flag with garbage', { authenticatorData: authData(rpHash, 0x45, 1, new Uint8Array(20)) }],
      ['type webauthn.create', { clientData: (challenge) => ({ type: 'webauthn.create', challenge, origin: EXT, crossOrigin: false }) }],
      ['no type', { clientData: (challenge) => ({ challenge, origin: EXT }) }],
      ['another challenge', { clientData: () => ({ type: 'webauthn.get', challenge: 'x'.repeat(43), origin: EXT }) }],
      ['no challenge', { clientData: () => ({ type: 'webauthn.get', origin: EXT }) }],
      ['another origin', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: 'https://evil.example' }) }],
      ['an expected origin that is not this one', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: OTHER }) }],
      ['no origin', { clientData: (challenge) => ({ type: 'webauthn.get', challenge }) }],
      ['origin not a string', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: [EXT] }) }],
      ['crossOrigin true', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, crossOrigin: true }) }],
      ['crossOrigin truthy, not true', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, crossOrigin: 'yes' }) }],
      ['topOrigin, not cross-origin', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, topOrigin: EXT }) }],
      ['topOrigin, cross-origin', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, crossOrigin: true, topOrigin: OTHER }) }],
      [
        'tokenBinding present',
        { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, tokenBinding: { status: 'present', id: 'AAAA' } }) },
      ],
      ['tokenBinding bogus status', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, tokenBinding: { status: 'bogus' } }) }],
      ['tokenBinding a string', { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, tokenBinding: 'present' }) }],
      [
        'extra members',
        { clientData: (challenge) => ({ type: 'webauthn.get', challenge, origin: EXT, crossOrigin: false, other_keys_can_be_added_here: 'x' }) },
      ],
      ['clientDataJSON an array', { clientDataBytes: () => utf8('[1]') }],
      ['clientDataJSON not JSON', { clientDataBytes: () => utf8('not json') }],
      ['clientDataJSON not UTF-8', { clientDataBytes: () => new Uint8Array([0x7b, 0xff, 0x7d]) }],
      ['signed by another key', { signWith: mallory.privateKey }],
      ['a flipped bit in r', { der: (raw) => p1363ToDer(Uint8Array.from(raw, (b, i) => (i === 5 ? b ^ 1 : b))) }],
      [
        'high S (the same signature, malleated)',
        { der: (raw) => p1363ToDer(Uint8Array.from([...raw.subarray(0, 32), ...fromBig(P256_N - toBig(raw.subarray(32)))])) },
      ],
      ['r‖s instead of DER', { der: (raw) => raw }],
    ];
    const notOnCurve: PublicJwk = { kty: 'EC', crv: 'P-256', x: encodeBase64url(new Uint8Array(32).fill(1)), y: encodeBase64url(new Uint8Array(32).fill(2)) };
    vectors.push(['a credential key that is not a P-256 point', { signer: { jwk: notOnCurve } }]);
    const seen = new Set<string>();
    for (const [name, shape, cred] of vectors) {
      const outcomes = await same(await statementFor(cred ?? c, shape)).catch((e: unknown) => {
        throw new Error(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      });
      for (const o of outcomes) seen.add(o.ok ? `ok:${o.userVerified}` : `${o.code}:${o.check}`);
    }
    // The vectors reach every check the fast path makes, and the library's own refusals.
    for (const c of [
      'ok:true',
      'ok:false',
      'ERR_WEBAUTHN:type',
      'ERR_WEBAUTHN:challenge',
      'ERR_WEBAUTHN:origin',
      'ERR_WEBAUTHN:rp-id',
      'ERR_WEBAUTHN:user-presence',
      'ERR_WEBAUTHN:user-verification',
      'ERR_WEBAUTHN:authenticator-data',
      'ERR_WEBAUTHN:signature',
      'ERR_WEBAUTHN:client-data',
    ]) {
      expect(seen).toContain(c);
    }
  });

  it('on the assertion real Chromium made', async () => {
    // test/core/crypto/webauthn.test.ts: captured from Chromium 156's virtual authenticator.
    const chromium = {
      ...base,
      signature: {
        alg: 'webauthn-ES256',
        signer: {
          kind: 'webauthn',
          jwk: { kty: 'EC', crv: 'P-256', x: 'YJJv4_DbahhA_GPRl8WzMimrAIz8JtkqUXRQBUYJ-LI', y: 'xalbzNWBdCmDiiBqMlRDbuCpPsqGQz1jTDPwFF44l8g' },
          credentialId: 'zi9--DZdkAMIqlhKT59xFYD3cEC0bDnlwfR4L1QfDXk',
          rpId: 'chrome-extension://mhgcffeoelefehfgohggohpmakeagiob',
        },
        value: 'MEUCIQDViTK6kfa1EY_a13loOlbV0QQQ-8SqMrg-ZOjV1DqiUwIgeo6L6iq8T0MbNdUl6v8zzrlHQPTJwQVkuSsUiXkbZL0',
        authenticatorData: 'B-aTVbp56QVTBLj0cHWgPhvfCxduXqi_DyfW4FRZwYAFAAAAAg',
        clientDataJSON:
          'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiX1BrRWtzMVh0U1NrS19wcGx1dFVGMzV2LTJpNzNHSTlhUVZsdWxHRDdyMCIsIm9yaWdpbiI6ImNocm9tZS1leHRlbnNpb246Ly9taGdjZmZlb2VsZWZlaGZnb2hnZ29ocG1ha2VhZ2lvYiIsImNyb3NzT3JpZ2luIjpmYWxzZX0',
      },
    };
    const rp = chromium.signature.signer.rpId;
    for (const options of [
      { expectedOrigins: [rp], expectedRpIds: [rp] },
      { expectedOrigins: [EXT], expectedRpIds: [rp] },
    ]) {
      const fast = await verificationOutcome(chromium, { ...options, implementation: 'fast' });
      expect(fast).toEqual(await verificationOutcome(chromium, { ...options, implementation: 'library' }));
    }
    expect(await verificationOutcome(chromium, { expectedOrigins: [rp], expectedRpIds: [rp] })).toEqual({ ok: true, userVerified: true });
  });

  it('on random authenticatorData, flags and clientDataJSON (property)', async () => {
    const c = await credential();
    const rpHash = await sha256(utf8(EXT));
    const clientData = fc.record(
      {
        type: fc.constantFrom('webauthn.get', 'webauthn.create', 'x'),
        challenge: fc.constantFrom('right', 'wrong'),
        origin: fc.constantFrom(EXT, OTHER, 'https://evil.example'),
        crossOrigin: fc.constantFrom(false, true, 'yes', 0),
        topOrigin: fc.constantFrom(EXT, ''),
        tokenBinding: fc.constantFrom({ status: 'present' }, { status: 'x' }, null),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        clientData,
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        async (cd, flags, tail, wrongRp, wrongKey) => {
          const ad = authData(wrongRp ? await sha256(utf8(OTHER)) : rpHash, flags, 7, tail);
          const statement = await statementFor(c, {
            authenticatorData: ad,
            clientData: (challenge) => ({ ...cd, ...(cd.challenge === 'right' ? { challenge } : {}) }),
            ...(wrongKey ? { signWith: (await generateKeyPair('ES256')).privateKey } : {}),
          });
          await same(statement);
        },
      ),
      { numRuns: 150 },
    );
  });
});
