/**
 * The Node signature path (node:crypto's synchronous sign/verify on the same CryptoKeys) against
 * WebCrypto, the browsers' path: every signature one makes the other accepts, and every malformed
 * or wrong signature gets the same answer from both.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SYNC_SIGNATURES,
  generateKeyPair,
  signerFromKeyPair,
  verifyRaw,
  verifyRawWebCrypto,
  type KeyAlgorithm,
  type PublicJwk,
} from '../../../core/crypto/index.js';
import { decodeBase64url, encodeBase64url } from '../../../core/encoding/index.js';

const WEBCRYPTO_SIGN: Record<KeyAlgorithm, EcdsaParams | Algorithm> = { ES256: { name: 'ECDSA', hash: 'SHA-256' }, EdDSA: { name: 'Ed25519' } };

async function keys(alg: KeyAlgorithm) {
  const pair = await generateKeyPair(alg);
  const signer = await signerFromKeyPair(alg, pair);
  return { pair, signer };
}

/** A signature mangled the ways an attacker or a broken encoder would. */
const mangle = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), by: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('replace' as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 80 }) }),
  fc.record({ kind: fc.constant('fill' as const), value: fc.constantFrom(0, 0xff) }),
  fc.record({ kind: fc.constant('intact' as const) }),
);

function apply(sig: Uint8Array<ArrayBuffer>, m: typeof mangle extends fc.Arbitrary<infer M> ? M : never): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(sig);
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length]! ^= 1 << m.bit;
      return out;
    case 'truncate':
      return out.slice(0, Math.max(0, out.length - m.by));
    case 'extend': {
      const longer = new Uint8Array(out.length + m.extra.length);
      longer.set(out);
      longer.set(m.extra, out.length);
      return longer;
    }
    case 'replace':
      return new Uint8Array(m.bytes);
    case 'fill':
      return new Uint8Array(out.length).fill(m.value);
    default:
      return out;
  }
}

describe.each(['ES256', 'EdDSA'] as const)('%s: node:crypto and WebCrypto agree', (alg) => {
  it('runs the synchronous path in Node (else this file tests nothing new)', () => {
    expect(SYNC_SIGNATURES).toBe(true);
  });

  it('a signature from either path verifies under the other', async () => {
    const { pair, signer } = await keys(alg);
    const data = new TextEncoder().encode('semper: a signed offer');
    const viaSigner = await signer.sign(data);
    const viaWebCrypto = new Uint8Array(await crypto.subtle.sign(WEBCRYPTO_SIGN[alg], pair.privateKey, data));
    for (const sig of [viaSigner, viaWebCrypto]) {
      expect(sig.length).toBe(64);
      expect(await verifyRaw(alg, signer.publicJwk, data, sig)).toBe(true);
      expect(await verifyRawWebCrypto(alg, signer.publicJwk, data, sig)).toBe(true);
      expect(await verifyRaw(alg, pair.publicKey, data, sig)).toBe(true);
    }
  });

  it('same answer for random data and mangled signatures', async () => {
    const { signer } = await keys(alg);
    const other = await keys(alg);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), mangle, fc.boolean(), fc.boolean(), async (bytes, m, wrongKey, wrongData) => {
        const data = new Uint8Array(bytes);
        const sig = apply(await signer.sign(data), m);
        const key = wrongKey ? other.signer.publicJwk : signer.publicJwk;
        const checked = wrongData ? new Uint8Array([...data, 1]) : data;
        const fast = await verifyRaw(alg, key, checked, sig);
        const slow = await verifyRawWebCrypto(alg, key, checked, sig);
        expect(fast).toBe(slow);
        if (m.kind === 'intact' && !wrongKey && !wrongData) expect(fast).toBe(true);
      }),
      { numRuns: 150, seed: alg === 'ES256' ? 0x5161 : 0x5162 },
    );
  });

  it('a key that is no key is ERR_KEY on both paths, and the wrong algorithm ERR_ALG_UNSUPPORTED', async () => {
    const { signer } = await keys(alg);
    const data = new Uint8Array(8);
    const sig = await signer.sign(data);
    const x = decodeBase64url(signer.publicJwk.x);
    x[5]! ^= 1; // off the curve (P-256) or, for Ed25519, usually still a point: only the EC case must fail to import
    const broken = { ...signer.publicJwk, x: encodeBase64url(x) } as PublicJwk;
    if (alg === 'ES256') {
      await expect(verifyRaw(alg, broken, data, sig)).rejects.toMatchObject({ code: 'ERR_KEY' });
      await expect(verifyRawWebCrypto(alg, broken, data, sig)).rejects.toMatchObject({ code: 'ERR_KEY' });
    } else {
      expect(await verifyRaw(alg, broken, data, sig)).toBe(await verifyRawWebCrypto(alg, broken, data, sig).catch(() => 'threw'));
    }
    const wrong = alg === 'ES256' ? 'EdDSA' : 'ES256';
    await expect(verifyRaw(wrong, signer.publicJwk, data, sig)).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
  });
});

describe('a signer only from a key made for signing (WebCrypto would refuse to sign with it; node:crypto would not)', () => {
  it('refuses an ECDH key pair (a sealing key) and a key pair without the sign usage', async () => {
    const ecdh = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
    await expect(signerFromKeyPair('ES256', ecdh)).rejects.toMatchObject({ code: 'ERR_KEY' });
    const verifyOnly = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey('jwk', verifyOnly.privateKey);
    const noSign = await crypto.subtle.importKey('jwk', { ...jwk, key_ops: ['sign'] }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    // the same key imported with the sign usage is accepted; the public key in the private key's place is not
    await expect(signerFromKeyPair('ES256', { publicKey: verifyOnly.publicKey, privateKey: noSign })).resolves.toMatchObject({ alg: 'ES256' });
    await expect(signerFromKeyPair('ES256', { publicKey: verifyOnly.publicKey, privateKey: verifyOnly.publicKey })).rejects.toMatchObject({ code: 'ERR_KEY' });
    // an Ed25519 key named as ES256 (its public JWK would already fail, the private key is checked too)
    const ed = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    await expect(signerFromKeyPair('ES256', { publicKey: verifyOnly.publicKey, privateKey: ed.privateKey })).rejects.toMatchObject({ code: 'ERR_KEY' });
  });
});

describe('remembered verification keys (node:crypto key objects, found by x)', () => {
  const P256_P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
  const toB64u = (n: bigint) =>
    encodeBase64url(
      Uint8Array.from(
        n
          .toString(16)
          .padStart(64, '0')
          .match(/../g)!
          .map((h) => Number.parseInt(h, 16)),
      ),
    );
  const fromB64u = (s: string) => BigInt(`0x${Buffer.from(decodeBase64url(s)).toString('hex')}`);

  it('a point and its negation share x but never stand for each other, whichever is seen first', async () => {
    for (const negationFirst of [false, true]) {
      const { signer } = await keys('ES256');
      const jwk = signer.publicJwk as Extract<PublicJwk, { kty: 'EC' }>;
      const negated = { ...jwk, y: toB64u(P256_P - fromB64u(jwk.y)) };
      const data = Uint8Array.from([1, 2, 3]);
      const sig = await signer.sign(data);
      const answers = [];
      for (const key of negationFirst ? [negated, jwk] : [jwk, negated]) answers.push(await verifyRaw('ES256', key, data, sig));
      expect(answers).toEqual(negationFirst ? [false, true] : [true, false]);
      // And again from memory.
      expect(await verifyRaw('ES256', { ...jwk }, data, sig)).toBe(true);
      expect(await verifyRaw('ES256', { ...negated }, data, sig)).toBe(false);
    }
  });
});
