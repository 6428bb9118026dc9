/** Helpers shared by the protocol roles and the TTP: signing, verifying "from this key", results. */
import { SemperError, errorToJson, isSemperError } from '../errors.js';
import { canonicalJson, encodeBase64url, sha256, utf8 } from '../encoding/index.js';
import type { RandomSource } from '../machine.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import type { Signer } from '../crypto/keys.js';
import { canonicalStatementDigest, nowIso, signStatement, verifyStatement, type SignerRef, type Statement } from '../statements/index.js';
import type { WebAuthnStatementVerifier } from '../statements/verify.js';
import type { MatchContext } from '../items/match.js';
import type { RevocationCheck } from '../pki/certificates.js';
import type { ExchangeContext, ExchangeEffect, ExchangeOutcome, ExchangeState, Outbound, PartyRef, StepResult } from './types.js';

export function parseBody<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } },
  body: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SemperError('ERR_SCHEMA', `${what}: ${issue ? `${issue.path.map(String).join('.') || '$'}: ${issue.message}` : 'malformed'}`);
  }
  return parsed.data;
}

export interface VerifyTrust {
  roots: readonly string[];
  isRevoked?: RevocationCheck;
  webauthn?: WebAuthnStatementVerifier;
}

/**
 * Verify `input` as a statement of one of `types` signed by one of `keyIds`; returns the
 * statement, its parsed body and the signer's key id. Throws a SemperError naming the rule.
 */
export async function verifyFrom<T>(
  input: unknown,
  types: readonly string[],
  keyIds: readonly string[] | null,
  schema: Parameters<typeof parseBody<T>>[0],
  trust: VerifyTrust,
  now: number,
): Promise<{ statement: Statement; body: T; keyId: string }> {
  const verified = await verifyStatement(input, {
    types,
    trust: { roots: trust.roots, now: new Date(now), ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}) },
    ...(trust.webauthn ? { webauthn: trust.webauthn } : {}),
  });
  const keyId = await jwkThumbprint(verified.signerJwk);
  if (keyIds && !keyIds.includes(keyId)) {
    throw new SemperError('ERR_SIGNATURE_INVALID', `${verified.statement.type}: signed by key ${keyId}, which is not the party the exchange names`);
  }
  const body = parseBody(schema, verified.statement.body, verified.statement.type);
  return { statement: verified.statement as Statement, body, keyId };
}

/** The statement type of an untrusted message, or null (for routing only; nothing is trusted yet). */
export function typeOf(message: unknown): string | null {
  if (message && typeof message === 'object' && 'type' in message && typeof (message as { type: unknown }).type === 'string') {
    return (message as { type: string }).type;
  }
  return null;
}

export function signerRefOf(ctx: { signer: Signer; signerRef?: SignerRef }): SignerRef {
  return ctx.signerRef ?? { kind: 'jwk', jwk: ctx.signer.publicJwk };
}

export function selfRef(ctx: ExchangeContext): PartyRef {
  return ctx.signerRef && ctx.signerRef.kind === 'x509' ? { keyId: ctx.signer.keyId, signer: ctx.signerRef } : { keyId: ctx.signer.keyId };
}

export async function sign(
  type: string,
  dealId: string,
  body: Record<string, unknown>,
  ctx: { signer: Signer; signerRef?: SignerRef },
  now: number,
): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(now), body }, ctx.signer, { signerRef: signerRefOf(ctx) })) as Statement;
}

/** Commitment to a nonce: base64url SHA-256 of its UTF-8 text (ASW's h(n)). */
export async function commitTo(nonce: string): Promise<string> {
  return encodeBase64url(await sha256(utf8(nonce)));
}

export function freshNonce(ctx: { random: RandomSource }): string {
  return ctx.random.id(32);
}

/**
 * The exchange id: the digest of m1 with its signature in one canonical form
 * (core/statements/canonical-signature.ts). ECDSA is malleable: a digest of m1's bytes as sent
 * would give anyone holding m1 a second valid m1 with another id — one exchange the TTP aborts
 * and a twin it resolves. A low-S m1 (and every EdDSA m1) keeps the id it had.
 */
export function exchangeIdOf(m1: Statement): Promise<string> {
  return canonicalStatementDigest(m1);
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function matchContext(trust: VerifyTrust, now: number): MatchContext {
  return { roots: trust.roots, now, ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}), ...(trust.webauthn ? { webauthn: trust.webauthn } : {}) };
}

export function errorInfo(e: unknown): { code: string; message: string } {
  return errorToJson(e);
}

/** Re-throw anything that is not a validation failure (bugs must not look like bad input). */
export function asRejection(e: unknown): ExchangeEffect {
  if (!isSemperError(e)) throw e;
  return { kind: 'rejected-message', error: errorInfo(e) };
}

export function result(state: ExchangeState, send: Outbound[] = [], effects: ExchangeEffect[] = []): StepResult {
  return { state, send, effects };
}

export function archiveSent(send: Outbound[]): ExchangeEffect[] {
  return send.map((o) => ({ kind: 'archive', statement: o.statement, direction: 'sent' }) as const);
}

export function finish(state: ExchangeState, outcome: ExchangeOutcome): ExchangeState {
  return { ...state, phase: 'done', outcome, wakeAt: null };
}
