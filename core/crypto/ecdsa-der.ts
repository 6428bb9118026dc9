/**
 * ECDSA-Sig-Value (RFC 3279 §2.2.3, SEC 1 v2 §C.5): SEQUENCE { r INTEGER, s INTEGER } in DER
 * (X.690 §8.3, §10), the encoding WebAuthn authenticators use for ES256 (WebAuthn L3 §6.5.5).
 *
 * The parser is strict: definite short lengths, minimal positive integers, no trailing bytes. A
 * lenient (BER) parser would let anyone re-encode a signature into other valid bytes, giving the
 * same signed statement another digest.
 */
import { SemperError } from '../errors.js';

function fail(rule: string): never {
  throw new SemperError('ERR_SIGNATURE_INVALID', `X.690 DER ECDSA-Sig-Value: ${rule}`);
}

/** Decode one minimal positive INTEGER at `offset`; returns its magnitude and the next offset. */
function readInteger(der: Uint8Array, offset: number, size: number): [Uint8Array, number] {
  if (der[offset] !== 0x02) fail('expected INTEGER');
  // No separate checks of the length octet: an absent or zero length is an empty INTEGER, refused
  // as zero below; a length above size + 1 leaves a magnitude above `size`, refused below; an
  // INTEGER running past the end leaves no INTEGER for s to start with, or s not ending the value.
  const length = der[offset + 1] ?? 0;
  const start = offset + 2;
  const end = start + length;
  const first = der[start] ?? 0;
  if (first & 0x80) fail('INTEGER is negative');
  if (first === 0 && length > 1 && !(der[start + 1]! & 0x80)) fail('INTEGER is not minimally encoded');
  const magnitude = first === 0 ? der.subarray(start + 1, end) : der.subarray(start, end);
  if (magnitude.length > size) fail('INTEGER is larger than the curve order');
  if (magnitude.every((b) => b === 0)) fail('INTEGER is zero');
  return [magnitude, end];
}

/** DER ECDSA-Sig-Value → the IEEE P1363 r‖s form WebCrypto verifies (`size` bytes each). */
export function ecdsaDerToRaw(der: Uint8Array, size = 32): Uint8Array<ArrayBuffer> {
  if (der[0] !== 0x30) fail('expected SEQUENCE');
  // For P-256 the whole value is at most 72 bytes, so its length is in short form. A long-form
  // first length octet (0x80 or more) needs no check of its own: it would claim at least 130 bytes,
  // and r and s (at most 35 bytes each) cannot fill them, so s does not end the value.
  if (der.length !== 2 + (der[1] ?? 0)) fail('SEQUENCE length does not match the signature length');
  const [r, afterR] = readInteger(der, 2, size);
  const [s, afterS] = readInteger(der, afterR, size);
  if (afterS !== der.length) fail('s does not end the value (trailing bytes, or s runs past the end)');
  const raw = new Uint8Array(2 * size);
  raw.set(r, size - r.length);
  raw.set(s, 2 * size - s.length);
  return raw;
}

/**
 * IEEE P1363 r‖s (what WebCrypto's ECDSA sign returns) → DER ECDSA-Sig-Value: minimal positive
 * INTEGERs, the form X.509 (RFC 5480 §2.2.3) and CMS (RFC 5753 §7.2) carry.
 */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  if (raw.length === 0 || raw.length % 2) throw new SemperError('ERR_SIGNATURE_INVALID', 'IEEE P1363: an ECDSA signature is r‖s of equal lengths');
  const half = raw.length / 2;
  const integer = (part: Uint8Array): number[] => {
    let i = 0;
    while (i < part.length - 1 && part[i] === 0) i++;
    const magnitude = [...part.subarray(i)];
    if (magnitude[0]! & 0x80) magnitude.unshift(0);
    return [0x02, magnitude.length, ...magnitude];
  };
  const body = [...integer(raw.subarray(0, half)), ...integer(raw.subarray(half))];
  // P-521's r and s (66 octets each) make a body over 127 octets: the long length form (X.690 §8.1.3.5).
  return new Uint8Array(body.length < 0x80 ? [0x30, body.length, ...body] : [0x30, 0x81, body.length, ...body]);
}
