import { describe, expect, it } from 'vitest';
import { generateKeyPair, jwkThumbprint, signerFromKeyPair, verifyRaw, toPublicJwk, KEY_ALGORITHMS } from '../../../core/crypto/index.js';
import { utf8 } from '../../../core/encoding/index.js';

describe.each(KEY_ALGORITHMS)('%s signer', (alg) => {
  it('signs; the signature verifies, and fails for other data, another key or a flipped bit', async () => {
    const signer = await signerFromKeyPair(alg, await generateKeyPair(alg));
    const other = await signerFromKeyPair(alg, await generateKeyPair(alg));
    const data = utf8('pay 100 to Bob');
    const sig = await signer.sign(data);
    expect(sig.length).toBe(64);
    expect(await verifyRaw(alg, signer.publicJwk, data, sig)).toBe(true);
    expect(await verifyRaw(alg, signer.publicJwk, utf8('pay 900 to Bob'), sig)).toBe(false);
    expect(await verifyRaw(alg, other.publicJwk, data, sig)).toBe(false);
    const flipped = sig.slice();
    flipped[10] = flipped[10]! ^ 1;
    expect(await verifyRaw(alg, signer.publicJwk, data, flipped)).toBe(false);
    // Any other length is a wrong signature, not an error (WebCrypto's own rule).
    for (const other of [sig.subarray(0, 63), new Uint8Array([...sig, 0]), new Uint8Array([0, ...sig]), new Uint8Array(0)]) {
      expect(await verifyRaw(alg, signer.publicJwk, data, other)).toBe(false);
    }
  });
  it('generates non-extractable private keys', async () => {
    const pair = await generateKeyPair(alg);
    expect(pair.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', pair.privateKey)).rejects.toThrow();
  });
});

describe('JWK', () => {
  it('computes the RFC 7638 §3.1 example thumbprint shape and refuses private members', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    expect(signer.keyId).toBe(await jwkThumbprint(signer.publicJwk));
    expect(signer.keyId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // RFC 8037 Appendix A.3 thumbprint of the Ed25519 example key.
    expect(await jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })).toBe(
      'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
    );
    expect(() => toPublicJwk({ kty: 'RSA', n: 'x', e: 'AQAB' })).toThrowError(/P-256 or Ed25519/);
  });
  it('refuses a key whose type differs from the signature algorithm', async () => {
    const signer = await signerFromKeyPair('EdDSA', await generateKeyPair('EdDSA'));
    await expect(verifyRaw('ES256', signer.publicJwk, utf8('x'), new Uint8Array(64))).rejects.toThrow(/ES256 but the key is EdDSA/);
  });
});

describe('mutation table (docs/mutation-pki.md): signers', () => {
  it('a signer is made only for a key pair of the algorithm it names', async () => {
    await expect(signerFromKeyPair('ES256', await generateKeyPair('EdDSA'))).rejects.toMatchObject({ code: 'ERR_KEY' });
    await expect(signerFromKeyPair('EdDSA', await generateKeyPair('ES256'))).rejects.toMatchObject({ code: 'ERR_KEY' });
  });
});
