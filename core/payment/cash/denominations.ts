/**
 * Denominations and the bank's signed key list (`semper.bank.denominations`).
 *
 * Every denomination is one RSA-2048 key (RFC 9474 RSABSSA-SHA384-PSS-Randomized) worth one fixed
 * amount, with its own times:
 *   validFrom ≤ now < withdrawUntil   coins of it are issued (withdrawal, refresh, refund)
 *   now ≤ spendUntil                  a payee accepts coins of it
 *   now ≤ depositUntil                the bank still takes them (deposit, refresh)
 * and validFrom < withdrawUntil ≤ spendUntil ≤ depositUntil. The bank announces a key in the list
 * before its validFrom (rotation: the next key is known before the current one stops issuing) and
 * keeps it listed until its depositUntil.
 *
 * A denomination's id is the base64url SHA-256 of its SubjectPublicKeyInfo (DER): the id names the
 * key, so a list cannot give one id two keys. The wallet checks the whole list before it uses any
 * key of it: the bank's signature (a pinned bank key id, or a certificate with role `bank`
 * chaining to the user's roots), the body naming that same signer, every id against its key,
 * every key RSA-2048 with e = 65537, the times in order, no id twice.
 */
import { z } from '../../zod.js';
import { jwkThumbprint } from '../../crypto/jwk.js';
import { decodeBase64url, encodeBase64url, sha256 } from '../../encoding/index.js';
import { SemperError } from '../../errors.js';
import { Amount, Digest } from '../../items/schema.js';
import type { ChainValidationOptions } from '../../pki/certificates.js';
import { type Statement, verifyStatement } from '../../statements/index.js';

export const DENOMINATIONS_TYPE = 'semper.bank.denominations';

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));
const Epoch = z.number().check(z.int(), z.gte(0));

/** RSA-2048 SPKI DER is 294 bytes: 392 base64url characters (shorter keys pass the schema and are refused as ERR_KEY by name). */
export const Denomination = z.strictObject({
  id: Digest,
  value: Amount,
  rsaPublicKey: b64u.check(z.minLength(64), z.maxLength(800)),
  validFrom: Epoch,
  withdrawUntil: Epoch,
  spendUntil: Epoch,
  depositUntil: Epoch,
});
export type Denomination = z.infer<typeof Denomination>;

export const DenominationListBody = z.strictObject({
  bankKeyId: Digest,
  denominations: z.array(Denomination).check(z.minLength(1), z.maxLength(256)),
});
export type DenominationListBody = z.infer<typeof DenominationListBody>;

/** A denomination whose key imported (for verifying coins and for blinding). */
export interface VerifiedDenomination extends Denomination {
  /** RSA-PSS SHA-384 public key, extractable (blindrsa-ts reads n and e out of it). */
  publicKey: CryptoKey;
}

export interface DenominationSet {
  bankKeyId: string;
  byId: ReadonlyMap<string, VerifiedDenomination>;
}

/** How the wallet recognises its bank. */
export type BankTrust =
  /** The bank's ES256 key, pinned (its RFC 7638 thumbprint). */
  | { bankKeyId: string }
  /** A certificate with role `bank` chaining to these roots. */
  | { trust: ChainValidationOptions };

export const RSA_PSS_SHA384: RsaHashedImportParams = { name: 'RSA-PSS', hash: 'SHA-384' };

/** The id a denomination key must have: base64url SHA-256 of its SPKI DER. */
export async function denominationId(spki: Uint8Array): Promise<string> {
  return encodeBase64url(await sha256(new Uint8Array(spki)));
}

/** Import a denomination's key, checking it is RSA-2048 with e = 65537. */
export async function importDenominationKey(rsaPublicKey: string): Promise<CryptoKey> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', decodeBase64url(rsaPublicKey), RSA_PSS_SHA384, true, ['verify']);
  } catch (e) {
    throw new SemperError('ERR_KEY', `denomination key is not an RSA SubjectPublicKeyInfo (${e instanceof Error ? e.message : String(e)})`);
  }
  const alg = key.algorithm as RsaHashedKeyAlgorithm;
  const e = encodeBase64url(alg.publicExponent);
  if (alg.modulusLength !== 2048 || (e !== 'AQAB' && e !== 'AAEAAQ')) {
    throw new SemperError('ERR_KEY', `denomination key must be RSA-2048 with e = 65537 (got ${alg.modulusLength} bits)`);
  }
  return key;
}

/** Verify the bank's key list (see the module comment); every refusal names its rule. */
export async function verifyDenominationList(statement: unknown, bank: BankTrust): Promise<DenominationSet> {
  const verified = await verifyStatement(statement, {
    types: [DENOMINATIONS_TYPE],
    ...('trust' in bank ? { trust: bank.trust, requireCertificate: true } : {}),
  });
  const signerKeyId = await jwkThumbprint(verified.signerJwk);
  if ('bankKeyId' in bank) {
    if (signerKeyId !== bank.bankKeyId) throw new SemperError('ERR_CERT_UNTRUSTED', `key list signed by ${signerKeyId}, not by the bank ${bank.bankKeyId}`);
  } else if (verified.chain?.leaf.role !== 'bank') {
    throw new SemperError('ERR_CERT_UNTRUSTED', `key list signer's certificate role is ${verified.chain?.leaf.role ?? 'none'}, expected bank`);
  }
  const parsed = DenominationListBody.safeParse(verified.statement.body);
  if (!parsed.success)
    throw new SemperError('ERR_SCHEMA', `key list: ${parsed.error.issues[0]?.path.join('.') ?? '$'}: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  const body = parsed.data;
  if (body.bankKeyId !== signerKeyId) throw new SemperError('ERR_DENOMINATION', `key list names bank ${body.bankKeyId} but is signed by ${signerKeyId}`);
  const byId = new Map<string, VerifiedDenomination>();
  for (const d of body.denominations) {
    if (byId.has(d.id)) throw new SemperError('ERR_DENOMINATION', `denomination ${d.id} listed twice`);
    if (!(d.validFrom < d.withdrawUntil && d.withdrawUntil <= d.spendUntil && d.spendUntil <= d.depositUntil)) {
      throw new SemperError('ERR_DENOMINATION', `denomination ${d.id}: times out of order (validFrom < withdrawUntil ≤ spendUntil ≤ depositUntil)`);
    }
    if (d.value.amount <= 0) throw new SemperError('ERR_DENOMINATION', `denomination ${d.id} is worth nothing`);
    if ((await denominationId(decodeBase64url(d.rsaPublicKey))) !== d.id)
      throw new SemperError('ERR_DENOMINATION', `denomination ${d.id} is not the digest of its key`);
    byId.set(d.id, { ...d, publicKey: await importDenominationKey(d.rsaPublicKey) });
  }
  return { bankKeyId: signerKeyId, byId };
}

export type DenominationUse = 'withdraw' | 'spend' | 'deposit';

/** Is `d` usable for `use` at `now`? */
export function denominationUsable(d: Denomination, use: DenominationUse, now: number): boolean {
  if (now < d.validFrom) return false;
  switch (use) {
    case 'withdraw':
      return now < d.withdrawUntil;
    case 'spend':
      return now <= d.spendUntil;
    case 'deposit':
      return now <= d.depositUntil;
  }
}

/** The denomination `id` of `set`, usable for `use` at `now`, or ERR_DENOMINATION. */
export function requireDenomination(set: DenominationSet, id: string, use: DenominationUse, now: number): VerifiedDenomination {
  const d = set.byId.get(id);
  if (!d) throw new SemperError('ERR_DENOMINATION', `unknown denomination ${id}`);
  if (!denominationUsable(d, use, now))
    throw new SemperError('ERR_DENOMINATION', `denomination ${id} is not valid for ${use} at ${new Date(now).toISOString()}`);
  return d;
}

/** The statement's body as the list (for callers that already verified it). */
export function listBody(statement: Statement): DenominationListBody {
  return DenominationListBody.parse(statement.body);
}
