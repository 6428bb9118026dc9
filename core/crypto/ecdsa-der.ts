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
  const length = der[offset + 1];
  if (length === undefined || length === 0 || length > size + 1) fail('INTEGER length out of range');
  const start = offset + 2;
  const end = start + length;
  if (end > der.length) fail('INTEGER runs past the end');
  const first = der[start]!;
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
  const length = der[1];
  // For P-256 the whole value is at most 72 bytes, so the length is always in short form.
  if (length === undefined || length >= 0x80) fail('SEQUENCE length must use the short form');
  if (der.length !== 2 + length) fail('SEQUENCE length does not match the signature length');
  const [r, afterR] = readInteger(der, 2, size);
  const [s, afterS] = readInteger(der, afterR, size);
  if (afterS !== der.length) fail('trailing bytes after s');
  const raw = new Uint8Array(2 * size);
  raw.set(r, size - r.length);
  raw.set(s, 2 * size - s.length);
  return raw;
}
