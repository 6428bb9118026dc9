/** SHA-256 digests (FIPS 180-4) through WebCrypto, and the digest of a canonical JSON value. */
import { encodeBase64url } from './base64url.js';
import { canonicalBytes } from './canonical-json.js';

export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

/** base64url(SHA-256(JCS(value))): how one statement or document names another. */
export async function digestJson(value: unknown): Promise<string> {
  return encodeBase64url(await sha256(canonicalBytes(value)));
}

/** Constant-time equality for byte strings of public length (MACs, nonces, digests). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A fresh random value, base64url, `bytes` long before encoding (default 256 bits). */
export function randomId(bytes = 32): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(bytes)));
}
