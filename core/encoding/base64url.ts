/** RFC 4648 §5 base64url without padding, strict on decode (no padding, no foreign characters). */
import { SemperError } from '../errors.js';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** RFC 4648 §4 base64 with padding (PEM bodies, DER in certificates). */
export function encodeBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export function encodeBase64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string' || !ALPHABET.test(text) || text.length % 4 === 1) {
    throw new SemperError('ERR_ENCODING', 'RFC 4648 §5: not a base64url string without padding');
  }
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Reject non-canonical encodings (trailing bits set), so one byte string has one text form.
  if (encodeBase64url(out) !== text) {
    throw new SemperError('ERR_ENCODING', 'RFC 4648 §3.5: non-canonical base64url (trailing bits set)');
  }
  return out;
}
