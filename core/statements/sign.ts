import { canonicalBytes, encodeBase64url, digestJson } from '../encoding/index.js';
import type { Signer } from '../crypto/keys.js';
import type { SignerRef, SignatureBlock, Statement, UnsignedStatement } from './schema.js';

/** The bytes a statement's signature covers (see schema.ts). */
export function signingInput(statement: UnsignedStatement<unknown> & { signature: Pick<SignatureBlock, 'alg' | 'signer'> }): Uint8Array<ArrayBuffer> {
  const { signature, ...rest } = statement;
  return canonicalBytes({ ...rest, signature: { alg: signature.alg, signer: signature.signer } });
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
