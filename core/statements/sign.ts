import { canonicalJson, encodeBase64url, digestJson, utf8 } from '../encoding/index.js';
import type { Signer } from '../crypto/keys.js';
import type { SignerRef, SignatureBlock, Statement, UnsignedStatement } from './schema.js';

type ToSign = UnsignedStatement<unknown> & { signature: Pick<SignatureBlock, 'alg' | 'signer'> };

/** The bytes a statement's signature covers (see schema.ts). */
export function signingInput(statement: ToSign): Uint8Array<ArrayBuffer> {
  return utf8(signingText(statement));
}

/** The envelope's members, in RFC 8785 order (by UTF-16 code units): body < dealId < issuedAt < signature < type < version. */
const ENVELOPE_MEMBERS = new Set(['body', 'dealId', 'issuedAt', 'signature', 'type', 'version']);

/**
 * The canonical text of the statement with `signature` reduced to `{ alg, signer }`. A statement
 * with exactly the envelope's members (every verified one: the schema is strict) is written member
 * by member in their canonical order, each member's text from canonicalJson (a sealed body or
 * signer is not walked again), without building the reduced copy and sorting its names; anything
 * else takes the general way. Both are the same text (test/core/statements compares them).
 */
export function signingText(statement: ToSign): string {
  const names = Object.keys(statement);
  if (names.length === ENVELOPE_MEMBERS.size && names.every((n) => ENVELOPE_MEMBERS.has(n))) {
    const { signature } = statement;
    return `{"body":${canonicalJson(statement.body)},"dealId":${canonicalJson(statement.dealId)},"issuedAt":${canonicalJson(statement.issuedAt)},"signature":{"alg":${canonicalJson(signature.alg)},"signer":${canonicalJson(signature.signer)}},"type":${canonicalJson(statement.type)},"version":${canonicalJson(statement.version)}}`;
  }
  return signingTextByCopy(statement);
}

/** The general way: the reduced copy, canonicalised. */
export function signingTextByCopy(statement: ToSign): string {
  const { signature, ...rest } = statement;
  return canonicalJson({ ...rest, signature: { alg: signature.alg, signer: signature.signer } });
}

export interface SignOptions {
  /** How verifiers find the key; defaults to the signer's bare JWK. */
  signerRef?: SignerRef;
}

/** Sign a statement with a WebCrypto key (ES256 or EdDSA). */
export async function signStatement<B>(unsigned: UnsignedStatement<B>, signer: Signer, options: SignOptions = {}): Promise<Statement<B>> {
  const header = { alg: signer.alg, signer: options.signerRef ?? { kind: 'jwk' as const, jwk: signer.publicJwk } };
  const input = signingInput({ ...unsigned, signature: header });
  const value = encodeBase64url(await signer.sign(input));
  return { ...unsigned, signature: { ...header, value } } as Statement<B>;
}

/** The id one statement uses to name another: base64url SHA-256 of its canonical form, signature included. */
export function statementDigest(statement: Statement<unknown>): Promise<string> {
  return digestJson(statement);
}

export function nowIso(now: number): string {
  return new Date(now).toISOString();
}
