/**
 * The one envelope every offer, order, receipt, affidavit and verdict uses.
 *
 *   { type, version, dealId, issuedAt, body, signature: { alg, signer, value, ...webauthn } }
 *
 * The signature covers the RFC 8785 canonical bytes of the whole statement with `signature`
 * reduced to `{ alg, signer }`: the algorithm and the signer are signed too, so neither can be
 * swapped (no algorithm downgrade, no re-attribution to another key).
 */
import { z } from '../zod.js';
import { JWK_COORDINATE, PublicJwk } from '../crypto/jwk.js';

// The patterns are shared with isStatementEnvelope below: one RegExp object, one rule.
const B64U = /^[A-Za-z0-9_-]*$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TYPE = /^[a-z]+(\.[a-zA-Z-]+)+$/;
const b64u = z.string().check(z.regex(B64U, 'base64url'));
const b64 = z.string().check(z.regex(B64, 'base64'));

export const StatementType = z.string().check(z.regex(TYPE, 'dotted statement type, e.g. semper.offer'));

export const SignerRef = z.discriminatedUnion('kind', [
  /** A certified signer: DER certificates, base64, leaf first. */
  z.strictObject({ kind: z.literal('x509'), chain: z.array(b64).check(z.minLength(1), z.maxLength(5)) }),
  /** A bare key, identified by its JWK (shopper device keys, pseudonyms). */
  z.strictObject({ kind: z.literal('jwk'), jwk: PublicJwk }),
  /** A WebAuthn credential: its COSE public key as JWK and its credential id. */
  z.strictObject({
    kind: z.literal('webauthn'),
    jwk: PublicJwk,
    credentialId: b64u.check(z.minLength(1)),
    rpId: z.string().check(z.minLength(1), z.maxLength(256)),
  }),
]);
export type SignerRef = z.infer<typeof SignerRef>;

export const SignatureBlock = z.discriminatedUnion('alg', [
  z.strictObject({ alg: z.literal('ES256'), signer: SignerRef, value: b64u }),
  z.strictObject({ alg: z.literal('EdDSA'), signer: SignerRef, value: b64u }),
  z.strictObject({
    alg: z.literal('webauthn-ES256'),
    signer: SignerRef,
    /** DER ECDSA signature over authenticatorData || SHA-256(clientDataJSON), base64url. */
    value: b64u,
    authenticatorData: b64u,
    clientDataJSON: b64u,
  }),
]);
export type SignatureBlock = z.infer<typeof SignatureBlock>;

const JsonObject = z.record(z.string(), z.json());

export const Statement = z.strictObject({
  type: StatementType,
  version: z.literal(1),
  dealId: z.string().check(z.minLength(8), z.maxLength(128)),
  /** RFC 3339 UTC timestamp with milliseconds, as Date.prototype.toISOString writes it. */
  issuedAt: z.iso.datetime(),
  body: JsonObject,
  signature: SignatureBlock,
});
export type Statement<B = Record<string, unknown>> = Omit<z.infer<typeof Statement>, 'body'> & { body: B };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The envelope as verifyStatement checks it: `Statement` with the body only required to be an
 * object here; that its members are JSON is checked by the one walk that also seals the statement
 * and computes its canonical text (verify.ts). Same rules, one pass over the body instead of two.
 */
export const StatementEnvelope = z.extend(Statement, {
  body: z.custom<Record<string, unknown>>(isPlainObject, { message: 'Invalid input: expected record' }),
});

export type UnsignedStatement<B = Record<string, unknown>> = Omit<Statement<B>, 'signature'>;

// ---------------------------------------------------------------------------------------------
// The envelope's rules without zod, for verifyStatement's usual case (issue 13: zod's object and
// union machinery cost as much as the rest of the envelope's handling together).

/** The pattern z.iso.datetime() built for `issuedAt` (zod keeps it in the check's definition). */
const ISSUED_AT = (Statement.shape.issuedAt._zod.def as { pattern?: unknown }).pattern;

/**
 * Exactly these members, in this order, as a for-in loop sees them — the loop zod's strict
 * objects run (own and inherited enumerable names): no other member anywhere, none missing.
 */
function hasMembers(o: unknown, names: readonly string[]): o is Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  let i = 0;
  for (const name in o) {
    if (name !== names[i]) return false;
    i++;
  }
  return i === names.length;
}

function matches(v: unknown, pattern: RegExp): v is string {
  return typeof v === 'string' && pattern.test(v);
}

const ENVELOPE = ['type', 'version', 'dealId', 'issuedAt', 'body', 'signature'];
const SIGNATURE = ['alg', 'signer', 'value'];
const WEBAUTHN_SIGNATURE = ['alg', 'signer', 'value', 'authenticatorData', 'clientDataJSON'];
const X509 = ['kind', 'chain'];
const JWK = ['kind', 'jwk'];
const WEBAUTHN = ['kind', 'jwk', 'credentialId', 'rpId'];
const EC = ['kty', 'crv', 'x', 'y'];
const OKP = ['kty', 'crv', 'x'];

function isPublicJwk(jwk: unknown): boolean {
  const coordinate = (v: unknown) => matches(v, JWK_COORDINATE) && v.length === 43;
  if (hasMembers(jwk, EC)) return jwk.kty === 'EC' && jwk.crv === 'P-256' && coordinate(jwk.x) && coordinate(jwk.y);
  if (hasMembers(jwk, OKP)) return jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && coordinate(jwk.x);
  return false;
}

function isSignerRef(signer: unknown): boolean {
  if (hasMembers(signer, X509)) {
    const chain = signer.chain;
    return signer.kind === 'x509' && Array.isArray(chain) && chain.length >= 1 && chain.length <= 5 && chain.every((c) => matches(c, B64));
  }
  if (hasMembers(signer, JWK)) return signer.kind === 'jwk' && isPublicJwk(signer.jwk);
  if (hasMembers(signer, WEBAUTHN)) {
    const { credentialId, rpId } = signer;
    return (
      signer.kind === 'webauthn' &&
      isPublicJwk(signer.jwk) &&
      matches(credentialId, B64U) &&
      credentialId.length >= 1 &&
      typeof rpId === 'string' &&
      rpId.length >= 1 &&
      rpId.length <= 256
    );
  }
  return false;
}

/**
 * True only for a value StatementEnvelope accepts AND whose members (envelope, signature, signer,
 * key) are in the schema's order, so that its parse would be an equal copy with the same member
 * order; false means "ask StatementEnvelope" (which then decides, with its own messages). For
 * frozen copies (sealJson), which have no getters to answer twice. The body is only checked to be
 * a plain object here, as StatementEnvelope does (verify.ts). test/core/statements compares it with
 * the schema on generated and mutated envelopes.
 */
export function isStatementEnvelope(s: unknown): boolean {
  if (!(ISSUED_AT instanceof RegExp) || !hasMembers(s, ENVELOPE)) return false;
  const { version, dealId, body, signature } = s;
  if (!matches(s.type, TYPE) || version !== 1 || typeof dealId !== 'string' || dealId.length < 8 || dealId.length > 128) return false;
  if (!matches(s.issuedAt, ISSUED_AT) || !isPlainObject(body)) return false;
  if (hasMembers(signature, SIGNATURE)) {
    if (signature.alg !== 'ES256' && signature.alg !== 'EdDSA') return false;
  } else if (hasMembers(signature, WEBAUTHN_SIGNATURE)) {
    if (signature.alg !== 'webauthn-ES256' || !matches(signature.authenticatorData, B64U) || !matches(signature.clientDataJSON, B64U)) return false;
  } else return false;
  return matches(signature.value, B64U) && isSignerRef(signature.signer);
}
