/**
 * Wire schemas of the CA's shopper-facing endpoints (server/ca), shared by the CA and the
 * extension: registration with a one-time code, holder revocation, and the CRL.
 *
 *   POST /ca/register  RegistrationRequest                       → RegistrationResponse
 *   POST /ca/revoke    { request: Statement<RevocationRequestBody> } → RevocationResponse
 *   GET  /ca/crl                                                  → CrlResponse
 */
import { z } from '../zod.js';
import { randomId, isoTime } from '../encoding/index.js';
import type { UnsignedStatement } from '../statements/schema.js';

/**
 * Registration codes: 16 symbols of Crockford's base32 (80 bits), shown as XXXX-XXXX-XXXX-XXXX.
 * Typing is forgiving: case, spaces and hyphens are ignored, O reads as 0, I and L as 1.
 */
export const REGISTRATION_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const REGISTRATION_CODE_LENGTH = 16;

/** The canonical 16-symbol form of a typed code, or undefined if it cannot be one. */
export function normaliseRegistrationCode(typed: string): string | undefined {
  const symbols = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (symbols.length !== REGISTRATION_CODE_LENGTH) return undefined;
  for (const ch of symbols) if (!REGISTRATION_CODE_ALPHABET.includes(ch)) return undefined;
  return symbols;
}

/** A fresh code in canonical form from the platform's CSPRNG (the CA's registration codes, the bank's account-opening codes). */
export function newRegistrationCode(): string {
  // 16 symbols x 5 bits = 80 bits: exactly 10 random bytes, no modulo bias.
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = REGISTRATION_CODE_LENGTH - 1; i >= 0; i--) out += REGISTRATION_CODE_ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)];
  return out;
}

/** XXXX-XXXX-XXXX-XXXX for display. */
export function formatRegistrationCode(canonical: string): string {
  return canonical.match(/.{1,4}/g)!.join('-');
}

const b64 = z.string().check(z.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'));
const Serial = z.string().check(z.regex(/^[0-9A-Fa-f]{1,40}$/, 'certificate serial: 1-40 hex digits'));

export const RegistrationRequest = z.strictObject({
  /** As typed by the user; normalised by the CA (normaliseRegistrationCode). */
  registrationCode: z.string().check(z.minLength(REGISTRATION_CODE_LENGTH), z.maxLength(40)),
  /** PKCS #10 request (RFC 2986), base64 DER, signed by the key to certify (createCertificationRequest). */
  csr: b64.check(z.maxLength(8192)),
});
export type RegistrationRequest = z.infer<typeof RegistrationRequest>;

export const RegistrationResponse = z.strictObject({
  /** The shopper certificate, base64 DER. */
  certificate: b64,
  /** Leaf first, without the root (the root is the trust anchor the user configured). */
  chain: z.array(b64).check(z.minLength(1), z.maxLength(5)),
  /** The name the CA has on file for the code: the certificate's CN. */
  name: z.string().check(z.minLength(1), z.maxLength(128)),
  /** Lower-case hex serial. */
  serial: Serial,
});
export type RegistrationResponse = z.infer<typeof RegistrationResponse>;

export const REVOCATION_REQUEST_TYPE = 'semper.ca.revocation-request';

/** CRLReason values (RFC 5280 §5.3.1) a holder may give; the operator may also use privilegeWithdrawn. */
export const HolderRevocationReason = z.enum(['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation']);
export type HolderRevocationReason = z.infer<typeof HolderRevocationReason>;
export const OperatorRevocationReason = z.enum([...HolderRevocationReason.options, 'privilegeWithdrawn']);
export type OperatorRevocationReason = z.infer<typeof OperatorRevocationReason>;

export const RevocationRequestBody = z.strictObject({
  /** The serial of the certificate whose own key signs this request. */
  serial: Serial,
  reason: HolderRevocationReason,
});
export type RevocationRequestBody = z.infer<typeof RevocationRequestBody>;

export const RevocationResponse = z.strictObject({
  serial: Serial,
  status: z.literal('revoked'),
  revokedAt: z.iso.datetime(),
  reason: OperatorRevocationReason,
});
export type RevocationResponse = z.infer<typeof RevocationResponse>;

export const CrlResponse = z.strictObject({
  /** The CRL, base64 DER (RFC 5280 §5). Verify with verifyCrl(crl, rootCertificate, now). */
  crl: b64,
  /** PEM, label "X509 CRL" (OpenSSL: `openssl crl -in crl.pem -CAfile ca-root.pem -noout -text`). */
  pem: z.string(),
  thisUpdate: z.iso.datetime(),
  nextUpdate: z.iso.datetime(),
  crlNumber: z.string().check(z.regex(/^\d+$/)),
});
export type CrlResponse = z.infer<typeof CrlResponse>;

/**
 * The unsigned revocation request a holder signs with the certificate's own key, with signer
 * `{ kind: 'x509', chain: [certificate] }`. The CA ignores dealId (a fresh random id).
 */
export function unsignedRevocationRequest(body: RevocationRequestBody, now: number): UnsignedStatement<RevocationRequestBody> {
  return { type: REVOCATION_REQUEST_TYPE, version: 1, dealId: randomId(16), issuedAt: isoTime(now), body };
}
