import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import {
  canonicalJson,
  decodeBase64url,
  digestJson,
  encodeBase64url,
  bytesEqual,
  sha256,
  sha256Base64urlSync,
  sha256Sync,
  sha256TextBase64url,
  sha256TextBase64urlSync,
  utf8Length,
  sha256WebCrypto,
  sealJson,
  utf8,
  wellFormedByPattern,
  MAX_JSON_DEPTH,
} from '../../../core/encoding/index.js';
import { SemperError } from '../../../core/errors.js';
import { iJsonValue as iJsonValueOf } from '../../helpers/arbitraries.js';

const iJsonValue = iJsonValueOf(5);

describe('RFC 8785 canonical JSON', () => {
  it('sorts keys by UTF-16 code units and formats numbers as ECMAScript does (RFC 8785 §3.2.3, Appendix B)', () => {
    expect(canonicalJson({ b: 2, a: 1, c: { z: [3, 'x'], y: null } })).toBe('{"a":1,"b":2,"c":{"y":null,"z":[3,"x"]}}');
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '1': 3, ö: 4 })).toBe('{"\\r":2,"1":3,"ö":4,"€":1}');
    expect(canonicalJson([4.5, 0.000001, 1e-7, -0, 333333333.3333333, 9007199254740991])).toBe('[4.5,0.000001,1e-7,0,333333333.3333333,9007199254740991]');
  });
  it('refuses what is not I-JSON, naming the path', () => {
    expect(() => canonicalJson({ a: NaN })).toThrowError(/\$\.a is not a finite number/);
    expect(() => canonicalJson({ a: undefined })).toThrowError(SemperError);
    expect(() => canonicalJson({ a: [1, undefined] })).toThrowError(/\$\.a\[1\] is not a JSON value \(undefined\)/);
    expect(() => canonicalJson({ f: () => 1 })).toThrowError(/\$\.f is not a JSON value \(function\)/);
    // Semper refuses integers that a double cannot hold exactly (amounts must survive every parser).
    expect(() => canonicalJson({ a: 2 ** 60 })).toThrowError(/safe range/);
    expect(() => canonicalJson([1e30])).toThrowError(/safe range/);
    expect(() => canonicalJson({ d: new Date(0) })).toThrowError(/plain JSON object/);
  });
  it("is the canonicalize package's RFC 8785 form on random JSON values (property)", () => {
    const value = iJsonValue;
    fc.assert(
      fc.property(value, (v) => canonicalJson(v) === canonicalize(v)),
      { numRuns: 2000 },
    );
    // Arbitrary UTF-16 (lone surrogates included): refused exactly when the package refuses, else the same text.
    const refuses = (f: () => unknown, code?: string) => {
      try {
        f();
        return false;
      } catch (e) {
        return code === undefined || (e instanceof SemperError && e.code === code);
      }
    };
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.array(fc.string({ unit: 'binary' }), { maxLength: 3 })), (obj) => {
        if (refuses(() => canonicalize(obj))) return refuses(() => canonicalJson(obj), 'ERR_ENCODING');
        return canonicalJson(obj) === canonicalize(obj);
      }),
      { numRuns: 1000 },
    );
  });
  it('refuses lone surrogates in strings and member names (RFC 8785 §3.2.2.2)', () => {
    expect(() => canonicalJson({ a: 'x\ud800' })).toThrowError(/\$\.a has a lone surrogate/);
    expect(() => canonicalJson({ '\udc00': 1 })).toThrowError(/member name/);
    expect(canonicalJson({ a: '\ud83d\ude00' })).toBe('{"a":"\ud83d\ude00"}');
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

/**
 * Strings that exercise the fast paths' edges: JSON escapes (quote, backslash, C0 controls), lone
 * and paired surrogates, characters JSON leaves alone (U+2028, DEL), and plain letters.
 */
const wellFormedUnits = ['a', 'Z', '1', '"', '\\', '\u0000', '\u001f', '\n', '\u007f', '\u2028', 'é', '€', '\ud83d\ude00'];
const edgyString = fc.string({ unit: fc.constantFrom(...wellFormedUnits, '\ud800', '\udbff', '\udc00', '\udfff'), maxLength: 8 });
const edgyWellFormedString = fc.string({ unit: fc.constantFrom(...wellFormedUnits), maxLength: 8 });
const refusesWith = (f: () => unknown, code?: string) => {
  try {
    f();
    return false;
  } catch (e) {
    return code === undefined || (e instanceof SemperError && e.code === code);
  }
};

describe('the fast paths of the RFC 8785 walk', () => {
  it('tells lone surrogates the same way with String.prototype.isWellFormed as with the regular expression (property)', () => {
    expect(typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed).toBe('function');
    fc.assert(
      fc.property(
        fc.oneof(edgyString, fc.string({ unit: 'binary' })),
        (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed() === wellFormedByPattern(s),
      ),
      { numRuns: 2000 },
    );
  });
  it('quotes, escapes and sorts as the canonicalize package does, and refuses what it refuses (property)', () => {
    // The walk sorts up to 16 members by insertion, more with Array.prototype.sort (the second property).
    // Mostly well-formed, so that most values are not refused for one lone surrogate among many strings.
    const text = fc.oneof({ arbitrary: edgyWellFormedString, weight: 19 }, { arbitrary: edgyString, weight: 1 });
    const value = fc.dictionary(text, fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 20 })), { maxKeys: 40 });
    fc.assert(
      fc.property(value, (obj) => {
        const sealed = sealJson(obj);
        if (refusesWith(() => canonicalize(obj))) {
          return refusesWith(() => canonicalJson(obj), 'ERR_ENCODING') && !sealed.ok && !sealed.failure.notJson && sealed.failure.error.code === 'ERR_ENCODING';
        }
        return canonicalJson(obj) === canonicalize(obj) && sealed.ok && sealed.text === canonicalize(obj);
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(edgyWellFormedString, fc.string()), fc.integer(), { minKeys: 17, maxKeys: 60 }), (obj) => {
        const sealed = sealJson(obj);
        if (refusesWith(() => canonicalize(obj))) return !sealed.ok && refusesWith(() => canonicalJson(obj), 'ERR_ENCODING');
        return sealed.ok && sealed.text === canonicalize(obj) && canonicalJson(obj) === sealed.text;
      }),
      { numRuns: 300 },
    );
  });
  it('quotes a member name the same on first use, from memory, and past the memory limit; a name with a lone surrogate is refused every time', () => {
    const names = ['a"b', 'back\\slash', 'line\nfeed', '\u0000', 'x'.repeat(65), 'plain', 'Ωmega', '\ud83d\ude00'];
    // More distinct names than the memory holds (4,096), then the same names again.
    const many = Array.from({ length: 5000 }, (_, i) => `n${i}\t`);
    for (let round = 0; round < 3; round++) {
      for (const name of names) {
        const value = { [name]: { [name]: 1 } };
        expect(canonicalJson(value)).toBe(canonicalize(value));
        const sealed = sealJson(value);
        expect(sealed.ok && sealed.text).toBe(canonicalize(value));
      }
      const wide = Object.fromEntries(many.map((n) => [n, 0]));
      expect(canonicalJson(wide)).toBe(canonicalize(wide));
      expect(() => canonicalJson({ ok: 1, '\udc00x': 1 })).toThrowError(/member name/);
      expect(sealJson({ ok: 1, 'y\ud800': 1 }).ok).toBe(false);
    }
  });

  it('writes every single UTF-16 code unit as JSON.stringify does (exhaustive)', () => {
    const differs: number[] = [];
    for (let c = 0; c < 0x10000; c++) {
      const s = String.fromCharCode(c);
      if (c >= 0xd800 && c <= 0xdfff) {
        if (!refusesWith(() => canonicalJson(s), 'ERR_ENCODING')) differs.push(c);
      } else if (canonicalJson(`a${s}`) !== JSON.stringify(`a${s}`) || canonicalJson({ [s]: 0 }) !== `{${JSON.stringify(s)}:0}`) differs.push(c);
    }
    expect(differs).toEqual([]);
  });
  it('serialises values built from sealed parts as the package does, and no copy of a sealed part carries its text (property)', () => {
    fc.assert(
      fc.property(iJsonValue, fc.dictionary(fc.string(), iJsonValue, { maxKeys: 3 }), (v, extra) => {
        const sealed = sealJson({ a: { b: { c: v } } });
        if (!sealed.ok) return false;
        const inner = (sealed.value as { a: { b: Record<string, unknown> } }).a;
        // A new object around sealed parts, and a spread copy of a sealed part with other members.
        const composite = { x: inner, y: [inner.b, v] };
        const spread = { ...inner.b, ...extra };
        return (
          canonicalJson(composite) === canonicalize({ x: { b: { c: v } }, y: [{ c: v }, v] }) &&
          canonicalJson(spread) === canonicalize({ c: v, ...extra }) &&
          canonicalJson(structuredClone(sealed.value)) === sealed.text
        );
      }),
      { numRuns: 500 },
    );
  });
  it('keeps the canonical text off the copy as a member: not enumerable, not in JSON, not cloned', () => {
    const sealed = sealJson({ b: [1], a: { c: 'x' } });
    if (!sealed.ok) throw new Error('refused');
    const copy = sealed.value as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['b', 'a']);
    expect(Reflect.ownKeys(copy)).toEqual(['b', 'a']);
    expect(Object.getOwnPropertyDescriptors(copy)).toEqual({
      b: { value: [1], writable: false, enumerable: true, configurable: false },
      a: { value: { c: 'x' }, writable: false, enumerable: true, configurable: false },
    });
    expect(JSON.stringify(copy)).toBe('{"b":[1],"a":{"c":"x"}}');
    expect(Object.getOwnPropertySymbols({ ...copy })).toEqual([]);
    expect(Object.getOwnPropertySymbols(Object.assign({}, copy))).toEqual([]);
    expect(Object.getOwnPropertySymbols(structuredClone(copy))).toEqual([]);
  });
});

describe('sealJson: a deep-frozen copy and its RFC 8785 text in one walk', () => {
  const deepFrozen = (v: unknown): boolean => typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(deepFrozen));
  it("gives the canonicalize package's text and an equal, deep-frozen copy on random JSON values (property)", () => {
    const value = iJsonValue;
    fc.assert(
      fc.property(value, (v) => {
        const sealed = sealJson(v);
        if (!sealed.ok) return false;
        expect(sealed.text).toBe(canonicalize(v));
        expect(sealed.value).toStrictEqual(v);
        return deepFrozen(sealed.value) && canonicalJson(sealed.value) === sealed.text;
      }),
      { numRuns: 1000 },
    );
  });
  it('keeps members named like Object.prototype properties as own members, as JSON.parse makes them', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true},"constructor":1,"toString":"x","b":[{"__proto__":2}]}') as Record<string, unknown>;
    const sealed = sealJson(parsed);
    if (!sealed.ok) throw new Error('refused');
    const copy = sealed.value as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['__proto__', 'constructor', 'toString', 'b']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor((copy.b as Record<string, unknown>[])[0], '__proto__')?.value).toBe(2);
    expect(sealed.text).toBe(canonicalize(parsed));
    expect(sealed.text).toBe('{"__proto__":{"polluted":true},"b":[{"__proto__":2}],"constructor":1,"toString":"x"}');
  });
  it('refuses what is not I-JSON, telling a schema failure from an encoding one', () => {
    const notJson = sealJson({ a: [1, () => 1] });
    expect(notJson.ok === false && notJson.failure.notJson && notJson.failure.path).toBe('$.a[1]');
    const notIJson = sealJson({ a: { b: 2 ** 60 } });
    expect(notIJson.ok === false && !notIJson.failure.notJson && notIJson.failure.error.code).toBe('ERR_ENCODING');
  });

  it(`refuses nesting deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) and cycles with ERR_ENCODING, never by exhausting the stack (RFC 8259 §9)`, () => {
    const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));
    // As deep as allowed: sealed, canonicalised.
    const deepest = nested(MAX_JSON_DEPTH);
    expect(sealJson(deepest).ok).toBe(true);
    expect(canonicalJson({ a: nested(MAX_JSON_DEPTH - 1) })).toBe(`{"a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { again: cyclic };
    for (const value of [nested(MAX_JSON_DEPTH + 1), { body: nested(50_000) }, cyclic]) {
      const sealed = sealJson(value);
      expect(sealed.ok === false && !sealed.failure.notJson && sealed.failure.error.code).toBe('ERR_ENCODING');
      expect(sealed.ok === false && sealed.failure.error.message).toMatch(/RFC 8259 §9: .* more than 64 deep/);
      let thrown: unknown;
      try {
        canonicalJson(value);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SemperError);
      expect((thrown as SemperError).code).toBe('ERR_ENCODING');
    }
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
  it('SHA-256 is FIPS 180-4, the same through node:crypto (Node) and WebCrypto (the browsers) on random inputs', async () => {
    const abc = 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0';
    expect(encodeBase64url(await sha256(utf8('abc')))).toBe(abc);
    expect(encodeBase64url(await sha256WebCrypto(utf8('abc')))).toBe(abc);
    // Node has the synchronous path; the extension's worker does not (test/e2e runs it there).
    expect(sha256Sync(utf8('abc'))).not.toBeNull();
    expect(sha256Base64urlSync(utf8('abc'))).toBe(abc);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        const data = new Uint8Array(bytes);
        const web = await sha256WebCrypto(data);
        return bytesEqual(await sha256(data), web) && sha256Base64urlSync(data.subarray(0)) === encodeBase64url(web);
      }),
      { numRuns: 300 },
    );
  });
  it('counts a string’s UTF-8 bytes as TextEncoder writes them, lone surrogates as U+FFFD (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 4 }),
        (s, lone) => {
          for (const text of [s, s + lone, lone + s]) expect(utf8Length(text)).toBe(utf8(text).length);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('hashes a string as its UTF-8, in one native call in Node as through TextEncoder and WebCrypto (property)', async () => {
    expect(await sha256TextBase64url('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 400 }).filter((s) => wellFormedByPattern(s)),
        async (s) => {
          const viaWebCrypto = encodeBase64url(await sha256WebCrypto(utf8(s)));
          // The synchronous path answers in Node (else this checks nothing) and agrees.
          return (await sha256TextBase64url(s)) === viaWebCrypto && sha256TextBase64urlSync(s) === viaWebCrypto;
        },
      ),
      { numRuns: 300 },
    );
  });
  it('digestJson is SHA-256 over the canonical bytes', async () => {
    await expect(digestJson({ a: 2 ** 60 })).rejects.toMatchObject({ code: 'ERR_ENCODING' });
    // SHA-256("{}") = 44136fa3...; base64url of it:
    expect(await digestJson({})).toBe('RBNvo1WzZ4oRRq0W9-hknpT7T8If536DEMBg9hyq_4o');
    expect(await digestJson({ a: 1, b: 2 })).toBe(await digestJson({ b: 2, a: 1 }));
  });
});
