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
import { PublicJwk } from '../crypto/jwk.js';

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]*$/, 'base64url'));
const b64 = z.string().check(z.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'));

export const StatementType = z.string().check(z.regex(/^[a-z]+(\.[a-zA-Z-]+)+$/, 'dotted statement type, e.g. semper.offer'));

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
