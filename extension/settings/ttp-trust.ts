/**
 * Trusted TTPs: a setting of the user's, like the CA roots. A TTP is added by its certificate
 * (PEM or base64 DER; it must be a TTP certificate) or by its certificate's fingerprint, always
 * with the URL this browser reaches it at — the address comes from the user, never from a
 * merchant, so a merchant cannot make the worker POST anywhere it likes. Stored in the worker's
 * database (worker/store.ts ttpRecords).
 */
import type { TrustedTtpEntry } from '../../core/commerce/exchange-deal.js';
import type { FingerprintRecords } from '../worker/store.js';
import { partyOrigin } from '../worker/sender.js';
import { describeTrustedParty, type PartyKind, TrustedParties, type TrustedParty } from './trusted-party.js';

export type TrustedTtp = TrustedParty;

const TTP: PartyKind = { role: 'ttp', label: 'TTP' };

/** The TTP's base URL as an origin (worker/sender.ts partyOrigin). */
export function normaliseTtpUrl(text: string): string {
  return partyOrigin(text, TTP.label);
}

export function describeTtp(input: { certificate?: string; fingerprint?: string; url: string }, now: number): Promise<TrustedTtp> {
  return describeTrustedParty(TTP, input, now);
}

/** The trusted-TTPs setting over its records. */
export class TrustedTtps extends TrustedParties {
  constructor(records: FingerprintRecords<TrustedTtp>, now: () => number = Date.now) {
    super(TTP, records, now);
  }

  /** What descriptor verification takes. */
  async entries(): Promise<TrustedTtpEntry[]> {
    return ttpEntries(await this.list());
  }
}

/** What descriptor verification needs from the setting. */
export function ttpEntries(ttps: readonly TrustedTtp[]): TrustedTtpEntry[] {
  return ttps.map((t) => ({ fingerprint: t.fingerprint, url: t.url, ...(t.keyId ? { keyId: t.keyId } : {}) }));
}
