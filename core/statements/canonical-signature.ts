/**
 * One encoding per signature, for ids that name a statement by its digest.
 *
 * ECDSA signatures are malleable: if (r, s) verifies, so does (r, n − s) (SEC 1 v2 §4.1.4 accepts
 * any s in [1, n−1]). Anyone holding a signed statement can therefore make a second, equally valid
 * copy with other bytes — and, if an id is the digest of the bytes as sent, another id. The fair
 * exchange names an exchange by the digest of m1: with two ids for one m1, the TTP could be asked
 * to abort the one and resolve the other. So ids are digests over the statement with its signature
 * in one canonical form:
 *   ES256            r‖s with s ≤ n/2 (the "low-S" form, as BIP 62 and RFC 6979 users know it);
 *                    a low-S statement keeps exactly the digest it had;
 *   webauthn-ES256   the DER value replaced by its r‖s low-S form (the DER itself is parsed
 *                    strictly, core/crypto/ecdsa-der.ts, so DER re-encodings are refused anyway);
 *   EdDSA            unchanged: Ed25519 verification (RFC 8032 §5.1.7, as WebCrypto does it in
 *                    Node and Chromium) refuses S ≥ L, so each signature has one encoding.
 * The canonical copy is for digests only; it is never verified or sent.
 */
import { decodeBase64url, digestJson, encodeBase64url } from '../encoding/index.js';
import { ecdsaDerToRaw } from '../crypto/ecdsa-der.js';
import type { Statement } from './schema.js';

/** The order n of the P-256 group (SEC 2 v2 §2.4.2). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function toBytes(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** r‖s (32 + 32 bytes) with s ≤ n/2; other lengths are returned as they are (verification refuses them). */
export function lowS(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) return raw;
  const s = toBigInt(raw.subarray(32));
  if (s <= P256_HALF_N) return raw;
  const out = Uint8Array.from(raw);
  out.set(toBytes(P256_N - s, 32), 32);
  return out;
}

/** The statement with its signature value in the one canonical form described above. */
export function withCanonicalSignature<B>(statement: Statement<B>): Statement<B> {
  const signature = statement.signature;
  if (signature.alg === 'ES256') return withValue(statement, encodeBase64url(lowS(decodeBase64url(signature.value))));
  if (signature.alg === 'webauthn-ES256') return withValue(statement, encodeBase64url(lowS(ecdsaDerToRaw(decodeBase64url(signature.value)))));
  return statement;
}

/**
 * `{ ...statement, signature: { ...statement.signature, value } }` without leading spreads (in
 * Node 20's V8 every member written after one takes a slow path): copies, then the one member
 * replaced in place. Assignment would set the prototype for a member named __proto__, so such a
 * statement (never a verified one: the schema is strict) is copied by spreading.
 */
function withValue<B>(statement: Statement<B>, value: string): Statement<B> {
  const s = statement as unknown as Record<string, unknown>;
  const sig = statement.signature as unknown as Record<string, unknown>;
  if (Object.hasOwn(s, '__proto__') || Object.hasOwn(sig, '__proto__')) {
    return { ...statement, signature: { ...statement.signature, value } } as Statement<B>;
  }
  const signature: Record<string, unknown> = Object.assign({}, sig);
  signature.value = value;
  const copy: Record<string, unknown> = Object.assign({}, s);
  copy.signature = signature;
  return copy as unknown as Statement<B>;
}

/**
 * The id one statement uses to name another when a second encoding of the same signature must
 * not make a second id (the exchange id): base64url SHA-256 of the canonical form.
 */
export function canonicalStatementDigest(statement: Statement<unknown>): Promise<string> {
  return digestJson(withCanonicalSignature(statement));
}
