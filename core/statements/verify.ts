/**
 * The one verifier every statement goes through. It checks, in this order, and stops at the
 * first failure with an error naming the rule:
 *   1. shape (schema) and, if asked, the statement type;
 *   2. the signer: a bare JWK, or an X.509 chain that validates against the configured roots
 *      at `now` (validity periods, CA flags, revocation if a checker is given);
 *   3. the signature over the signing input (schema.ts) with the signer's key.
 * Certificates are checked before the signature so that an untrusted signer is reported as such.
 */
import { SemperError } from '../errors.js';
import { decodeBase64url, sealJson, utf8Transient } from '../encoding/index.js';
import { verifyRaw, verifyRawSync, type KeyAlgorithm } from '../crypto/keys.js';
import type { PublicJwk } from '../crypto/jwk.js';
import { knownChain, validateChain, type CertificateInfo, type ChainValidationOptions, type ValidatedChain } from '../pki/certificates.js';
import { isStatementEnvelope, StatementEnvelope, type SignatureBlock, type Statement } from './schema.js';
import { signingText } from './sign.js';

export interface VerifyOptions {
  /** Accepted statement types; anything else is ERR_STATEMENT_TYPE. */
  types?: readonly string[];
  /** Required for x509 signers: the trust anchors and the time to validate at. */
  trust?: ChainValidationOptions;
  /** Refuse signers that are not certified (x509). */
  requireCertificate?: boolean;
  /** Verifier for `webauthn-ES256` signatures; absent means such statements are refused. */
  webauthn?: WebAuthnStatementVerifier;
}

export interface WebAuthnStatementVerifier {
  verify(signature: Extract<SignatureBlock, { alg: 'webauthn-ES256' }>, signingInput: Uint8Array<ArrayBuffer>): Promise<{ userVerified: boolean }>;
}

export interface VerifiedStatement<B = Record<string, unknown>> {
  statement: Statement<B>;
  signerJwk: PublicJwk;
  /** Present when the signer is certified. */
  chain?: ValidatedChain;
  /** Present for webauthn-ES256: whether the authenticator verified the user (UV flag). */
  userVerified?: boolean;
}

/**
 * Step 1: one walk over the whole statement that checks it is JSON, makes a deep-frozen copy and
 * computes its canonical text (core/encoding sealJson), so the signing input, the statement's digest
 * and any statement nested in its body are not walked again; then the envelope's rules on the copy
 * (isStatementEnvelope, the schema's rules without zod). Whatever that does not take — a value that
 * is not I-JSON, breaks a rule, or has its members in another order — goes the schema's way
 * (StatementEnvelope, then sealing its parse), which names the failure. A body that is JSON but not
 * I-JSON (an unsafe integer, a lone surrogate) is refused where its signing input is made, after
 * the signer's checks, as ERR_ENCODING (`encodingError`).
 */
function parseStatement<B>(input: unknown): { statement: Statement<B>; encodingError: SemperError | null } {
  // The usual case first: a statement that is I-JSON throughout, sealed in one walk, whose copy
  // meets the envelope's rules in the schema's member order (isStatementEnvelope) — the same copy
  // the schema's parse followed by sealing makes. Anything else goes the general way below, so the
  // errors, and their order, are the schema's.
  const fast = sealJson(input);
  if (fast.ok && isStatementEnvelope(fast.value)) return { statement: fast.value as Statement<B>, encodingError: null };
  const parsed = StatementEnvelope.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SemperError('ERR_SCHEMA', `statement: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}`);
  }
  const sealed = sealJson(parsed.data);
  if (sealed.ok) return { statement: sealed.value as Statement<B>, encodingError: null };
  const { failure } = sealed;
  if (failure.notJson) throw new SemperError('ERR_SCHEMA', `statement: ${failure.path.replace(/^\$\.?/, '') || '$'}: not a JSON value`);
  return { statement: parsed.data as Statement<B>, encodingError: failure.error };
}

export async function verifyStatement<B = Record<string, unknown>>(input: unknown, options: VerifyOptions = {}): Promise<VerifiedStatement<B>> {
  const { statement, encodingError } = parseStatement<B>(input);
  if (options.types && !options.types.includes(statement.type)) {
    throw new SemperError('ERR_STATEMENT_TYPE', `expected a ${options.types.join(' or ')} statement, got ${statement.type}`);
  }
  const { signature } = statement;
  let signerJwk: PublicJwk;
  let chain: ValidatedChain | undefined;
  if (signature.signer.kind === 'x509') {
    if (!options.trust) throw new SemperError('ERR_CERT_UNTRUSTED', 'certified statement but no trust anchors were configured');
    // A chain this verifier has seen through before is known at once (knownChain); else the walk.
    chain = knownChain(signature.signer.chain, options.trust) ?? (await validateChain(signature.signer.chain, options.trust));
    signerJwk = chain.leaf.publicJwk;
  } else {
    if (options.requireCertificate) throw new SemperError('ERR_CERT_UNTRUSTED', `${statement.type} must be signed by a certified key`);
    signerJwk = signature.signer.jwk;
  }
  if (encodingError) throw encodingError;
  // Read by the verification below and dropped (utf8Transient); signingInput's bytes are for keeping.
  const data = utf8Transient(signingText(statement));
  if (signature.alg === 'webauthn-ES256') {
    if (signature.signer.kind !== 'webauthn') throw new SemperError('ERR_SIGNATURE_INVALID', 'webauthn-ES256 needs a webauthn signer');
    if (!options.webauthn) throw new SemperError('ERR_ALG_UNSUPPORTED', 'webauthn-ES256 statements are not accepted here');
    const { userVerified } = await options.webauthn.verify(signature, data);
    return chain ? { statement, signerJwk, chain, userVerified } : { statement, signerJwk, userVerified };
  }
  if (signature.signer.kind === 'webauthn') throw new SemperError('ERR_SIGNATURE_INVALID', `a webauthn signer cannot make ${signature.alg} signatures`);
  const value = decodeBase64url(signature.value);
  // At once where the runtime verifies synchronously (Node), else through WebCrypto.
  const ok = verifyRawSync(signature.alg as KeyAlgorithm, signerJwk, data, value) ?? (await verifyRaw(signature.alg as KeyAlgorithm, signerJwk, data, value));
  if (!ok) throw new SemperError('ERR_SIGNATURE_INVALID', `${statement.type}: ${signature.alg} signature does not verify`);
  return chain ? { statement, signerJwk, chain } : { statement, signerJwk };
}

export type { CertificateInfo };
