import { canonicalJson, encodeBase64url, digestJson, isoTime, sha256TextBase64url, sha256TextBase64urlSync, utf8, utf8Transient } from '../encoding/index.js';
import type { Signer } from '../crypto/keys.js';
import type { SignerRef, SignatureBlock, Statement, UnsignedStatement } from './schema.js';

type ToSign = UnsignedStatement<unknown> & { signature: Pick<SignatureBlock, 'alg' | 'signer'> };

/** The bytes a statement's signature covers (see schema.ts). */
export function signingInput(statement: ToSign): Uint8Array<ArrayBuffer> {
  return utf8(signingText(statement));
}

/** The envelope's members, in RFC 8785 order (by UTF-16 code units): body < dealId < issuedAt < signature < type < version. */
const ENVELOPE_MEMBERS = new Set(['body', 'dealId', 'issuedAt', 'signature', 'type', 'version']);

/** Exactly the envelope's members (`size` of them, signature included or not), in any order. */
function hasEnvelopeMembers(names: readonly string[], size: number): boolean {
  if (names.length !== size) return false;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (!ENVELOPE_MEMBERS.has(n) || (size === 5 && n === 'signature')) return false;
  }
  return true;
}

/**
 * The canonical text of an envelope up to its signature member's opening brace and from its
 * closing brace on: the signature member itself is written between them ('"alg":…,"signer":…' for
 * the signing input, with ',"value":…' appended for the signed statement — "value" sorts after
 * "signer").
 */
function envelopeHead(s: UnsignedStatement<unknown>): string {
  return `{"body":${canonicalJson(s.body)},"dealId":${canonicalJson(s.dealId)},"issuedAt":${canonicalJson(s.issuedAt)},"signature":{`;
}
function envelopeTail(s: UnsignedStatement<unknown>): string {
  return `},"type":${canonicalJson(s.type)},"version":${canonicalJson(s.version)}}`;
}
function headerText(alg: string, signer: unknown): string {
  return `"alg":${canonicalJson(alg)},"signer":${canonicalJson(signer)}`;
}

/**
 * The canonical text of the statement with `signature` reduced to `{ alg, signer }`. A statement
 * with exactly the envelope's members (every verified one: the schema is strict) is written member
 * by member in their canonical order, each member's text from canonicalJson (a sealed body or
 * signer is not walked again), without building the reduced copy and sorting its names; anything
 * else takes the general way. Both are the same text (test/core/statements compares them).
 */
export function signingText(statement: ToSign): string {
  if (hasEnvelopeMembers(Object.keys(statement), 6)) {
    const { signature } = statement;
    return envelopeHead(statement) + headerText(signature.alg, signature.signer) + envelopeTail(statement);
  }
  return signingTextByCopy(statement);
}

/** The general way: the reduced copy, canonicalised. */
export function signingTextByCopy(statement: ToSign): string {
  // A spread, not Object.assign: a member named __proto__ stays a member (assignment would set the prototype).
  const { signature, ...rest } = statement;
  return canonicalJson({ ...rest, signature: { alg: signature.alg, signer: signature.signer } });
}

export interface SignOptions {
  /** How verifiers find the key; defaults to the signer's bare JWK. */
  signerRef?: SignerRef;
}

/** The names of an unsigned statement written as a literal, in this order (the schema's). */
const LITERAL_ORDER = ['type', 'version', 'dealId', 'issuedAt', 'body'];

function inLiteralOrder(names: readonly string[]): boolean {
  if (names.length !== LITERAL_ORDER.length) return false;
  for (let i = 0; i < names.length; i++) if (names[i] !== LITERAL_ORDER[i]) return false;
  return true;
}

/** What a statement is signed over, and the parts its signed text is written from. */
interface Prepared {
  alg: Signer['alg'];
  signerRef: SignerRef;
  names: string[];
  /** The signing input up to the signature's closing brace, and from it on; head null when not an envelope. */
  head: string | null;
  tail: string;
  input: string;
}

function prepare(unsigned: UnsignedStatement<unknown>, signer: Signer, options: SignOptions): Prepared {
  const alg = signer.alg;
  const signerRef: SignerRef = options.signerRef ?? { kind: 'jwk', jwk: signer.publicJwk };
  const names = Object.keys(unsigned);
  if (hasEnvelopeMembers(names, 5)) {
    const head = envelopeHead(unsigned) + headerText(alg, signerRef);
    const tail = envelopeTail(unsigned);
    return { alg, signerRef, names, head, tail, input: head + tail };
  }
  // Rare (not an envelope); a spread keeps a member named __proto__ a member.
  return { alg, signerRef, names, head: null, tail: '', input: signingText({ ...unsigned, signature: { alg, signer: signerRef } }) };
}

/**
 * The signed statement, and its canonical text where it is at hand without a walk: an unsigned
 * statement with exactly the envelope's members was written member by member, and the signed text
 * is the signing input with the signature's `"value"` added. The statement is built without a
 * leading spread (in Node 20's V8 every member written after one takes a slow path): a literal
 * when the members come in the schema's order, Object.assign otherwise, the same members in the
 * same order as `{ ...unsigned, signature }`.
 */
function finish<B>(unsigned: UnsignedStatement<B>, p: Prepared, signatureBytes: Uint8Array): { statement: Statement<B>; text: string | null } {
  const value = encodeBase64url(signatureBytes);
  const signature = { alg: p.alg, signer: p.signerRef, value };
  let statement: Record<string, unknown>;
  if (inLiteralOrder(p.names)) {
    statement = { type: unsigned.type, version: unsigned.version, dealId: unsigned.dealId, issuedAt: unsigned.issuedAt, body: unsigned.body, signature };
  } else if (p.head !== null) {
    // The envelope's names in another order (none is __proto__, so assignment defines members).
    statement = Object.assign({}, unsigned);
    statement.signature = signature;
  } else statement = { ...unsigned, signature };
  // base64url needs no escaping: the value is its own canonical string.
  return { statement: statement as Statement<B>, text: p.head === null ? null : `${p.head},"value":"${value}"${p.tail}` };
}

/**
 * Sign: at once where the signer can (Node: signSync), without suspending; else through its
 * promise. The input is read by the signer and dropped: no bytes of their own (utf8Transient).
 */
function signNow<B>(
  unsigned: UnsignedStatement<B>,
  signer: Signer,
  options: SignOptions,
): { statement: Statement<B>; text: string | null } | Promise<{ statement: Statement<B>; text: string | null }> {
  const p = prepare(unsigned, signer, options);
  const bytes = utf8Transient(p.input);
  if (signer.signSync) return finish(unsigned, p, signer.signSync(bytes));
  return signer.sign(bytes).then((signatureBytes) => finish(unsigned, p, signatureBytes));
}

/** Sign a statement with a WebCrypto key (ES256 or EdDSA). */
export async function signStatement<B>(unsigned: UnsignedStatement<B>, signer: Signer, options: SignOptions = {}): Promise<Statement<B>> {
  const signed = signNow(unsigned, signer, options);
  return (signed instanceof Promise ? await signed : signed).statement;
}

/**
 * signStatement and the new statement's statementDigest, from the text just signed (the signing
 * input with the signature's value) instead of canonicalising the statement again. Equal to
 * `statementDigest(statement)` (test/core/statements compares them on generated statements).
 */
export async function signStatementWithDigest<B>(
  unsigned: UnsignedStatement<B>,
  signer: Signer,
  options: SignOptions = {},
): Promise<{ statement: Statement<B>; digest: string }> {
  const signed = signNow(unsigned, signer, options);
  const { statement, text } = signed instanceof Promise ? await signed : signed;
  if (text === null) return { statement, digest: await digestJson(statement) };
  return { statement, digest: sha256TextBase64urlSync(text) ?? (await sha256TextBase64url(text)) };
}

/** The id one statement uses to name another: base64url SHA-256 of its canonical form, signature included. */
export function statementDigest(statement: Statement<unknown>): Promise<string> {
  return digestJson(statement);
}

export function nowIso(now: number): string {
  return isoTime(now);
}
