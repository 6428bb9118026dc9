import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, decodeBase64url, digestJson, encodeBase64url, bytesEqual } from '../../../core/encoding/index.js';
import { SemperError } from '../../../core/errors.js';

describe('RFC 8785 canonical JSON', () => {
  it('sorts keys by UTF-16 code units and formats numbers as ECMAScript does (RFC 8785 §3.2.3, Appendix B)', () => {
    expect(canonicalJson({ b: 2, a: 1, c: { z: [3, 'x'], y: null } })).toBe('{"a":1,"b":2,"c":{"y":null,"z":[3,"x"]}}');
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '1': 3, ö: 4 })).toBe('{"\\r":2,"1":3,"ö":4,"€":1}');
    expect(canonicalJson([4.5, 0.000001, 1e-7, -0, 333333333.3333333, 9007199254740991])).toBe('[4.5,0.000001,1e-7,0,333333333.3333333,9007199254740991]');
  });
  it('refuses what is not I-JSON, naming the path', () => {
    expect(() => canonicalJson({ a: NaN })).toThrowError(/\$\.a is not a finite number/);
    expect(() => canonicalJson({ a: undefined })).toThrowError(SemperError);
    // Semper refuses integers that a double cannot hold exactly (amounts must survive every parser).
    expect(() => canonicalJson({ a: 2 ** 60 })).toThrowError(/safe range/);
    expect(() => canonicalJson([1e30])).toThrowError(/safe range/);
    expect(() => canonicalJson({ d: new Date(0) })).toThrowError(/plain JSON object/);
  });
  it('is stable under key order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        const text = canonicalJson(obj);
        return text === canonicalJson(reversed) && canonicalJson(JSON.parse(text)) === text;
      }),
    );
  });
});

describe('base64url (RFC 4648 §5)', () => {
  it('round-trips any bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => bytesEqual(decodeBase64url(encodeBase64url(bytes)), bytes)));
  });
  it('rejects padding, foreign alphabets and non-canonical trailing bits', () => {
    expect(encodeBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(() => decodeBase64url('-_8=')).toThrowError(/base64url/);
    expect(() => decodeBase64url('+/8')).toThrowError(/base64url/);
    expect(() => decodeBase64url('-_9')).toThrowError(/non-canonical/);
    expect(() => decodeBase64url('A')).toThrowError(SemperError);
  });
});

describe('digests', () => {
  it('digestJson is SHA-256 over the canonical bytes', async () => {
    // SHA-256("{}") = 44136fa3...; base64url of it:
    expect(await digestJson({})).toBe('RBNvo1WzZ4oRRq0W9-hknpT7T8If536DEMBg9hyq_4o');
    expect(await digestJson({ a: 1, b: 2 })).toBe(await digestJson({ b: 2, a: 1 }));
  });
});
