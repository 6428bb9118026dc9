/**
 * core/crypto/cose.ts reads COSE_Keys with its own small CBOR decoder (decodeCoseKeyMap: integer
 * labels, integer or byte-string values, nothing else) instead of @simplewebauthn/server's CBOR
 * helper, whose import brought the library's whole helper set into the worker's start bundle
 * (issue 13). Differential: on every map of that shape it reads what the library's decoder reads;
 * everything else is refused, where the library's decoder may read something.
 */
import { isoCBOR } from '@simplewebauthn/server/helpers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coseToJwk, decodeCoseKeyMap, jwkToCose } from '../../../core/crypto/cose.js';
import { exportPublicJwk, generateKeyPair } from '../../../core/crypto/index.js';

type Cbor = Parameters<typeof isoCBOR.encode>[0];

const label = fc.oneof(fc.integer({ min: -70_000, max: 70_000 }), fc.integer({ min: -(2 ** 32), max: 2 ** 32 - 1 }));
const value = fc.oneof(fc.integer({ min: -(2 ** 32), max: 2 ** 32 - 1 }), fc.uint8Array({ maxLength: 300 }));

describe('decodeCoseKeyMap', () => {
  it('reads what @simplewebauthn/server reads, on every map of integer labels and integer or byte values (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(label, value), { selector: ([l]) => l, maxLength: 30 }), (entries) => {
        const encoded = new Uint8Array(isoCBOR.encode(new Map<number, Cbor>(entries) as Cbor));
        const library = isoCBOR.decodeFirst<Map<number, unknown>>(encoded);
        const ours = decodeCoseKeyMap(encoded);
        expect([...ours.entries()].map(([l, v]) => [l, v instanceof Uint8Array ? [...v] : v])).toEqual(
          [...library.entries()].map(([l, v]) => [l, v instanceof Uint8Array ? [...v] : v]),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what a COSE_Key is not made of, and anything after the map', () => {
    const refused = [
      new Map<string | number, Cbor>([['kty', 2]]), // a text label
      new Map<string | number, Cbor>([[1, 'EC2']]), // a text value
      new Map<string | number, Cbor>([[1, [2]]]), // an array
      new Map<string | number, Cbor>([[1, new Map<string | number, Cbor>([[1, 2]]) as Cbor]]), // a nested map
      new Map<string | number, Cbor>([[1, true]]),
      new Map<string | number, Cbor>([[1, 1.5]]),
      [1, 2],
      'text',
    ].map((v) => new Uint8Array(isoCBOR.encode(v as Cbor)));
    const good = new Uint8Array(isoCBOR.encode(new Map<string | number, Cbor>([[1, 2]])));
    refused.push(
      new Uint8Array([...good, 0x00]), // a byte after the map
      new Uint8Array([0xa2, 0x01, 0x02, 0x01, 0x03]), // label 1 twice
      new Uint8Array([0xbf, 0x01, 0x02, 0xff]), // indefinite-length map
      new Uint8Array([0xa1, 0x01, 0x5f, 0x41, 0x00, 0xff]), // indefinite-length byte string
      new Uint8Array([0xa1, 0x01, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1]), // 64-bit argument
      new Uint8Array([0xa1, 0x01, 0x58, 0x20, 0x00]), // byte string longer than what is left
      new Uint8Array([0xa2, 0x01, 0x02]), // fewer entries than the head says
      new Uint8Array([0xa1, 0x01, 0xc1, 0x00]), // a tag
      new Uint8Array([]),
      // Heads that are not a map but count as many items as the pairs after them.
      new Uint8Array([0x82, 0x01, 0x02, 0x03, 0x04]), // an array of two, then two more integers
      new Uint8Array([0x01, 0x01, 0x02]), // the integer 1, then a pair
    );
    for (const bytes of refused) expect(() => decodeCoseKeyMap(bytes), Buffer.from(bytes).toString('hex')).toThrow();
  });

  it('coseToJwk still takes exactly the EC2 / ES256 / P-256 keys jwkToCose writes', async () => {
    const jwk = await exportPublicJwk((await generateKeyPair('ES256')).publicKey);
    const cose = jwkToCose(jwk);
    expect(coseToJwk(cose)).toEqual(jwk);
    expect(() => coseToJwk(new Uint8Array([...cose, 0x00]))).toThrow(expect.objectContaining({ code: 'ERR_KEY' }));
  });
});
