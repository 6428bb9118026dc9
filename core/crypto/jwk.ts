/** Public JWKs (RFC 7517/7518/8037) for the two key types Semper signs with, and RFC 7638 thumbprints. */
import { z } from '../zod.js';
import { encodeBase64url, sha256, utf8 } from '../encoding/index.js';
import { SemperError } from '../errors.js';

/** A JWK coordinate's alphabet (RFC 7518 §6.2.1.2, base64url); exported for the envelope's fast check (statements/schema.ts). */
export const JWK_COORDINATE = /^[A-Za-z0-9_-]+$/;
const b64u = z.string().check(z.regex(JWK_COORDINATE));

export const EcPublicJwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: b64u.check(z.length(43)),
  y: b64u.check(z.length(43)),
});
export const OkpPublicJwk = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: b64u.check(z.length(43)),
});
export const PublicJwk = z.discriminatedUnion('kty', [EcPublicJwk, OkpPublicJwk]);
export type PublicJwk = z.infer<typeof PublicJwk>;

/** Keep only the public members RFC 7638 names; WebCrypto's export adds key_ops/ext. */
export function toPublicJwk(jwk: JsonWebKey): PublicJwk {
  const candidate = jwk.kty === 'EC' ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  const parsed = PublicJwk.safeParse(candidate);
  if (!parsed.success) throw new SemperError('ERR_KEY', 'RFC 7518 §6.2 / RFC 8037 §2: not a P-256 or Ed25519 public JWK');
  return parsed.data;
}

// Verifiers see the same few keys again and again (every exchange message names its signer by
// thumbprint): keep the thumbprints of recent keys, keyed by the hashed text itself.
const thumbprints = new Map<string, string>();
const THUMBPRINT_CACHE_LIMIT = 512;

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the stable id of a public key. */
export async function jwkThumbprint(jwk: PublicJwk): Promise<string> {
  // Required members in lexicographic order, no whitespace (RFC 7638 §3.2).
  const members = jwk.kty === 'EC' ? `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}` : `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`;
  const known = thumbprints.get(members);
  if (known !== undefined) return known;
  const thumbprint = encodeBase64url(await sha256(utf8(members)));
  if (thumbprints.size >= THUMBPRINT_CACHE_LIMIT) thumbprints.delete(thumbprints.keys().next().value!);
  thumbprints.set(members, thumbprint);
  return thumbprint;
}
