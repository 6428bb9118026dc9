/**
 * Trusted time-stamping authorities: a setting of the user's, like the CA roots, the TTPs and the
 * arbiters (issue 12 item 6). A TSA is added by its certificate (role tsa) or its fingerprint, with
 * the address it is reached at. A time stamp counts only when its token passes every check of
 * core/timestamp under the user's CA roots AND its signer is one of these TSAs: a token from any
 * other TSA — even one certified by a trusted CA — is reported as untrusted, never as a time.
 * Stored in the worker's database (worker/store.ts tsaRecords, IndexedDB version 5). The check itself
 * is tsa-check.ts: its code (pkijs) is not loaded with the worker (extension/offscreen).
 */
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

/** Checks a token over a digest: extension/settings/tsa-check.ts, run outside the worker's start bundle (extension/offscreen). */
export type CheckTimestamp = (
  token: string,
  digest: Uint8Array,
  trust: { roots: readonly string[]; tsas: readonly Pick<TrustedTsa, 'fingerprint'>[] },
) => Promise<TimestampCheck>;
