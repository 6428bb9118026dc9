/**
 * Trusted time-stamping authorities: a setting of the user's, like the CA roots, the TTPs and the
 * arbiters (issue 12 item 6). A TSA is added by its certificate (role tsa) or its fingerprint, with
 * the address it is reached at. A time stamp counts only when its token passes every check of
 * core/timestamp under the user's CA roots AND its signer is one of these TSAs: a token from any
 * other TSA — even one certified by a trusted CA — is reported as untrusted, never as a time.
 * Stored in the worker's database (worker/store.ts tsaRecords, IndexedDB version 5).
 */
import { decodeBase64Der } from '../../core/pki/der.js';
import { verifyTimeStampToken } from '../../core/timestamp/verify.js';
import type { FingerprintRecords } from '../worker/store.js';
import { type PartyKind, TrustedParties, type TrustedParty } from './trusted-party.js';

export type TrustedTsa = TrustedParty;

const TSA: PartyKind = { role: 'tsa', label: 'TSA' };

/** The trusted-TSAs setting over its records. */
export class TrustedTsas extends TrustedParties {
  constructor(records: FingerprintRecords<TrustedTsa>, now: () => number = Date.now) {
    super(TSA, records, now);
  }
}

/** What a time stamp says, as the shopper is told. */
export type TimestampCheck =
  /** Verified, by a TSA the user trusts: the statement existed at `genTime`. */
  | { status: 'trusted'; genTime: string; tsa: string; fingerprint: string }
  /** Verified, but by a TSA the user has not chosen to trust: it proves nothing to this user. */
  | { status: 'untrusted-tsa'; genTime: string; tsa: string; fingerprint: string }
  /** Not a valid token for this digest under the user's roots. */
  | { status: 'invalid'; reason: string };

/**
 * Checks a token (base64 DER) over `digest` (the stamped SHA-256): every check of core/timestamp
 * under `roots` (chain at the token's genTime, role tsa, EKU, imprint, signed attributes), then the
 * signer against the trusted TSAs by certificate fingerprint.
 */
export async function checkTimestamp(
  token: string,
  digest: Uint8Array,
  trust: { roots: readonly string[]; tsas: readonly Pick<TrustedTsa, 'fingerprint'>[] },
): Promise<TimestampCheck> {
  let verified: Awaited<ReturnType<typeof verifyTimeStampToken>>;
  try {
    verified = await verifyTimeStampToken(decodeBase64Der(token, 'time-stamp token', 'ERR_TIMESTAMP_INVALID', 64 * 1024), { digest, roots: trust.roots });
  } catch (e) {
    return { status: 'invalid', reason: e instanceof Error ? e.message : String(e) };
  }
  const { fingerprint, commonName } = verified.tsa;
  const genTime = verified.genTime.toISOString();
  const trusted = trust.tsas.some((t) => t.fingerprint === fingerprint);
  return { status: trusted ? 'trusted' : 'untrusted-tsa', genTime, tsa: commonName, fingerprint };
}
