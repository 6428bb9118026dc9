import type { z } from '../zod.js';
import type { CertificateInfo, ValidatedChain, RevocationCheck } from '../pki/certificates.js';
import { verifyStatement, type Statement } from '../statements/index.js';
import { ErrorResponse } from '../protocol/commerce.js';
import type { CertifiedMerchant } from './view.js';
import { acceptor } from './accept.js';
import { SemperError } from '../errors.js';
import {
  decodeBase64url,
  encodeBase64url,
  isoTime,
  sealJson,
  sha256,
  sha256Base64urlSync,
  sha256TextBase64urlSync,
  utf8Length,
  utf8Transient,
} from '../encoding/index.js';
import type { DeliveredGood, OrderSignatureDemand } from '../protocol/commerce.js';

/**
 * Validate a statement body against its schema; the error names the field that broke it. A body
 * verifyStatement handed out (deep-frozen) that the schema accepts is returned as it is, without
 * zod's copy (accept.ts); everything else, and every refusal, is zod's.
 */
export function parseBody<S extends z.ZodMiniType>(schema: S, body: unknown, what: string): z.infer<S> {
  const accept = acceptor(schema);
  if (accept) {
    // What verifyStatement handed out is deep-frozen already; anything else (a request as the host
    // parsed it) is sealed first: a deep-frozen copy no one else holds, as zod's own copy would be.
    const sealed = Object.isFrozen(body) ? { ok: true as const, value: body } : sealJson(body);
    try {
      if (sealed.ok && accept(sealed.value)) return sealed.value as z.infer<S>;
    } catch {
      // A check that throws is zod's to report.
    }
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SemperError('ERR_SCHEMA', `${what}: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}`);
  }
  return parsed.data;
}

/**
 * The merchant's typed error answer, or null for anything else. Only a value with an `error`
 * member can be one (ErrorResponse requires it), so a signed answer is not run through the schema
 * just to fail it (building a failed parse's issues cost as much as parsing a statement body).
 */
export function errorAnswer(response: unknown): z.infer<typeof ErrorResponse> | null {
  if (typeof response !== 'object' || response === null || !('error' in response)) return null;
  const parsed = ErrorResponse.safeParse(response);
  return parsed.success ? parsed.data : null;
}

/** base64url SHA-256 of a delivered good's decoded content (what offers commit to and deliveries carry). */
export async function digestDelivered(good: Pick<DeliveredGood, 'content' | 'encoding'>): Promise<string> {
  return (await measureGood(good)).digest;
}

/** A delivered good's digest and size, from one decoding of its content. Throws for content that does not decode. */
export async function measureGood(good: Pick<DeliveredGood, 'content' | 'encoding'>): Promise<{ digest: string; size: number }> {
  if (good.encoding === 'utf8') {
    // Text is hashed as its UTF-8 in one native call where there is one (Node), and counted without encoding it.
    const digest = sha256TextBase64urlSync(good.content);
    if (digest !== null) return { digest, size: utf8Length(good.content) };
  }
  // The bytes are hashed, counted and dropped (utf8Transient); hashed in one native call where there is one.
  const bytes = good.encoding === 'utf8' ? utf8Transient(good.content) : decodeBase64url(good.content);
  return { digest: sha256Base64urlSync(bytes) ?? encodeBase64url(await sha256(bytes)), size: bytes.length };
}

/** The shopper's order must meet the demand the merchant signed into its offer. */
export function checkSignatureDemand(demand: OrderSignatureDemand | undefined, alg: string, userVerified: boolean | undefined): void {
  if (!demand) return;
  if (demand.hardwareToken && alg !== 'webauthn-ES256') {
    throw new SemperError('ERR_HARDWARE_TOKEN_REQUIRED', 'this offer must be ordered with a hardware security key');
  }
  if (demand.userVerification && userVerified !== true) {
    throw new SemperError('ERR_HARDWARE_TOKEN_REQUIRED', 'this offer must be ordered with a security key that verified the user (PIN or biometrics)');
  }
}

/** What every merchant statement bound to a shopper's request carries in its body. */
interface BoundBody {
  origin: string;
  nonce: string;
  expiresAt: string;
}

export interface MerchantStatementExpectation {
  /** The page's origin, as the browser reported it. */
  origin: string;
  dealId: string;
  nonce: string;
}

export interface MerchantTrust {
  roots: readonly string[];
  isRevoked?: RevocationCheck;
}

/**
 * Verify what a merchant returned for a shopper's request (an offer, an exchange descriptor):
 * an error reply is refused; the statement is certified by a root the shopper trusts, for the
 * merchant role and for the page's origin; it names that origin, echoes this request's deal id
 * and nonce (no replayed statements), is not expired and not issued in the future.
 */
export async function verifyMerchantStatement<S extends z.ZodMiniType<BoundBody>>(
  response: unknown,
  field: string,
  type: string,
  schema: S,
  expected: MerchantStatementExpectation,
  now: number,
  trust: MerchantTrust,
): Promise<{
  statement: Statement<z.infer<S>>;
  /** The statement exactly as signed and verified (deep-frozen, its canonical text known): what digests name. */
  signed: Statement<unknown>;
  chain: ValidatedChain;
  signerJwk: CertificateInfo['publicJwk'];
}> {
  const errorReply = errorAnswer(response);
  if (errorReply) throw new SemperError('ERR_OFFER_UNKNOWN', `merchant refused: ${errorReply.error.code} ${errorReply.error.message}`);
  const raw = (response as Record<string, unknown> | null)?.[field];
  const verified = await verifyStatement(raw, {
    types: [type],
    requireCertificate: true,
    trust: { roots: trust.roots, now: new Date(now), ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}) },
  });
  const body = parseBody(schema, verified.statement.body, field);
  const chain = verified.chain!;
  const leaf = chain.leaf;
  if (leaf.role !== 'merchant') throw new SemperError('ERR_CERT_UNTRUSTED', `${field} signed by a ${leaf.role ?? 'non-merchant'} certificate`);
  // Origin binding: the page's origin (from the browser) must be one the CA certified for this merchant.
  if (!leaf.origins.includes(expected.origin)) {
    throw new SemperError('ERR_CERT_ORIGIN', `certificate of "${leaf.commonName}" is for ${leaf.origins.join(', ') || 'no origin'}, not ${expected.origin}`);
  }
  if (body.origin !== expected.origin) throw new SemperError('ERR_CERT_ORIGIN', `${field} names origin ${body.origin}, page is ${expected.origin}`);
  if (verified.statement.dealId !== expected.dealId) throw new SemperError('ERR_REPLAY', `${field} is for another deal`);
  if (body.nonce !== expected.nonce) throw new SemperError('ERR_NONCE_MISMATCH', `${field} does not echo this request's nonce (replayed or reused ${field})`);
  if (Date.parse(body.expiresAt) <= now) throw new SemperError('ERR_OFFER_EXPIRED', `${field} expired at ${body.expiresAt}`);
  if (Date.parse(verified.statement.issuedAt) > now + 5 * 60_000) throw new SemperError('ERR_OFFER_INVALID', `${field} is issued in the future`);
  return { statement: withBody(verified.statement, body), signed: verified.statement, chain, signerJwk: verified.signerJwk };
}

/**
 * The statement with its body as parsed: the statement itself when parseBody took the body as it was
 * (a verified statement's body, deep-frozen), else a copy with the parsed body. The copy names the
 * envelope's members (StatementEnvelope allows no others) rather than spreading the statement: in
 * Node 20's V8 a member written after a leading spread takes a slow path (≈ 2.5 µs each).
 */
export function withBody<B>(statement: Statement<unknown>, body: B): Statement<B> {
  if (statement.body === body) return statement as Statement<B>;
  const { type, version, dealId, issuedAt, signature } = statement;
  return { type, version, dealId, issuedAt, body, signature };
}

/** The merchant as the trusted window shows it: from its validated certificate chain only. */
export function certifiedMerchant(chain: ValidatedChain): CertifiedMerchant {
  const leaf = chain.leaf;
  return {
    legalName: leaf.commonName,
    ...(leaf.organization ? { organization: leaf.organization } : {}),
    certifiedOrigins: leaf.origins,
    issuer: chain.root.commonName,
    certificateFingerprint: leaf.fingerprint,
    certificateNotAfter: isoTime(leaf.notAfter.getTime()),
  };
}
