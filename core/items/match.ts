/**
 * Does an item fit its description? Parties check the peer's item with this before they give
 * their own, and the TTP checks the verifiable transfer with it before it generates or forwards
 * anything. The answer names the rule that failed, so it can go into evidence and logs.
 */
import { SemperError, isSemperError } from '../errors.js';
import { canonicalJson, decodeBase64url, encodeBase64url, sha256 } from '../encoding/index.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import { validateChain, type CertificateInfo, type RevocationCheck } from '../pki/certificates.js';
import { verifyStatement, type VerifiedStatement, type WebAuthnStatementVerifier } from '../statements/verify.js';
import {
  Description as DescriptionSchema,
  ITEM_LIMITS,
  Item as ItemSchema,
  PAYMENT_PROOF_TYPE,
  PaymentProofBody,
  depthOf,
  type Description,
  type Item,
  type SignerConstraint,
} from './schema.js';

export interface MatchContext {
  /** Trust anchors for certified signers and credentials (base64 DER). */
  roots: readonly string[];
  /** The time to check validity at (epoch ms). */
  now: number;
  isRevoked?: RevocationCheck;
  webauthn?: WebAuthnStatementVerifier;
}

export type MatchResult = { ok: true } | { ok: false; reason: string };

const OK: MatchResult = { ok: true };
const fail = (reason: string): MatchResult => ({ ok: false, reason });

function parseWith<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } },
  input: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SemperError('ERR_SCHEMA', `${what}: ${issue ? `${issue.path.map(String).join('.') || '$'}: ${issue.message}` : 'malformed'}`);
  }
  return parsed.data;
}

/** Validate an untrusted item (schema and package depth). */
export function parseItem(input: unknown): Item {
  const item = parseWith(ItemSchema, input, 'item');
  if (depthOf(item) > ITEM_LIMITS.packageDepth) throw new SemperError('ERR_SCHEMA', `item: packages nest deeper than ${ITEM_LIMITS.packageDepth}`);
  return item;
}

/** Validate an untrusted description (schema and package depth). */
export function parseDescription(input: unknown): Description {
  const d = parseWith(DescriptionSchema, input, 'description');
  if (depthOf(d) > ITEM_LIMITS.packageDepth) throw new SemperError('ERR_SCHEMA', `description: packages nest deeper than ${ITEM_LIMITS.packageDepth}`);
  return d;
}

/** The description an information item matches exactly (what a sender announces). */
export async function describeInformation(item: Extract<Item, { kind: 'information' }>): Promise<Extract<Description, { kind: 'information' }>> {
  const bytes = decodeBase64url(item.data);
  return { kind: 'information', digest: encodeBase64url(await sha256(bytes)), mediaType: item.mediaType, size: bytes.length };
}

function bodyAt(body: unknown, path: string): unknown {
  let cur: unknown = body;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

async function checkSigner(verified: VerifiedStatement, constraint: SignerConstraint, what: string): Promise<MatchResult> {
  if ('keyId' in constraint) {
    const keyId = await jwkThumbprint(verified.signerJwk);
    return keyId === constraint.keyId ? OK : fail(`${what}: signed by key ${keyId}, expected ${constraint.keyId}`);
  }
  if (!verified.chain) return fail(`${what}: must be signed by a certified key`);
  const leaf = verified.chain.leaf;
  if (constraint.certified.role && leaf.role !== constraint.certified.role)
    return fail(`${what}: signer's certificate role is ${leaf.role ?? 'none'}, expected ${constraint.certified.role}`);
  if (constraint.certified.commonName && leaf.commonName !== constraint.certified.commonName)
    return fail(`${what}: signer is "${leaf.commonName}", expected "${constraint.certified.commonName}"`);
  return OK;
}

async function verifyOrReason(statement: unknown, type: string, ctx: MatchContext): Promise<VerifiedStatement | string> {
  try {
    return await verifyStatement(statement, {
      types: [type],
      trust: { roots: ctx.roots, now: new Date(ctx.now), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
      ...(ctx.webauthn ? { webauthn: ctx.webauthn } : {}),
    });
  } catch (e) {
    if (isSemperError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
}

/** Check `item` against `description`. Never throws for a mismatch; throws only for internal faults. */
export async function matchItem(item: Item, description: Description, ctx: MatchContext, path = '$'): Promise<MatchResult> {
  if (item.kind !== description.kind) return fail(`${path}: expected a ${description.kind} item, got ${item.kind}`);
  switch (description.kind) {
    case 'information': {
      const it = item as Extract<Item, { kind: 'information' }>;
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = decodeBase64url(it.data);
      } catch {
        return fail(`${path}: information data is not base64url`);
      }
      const digest = encodeBase64url(await sha256(bytes));
      if (digest !== description.digest) return fail(`${path}: information digest ${digest} differs from the expected ${description.digest}`);
      if (description.mediaType !== undefined && it.mediaType !== description.mediaType)
        return fail(`${path}: media type ${it.mediaType}, expected ${description.mediaType}`);
      if (description.size !== undefined && bytes.length !== description.size) return fail(`${path}: ${bytes.length} bytes, expected ${description.size}`);
      return OK;
    }
    case 'statement': {
      const it = item as Extract<Item, { kind: 'statement' }>;
      const verified = await verifyOrReason(it.statement, description.type, ctx);
      if (typeof verified === 'string') return fail(`${path}: ${verified}`);
      const signer = await checkSigner(verified, description.signer, path);
      if (!signer.ok) return signer;
      const st = verified.statement;
      if (description.dealId !== undefined && st.dealId !== description.dealId)
        return fail(`${path}: statement is for deal ${st.dealId}, expected ${description.dealId}`);
      for (const c of description.constraints ?? []) {
        if (!sameJson(bodyAt(st.body, c.path), c.equals)) return fail(`${path}: body.${c.path} does not equal the expected value`);
      }
      if (description.sealed) {
        // The body is the agreed content plus the revealed secret, whose digest was committed to.
        const { field, digest } = description.sealed;
        const { [field]: secret, ...rest } = st.body as Record<string, unknown>;
        if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]+$/.test(secret)) return fail(`${path}: body.${field} must reveal the sealed secret (base64url)`);
        if (encodeBase64url(await sha256(decodeBase64url(secret))) !== digest)
          return fail(`${path}: body.${field} is not the secret committed to (SHA-256 differs)`);
        if (description.content && !sameJson(rest, description.content.body)) return fail(`${path}: statement body differs from the agreed content`);
        return OK;
      }
      if (description.content && !sameJson(st.body, description.content.body)) return fail(`${path}: statement body differs from the agreed content`);
      return OK;
    }
    case 'credential': {
      const it = item as Extract<Item, { kind: 'credential' }>;
      let leaf: CertificateInfo;
      try {
        leaf = (await validateChain(it.chain, { roots: ctx.roots, now: new Date(ctx.now), ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) })).leaf;
      } catch (e) {
        if (isSemperError(e)) return fail(`${path}: ${e.code}: ${e.message}`);
        throw e;
      }
      if (description.role && leaf.role !== description.role) return fail(`${path}: credential role ${leaf.role ?? 'none'}, expected ${description.role}`);
      if (description.commonName && leaf.commonName !== description.commonName)
        return fail(`${path}: credential names "${leaf.commonName}", expected "${description.commonName}"`);
      if (description.subjectKeyId && (await jwkThumbprint(leaf.publicJwk)) !== description.subjectKeyId)
        return fail(`${path}: credential certifies another key`);
      return OK;
    }
    case 'money': {
      const it = item as Extract<Item, { kind: 'money' }>;
      if (it.method !== description.method) return fail(`${path}: ${it.method} payment, expected ${description.method}`);
      if (!sameJson(it.value, description.value))
        return fail(`${path}: ${it.value.amount} ${it.value.currency}, expected ${description.value.amount} ${description.value.currency}`);
      const verified = await verifyOrReason(it.proof, PAYMENT_PROOF_TYPE, ctx);
      if (typeof verified === 'string') return fail(`${path}: payment proof: ${verified}`);
      const issuer = await checkSigner(verified, description.issuer, `${path}: payment proof`);
      if (!issuer.ok) return issuer;
      const body = PaymentProofBody.safeParse(verified.statement.body);
      if (!body.success) return fail(`${path}: payment proof body is malformed`);
      const p = body.data;
      if (p.method !== description.method || !sameJson(p.value, description.value)) return fail(`${path}: payment proof is for another amount or method`);
      if (p.payee !== description.payee) return fail(`${path}: payment proof names another payee`);
      if (p.reference !== description.reference) return fail(`${path}: payment proof references ${p.reference}, expected ${description.reference}`);
      return OK;
    }
    case 'package': {
      const it = item as Extract<Item, { kind: 'package' }>;
      if (it.items.length !== description.items.length) return fail(`${path}: package has ${it.items.length} items, expected ${description.items.length}`);
      for (let i = 0; i < it.items.length; i++) {
        const r = await matchItem(it.items[i]!, description.items[i]!, ctx, `${path}[${i}]`);
        if (!r.ok) return r;
      }
      return OK;
    }
  }
}
