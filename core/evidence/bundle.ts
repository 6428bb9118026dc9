/**
 * The evidence bundle: one JSON file per deal that anyone can check offline, with `semper verify`
 * (core/evidence/verify.ts) or with stock OpenSSL (docs/evidence.md, README "Checking evidence
 * with OpenSSL only").
 *
 *   {
 *     format: 'semper.evidence/1',
 *     deal: { id, kind, exporter, exportedAt },
 *     statements: [{ statement, role?, openssl: { input, signature, publicKey, chain? } }],
 *     crls: [{ der }],
 *     timestamps: [{ of, token }],
 *     attachments: [{ digest, mediaType, data }],
 *   }
 *
 * `statement` is the signed statement exactly as signed and archived (untrusted input for every
 * reader). `openssl` repeats, for each statement, what OpenSSL needs to check its signature:
 *   input      base64 of the exact bytes the signature covers: the RFC 8785 signing input
 *              (statements/sign.ts) for ES256 and EdDSA; authenticatorData ‖ SHA-256(clientDataJSON)
 *              for webauthn-ES256 (WebAuthn L3 §6.3.3);
 *   signature  base64 of the signature as OpenSSL reads it: a DER ECDSA-Sig-Value (RFC 3279
 *              §2.2.3) for ES256 (the statement carries P1363 r‖s, converted here) and
 *              webauthn-ES256 (already DER); the 64-byte R‖S of RFC 8032 for EdDSA;
 *   publicKey  the signer's key as a PEM SubjectPublicKeyInfo;
 *   chain      for certified signers, the statement's certificates as PEM, leaf first.
 * These are redundancies, never an authority on their own: `verifyBundle` recomputes every one of
 * them from `statement` and refuses a bundle where they differ. So the bytes OpenSSL checks are
 * the bytes of the statement `semper verify` checks, and tampering with any field fails somewhere.
 *
 * Timestamps: `of` is the statement's digest (statementDigest: base64url SHA-256 of the RFC 8785
 * form of the whole statement, signature included); `token` a DER RFC 3161 TimeStampToken whose
 * messageImprint is that SHA-256.
 */
import { z } from '../zod.js';
import { canonicalBytes, decodeBase64url, encodeBase64, encodeBase64url, sha256 } from '../encoding/index.js';
import { ecdsaDerToRaw } from '../crypto/ecdsa-der.js';
import type { PublicJwk } from '../crypto/jwk.js';
import { SemperError } from '../errors.js';
import { readCertificate } from '../pki/certificates.js';
import type { Statement } from '../statements/schema.js';
import { signingInput, statementDigest } from '../statements/sign.js';

export const EVIDENCE_FORMAT = 'semper.evidence/1';

/** Limits: a bundle is read by anyone, from anywhere; nothing in it may be unbounded. */
export const EVIDENCE_LIMITS = {
  /** The whole JSON text. */
  maxBundleBytes: 16 * 1024 * 1024,
  maxStatements: 256,
  /** One statement's signing input (base64 characters). */
  maxInputChars: 512 * 1024,
  maxCrls: 16,
  maxCrlChars: 1024 * 1024,
  maxTimestamps: 256,
  maxTokenChars: 64 * 1024,
  maxAttachments: 32,
  maxAttachmentChars: 8 * 1024 * 1024,
} as const;

const b64 = z.string().check(z.regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'base64 (RFC 4648 §4)'));
const digest = z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'base64url SHA-256'));
const pem = (label: string, max: number) =>
  z.string().check(z.maxLength(max), z.regex(new RegExp(`^(-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n)+$`), `PEM ${label}`));

export const OpensslArtefacts = z.strictObject({
  input: b64.check(z.minLength(1), z.maxLength(EVIDENCE_LIMITS.maxInputChars)),
  signature: b64.check(z.minLength(1), z.maxLength(200)),
  publicKey: pem('PUBLIC KEY', 1024),
  chain: z.optional(pem('CERTIFICATE', 64 * 1024)),
});
export type OpensslArtefacts = z.infer<typeof OpensslArtefacts>;

export const EvidenceDeal = z.strictObject({
  id: z.string().check(z.minLength(8), z.maxLength(128)),
  /** What kind of deal: 'purchase', 'fair-purchase', 'exchange', … (free text, shown to people). */
  kind: z.string().check(z.minLength(1), z.maxLength(64)),
  /** Who exported the bundle: 'extension', a server's origin, … */
  exporter: z.string().check(z.minLength(1), z.maxLength(512)),
  exportedAt: z.iso.datetime(),
});
export type EvidenceDeal = z.infer<typeof EvidenceDeal>;

export const EvidenceStatement = z.strictObject({
  /** The statement exactly as signed; checked by verifyBundle, never trusted by the schema. */
  statement: z.unknown(),
  /** The exporter's note on the statement's place in the deal ('offer', 'm1', …); not signed. */
  role: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  openssl: OpensslArtefacts,
});
export type EvidenceStatement = z.infer<typeof EvidenceStatement>;

export const EvidenceBundle = z.strictObject({
  format: z.literal(EVIDENCE_FORMAT),
  deal: EvidenceDeal,
  statements: z.array(EvidenceStatement).check(z.minLength(1), z.maxLength(EVIDENCE_LIMITS.maxStatements)),
  crls: z.array(z.strictObject({ der: b64.check(z.minLength(1), z.maxLength(EVIDENCE_LIMITS.maxCrlChars)) })).check(z.maxLength(EVIDENCE_LIMITS.maxCrls)),
  timestamps: z
    .array(z.strictObject({ of: digest, token: b64.check(z.minLength(1), z.maxLength(EVIDENCE_LIMITS.maxTokenChars)) }))
    .check(z.maxLength(EVIDENCE_LIMITS.maxTimestamps)),
  attachments: z
    .array(
      z.strictObject({
        digest,
        mediaType: z.string().check(z.minLength(3), z.maxLength(255), z.regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(;[ -~]*)?$/i, 'media type')),
        data: b64.check(z.maxLength(EVIDENCE_LIMITS.maxAttachmentChars)),
      }),
    )
    .check(z.maxLength(EVIDENCE_LIMITS.maxAttachments)),
});
export type EvidenceBundle = z.infer<typeof EvidenceBundle>;

/** Parse a bundle's JSON text within the size limit; the result still needs verifyBundle. */
export function parseBundleText(text: string): unknown {
  if (text.length > EVIDENCE_LIMITS.maxBundleBytes) throw new SemperError('ERR_SCHEMA', `evidence bundle: larger than ${EVIDENCE_LIMITS.maxBundleBytes} bytes`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SemperError('ERR_SCHEMA', `evidence bundle: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Encodings OpenSSL reads (WebCrypto only: this runs in the extension too)
// ---------------------------------------------------------------------------------------------

/** IEEE P1363 r‖s (WebCrypto) → DER ECDSA-Sig-Value (RFC 3279 §2.2.3, X.690 DER: minimal, positive). */
export function p1363ToDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  if (raw.length !== 64) throw new SemperError('ERR_SIGNATURE_INVALID', `ES256 signature must be 64 bytes r‖s, not ${raw.length}`);
  const integer = (bytes: Uint8Array): number[] => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const body = Array.from(bytes.subarray(i));
    if (body[0]! & 0x80) body.unshift(0);
    return [0x02, body.length, ...body];
  };
  const content = [...integer(raw.subarray(0, 32)), ...integer(raw.subarray(32))];
  return new Uint8Array([0x30, content.length, ...content]);
}

/** RFC 4648 §4 base64 → bytes (the input was checked by the schema or comes from a statement). */
export function b64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function pemOf(label: string, der: Uint8Array): string {
  const lines = encodeBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function jwkParams(jwk: PublicJwk): EcKeyImportParams | Algorithm {
  return jwk.kty === 'EC' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' };
}

// A key's SPKI never changes: verifiers of many bundles see the same few signers again and again.
const spkiCache = new Map<string, Promise<string>>();

/** A public JWK as PEM SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, RFC 7468 §13). */
export function jwkToSpkiPem(jwk: PublicJwk): Promise<string> {
  const cacheKey = JSON.stringify([jwk.kty, jwk.crv, jwk.x, 'y' in jwk ? jwk.y : '']);
  let pem = spkiCache.get(cacheKey);
  if (!pem) {
    pem = exportSpkiPem(jwk);
    pem.catch(() => spkiCache.delete(cacheKey));
    if (spkiCache.size >= 256) spkiCache.delete(spkiCache.keys().next().value!);
    spkiCache.set(cacheKey, pem);
  }
  return pem;
}

async function exportSpkiPem(jwk: PublicJwk): Promise<string> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('jwk', { ...jwk, ext: true } as JsonWebKey, jwkParams(jwk), true, ['verify']);
  } catch (e) {
    throw new SemperError('ERR_KEY', `RFC 7517: public key does not import (${e instanceof Error ? e.message : String(e)})`);
  }
  return pemOf('PUBLIC KEY', new Uint8Array(await crypto.subtle.exportKey('spki', key)));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The signer's public key as JWK: the leaf certificate's for x509 signers, else the signer block's. */
async function signerJwk(statement: Statement<unknown>): Promise<PublicJwk> {
  const { signer } = statement.signature;
  if (signer.kind !== 'x509') return signer.jwk;
  return (await readCertificate(signer.chain[0]!)).publicJwk;
}

/**
 * The OpenSSL artefacts of one (schema-valid) statement, computed from the statement alone; used
 * to build bundles and, by verifyBundle, to check them.
 */
export async function opensslArtefacts(statement: Statement<unknown>): Promise<OpensslArtefacts> {
  const { signature } = statement;
  const value = decodeBase64url(signature.value);
  let input: Uint8Array<ArrayBuffer>;
  let sig: Uint8Array<ArrayBuffer>;
  if (signature.alg === 'webauthn-ES256') {
    ecdsaDerToRaw(value); // strict DER, as the verifier demands
    input = concat(decodeBase64url(signature.authenticatorData), await sha256(decodeBase64url(signature.clientDataJSON)));
    sig = value;
  } else {
    input = signingInput(statement);
    sig = signature.alg === 'ES256' ? p1363ToDer(value) : value;
  }
  const out: OpensslArtefacts = { input: encodeBase64(input), signature: encodeBase64(sig), publicKey: await jwkToSpkiPem(await signerJwk(statement)) };
  if (signature.signer.kind === 'x509') out.chain = signature.signer.chain.map((der) => pemOf('CERTIFICATE', b64ToBytes(der))).join('');
  return out;
}

export interface BundleStatementInput {
  statement: Statement<unknown>;
  role?: string;
}

export interface BuildBundleInput {
  deal: { id: string; kind: string; exporter: string };
  statements: readonly (Statement<unknown> | BundleStatementInput)[];
  /** base64 DER CRLs the exporter used (or has) for the certificates in the statements. */
  crls?: readonly string[];
  timestamps?: readonly { of: string; token: string }[];
  attachments?: readonly { mediaType: string; data: Uint8Array<ArrayBuffer> }[];
  now?: number;
}

/**
 * Build a bundle from a deal's archived statements (order kept; exact duplicates dropped, since a
 * bundle names each statement once). WebCrypto only.
 */
export async function buildBundle(input: BuildBundleInput): Promise<EvidenceBundle> {
  const seen = new Set<string>();
  const statements: EvidenceStatement[] = [];
  for (const item of input.statements) {
    const { statement, role }: BundleStatementInput = 'signature' in item ? { statement: item } : item;
    const id = await statementDigest(statement);
    if (seen.has(id)) continue;
    seen.add(id);
    statements.push({ statement, ...(role ? { role } : {}), openssl: await opensslArtefacts(statement) });
  }
  const attachments = [];
  for (const a of input.attachments ?? []) {
    attachments.push({ digest: encodeBase64url(await sha256(a.data)), mediaType: a.mediaType, data: encodeBase64(a.data) });
  }
  const bundle: EvidenceBundle = {
    format: EVIDENCE_FORMAT,
    deal: { ...input.deal, exportedAt: new Date(input.now ?? Date.now()).toISOString() },
    statements,
    crls: [...new Set(input.crls ?? [])].map((der) => ({ der })),
    timestamps: [...(input.timestamps ?? [])].map((t) => ({ of: t.of, token: t.token })),
    attachments,
  };
  return EvidenceBundle.parse(bundle);
}

/** The bundle as one file: JSON, two-space indented, with a final newline. */
export function bundleToJson(bundle: EvidenceBundle): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

/** The canonical bytes of a whole statement (signature included): what a time-stamp token covers. */
export function statementBytes(statement: Statement<unknown>): Uint8Array<ArrayBuffer> {
  return canonicalBytes(statement);
}
