/**
 * base64url's two codecs (core/encoding/base64url.ts): Node's Buffer, used where there is one, and
 * the portable btoa/atob one browsers run. On random bytes both give the same text and read it back
 * to the same bytes; the strict rules (alphabet, length, canonical trailing bits) hold whatever the codec.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64, encodeBase64url, portableBase64 } from '../../../core/encoding/index.js';

const toUrl = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('base64url: the Buffer codec and the portable one agree', () => {
  it('on random bytes (also views into a larger buffer), both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, offset) => {
        // A view that does not start at its buffer's beginning: the Buffer path must respect byteOffset.
        const backing = new Uint8Array(bytes.length + offset + 3);
        backing.set(bytes, offset);
        const view = backing.subarray(offset, offset + bytes.length);
        const portable = portableBase64.encode(bytes);
        expect(encodeBase64(view)).toBe(portable);
        expect(encodeBase64url(view)).toBe(toUrl(portable));
        const decoded = decodeBase64url(toUrl(portable));
        expect(decoded.constructor).toBe(Uint8Array);
        expect([...decoded]).toEqual([...bytes]);
        expect([...portableBase64.decodeUrl(toUrl(portable))]).toEqual([...bytes]);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses what is not strict base64url, on the path this runtime takes', () => {
    for (const bad of ['a', 'ab=', 'a+b/', 'ab c', 'AB==']) expect(() => decodeBase64url(bad)).toThrow(/RFC 4648 §5/);
    // "AB" has trailing bits set ("AA" is the canonical form of the byte 0x00).
    expect(() => decodeBase64url('AB')).toThrow(/RFC 4648 §3.5/);
    expect([...decodeBase64url('AA')]).toEqual([0]);
  });

  it('refuses exactly the texts whose bytes encode back to another text (trailing bits), whatever the alphabet character (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Every character in the last position, after 0 to 6 others.
    for (const last of alphabet) {
      for (const head of ['', 'A', 'AB', 'ABCD', 'ABCDE', 'ABCDEF']) {
        const text = head + last;
        if (text.length % 4 === 1) continue;
        let canonical: boolean;
        try {
          decodeBase64url(text);
          canonical = true;
        } catch (e) {
          expect(String(e)).toMatch(/RFC 4648 §3.5/);
          canonical = false;
        }
        expect(canonical).toBe(toUrl(Buffer.from(text, 'base64url').toString('base64')) === text);
      }
    }
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 60 }), (text) => {
        if (text.length % 4 === 1) return true;
        let canonical: boolean;
        try {
          decodeBase64url(text);
          canonical = true;
        } catch {
          canonical = false;
        }
        return canonical === (encodeBase64url(Buffer.from(text, 'base64url')) === text);
      }),
      { numRuns: 2000 },
    );
  });
});
