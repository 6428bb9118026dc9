/**
 * Trusted TTPs: a setting of the user's, like the CA roots. A TTP is added by its certificate
 * (PEM or base64 DER; it must be a TTP certificate) or by its certificate's fingerprint, always
 * with the URL this browser reaches it at — the address comes from the user, never from a
 * merchant, so a merchant cannot make the worker POST anywhere it likes. Stored in the worker's
 * database (worker/store.ts ttpRecords).
 */
import type { TrustedTtpEntry } from '../../core/commerce/exchange-deal.js';
import { TtpPolicy } from '../../core/commerce/ttp-policy.js';
import { SemperError } from '../../core/errors.js';
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

/** One stored value (the guarantee policy: a record in the worker's `meta` store, so no schema change). */
export interface ValueRecord {
  get(): Promise<unknown>;
  put(value: unknown): Promise<void>;
  delete(): Promise<void>;
}

/** A value kept in memory (tests, and contexts without a policy). */
export function memoryValue(): ValueRecord {
  let value: unknown;
  return {
    get: async () => value,
    put: async (v) => {
      value = structuredClone(v);
    },
    delete: async () => {
      value = undefined;
    },
  };
}

/** The trusted-TTPs setting over its records, with the guarantee policy (which of them may guarantee an exchange, and k). */
export class TrustedTtps extends TrustedParties {
  constructor(
    records: FingerprintRecords<TrustedTtp>,
    now: () => number = Date.now,
    private readonly policyRecord: ValueRecord = memoryValue(),
  ) {
    super(TTP, records, now);
  }

  /**
   * The guarantee policy (core/commerce/ttp-policy.ts), or null: the merchant's one TTP guarantees. A stored value
   * that is not a policy is refused, never read as none: that would quietly weaken what the user chose.
   */
  async policy(): Promise<TtpPolicy | null> {
    const stored = await this.policyRecord.get();
    if (stored === undefined || stored === null) return null;
    const parsed = TtpPolicy.safeParse(stored);
    if (!parsed.success) throw new SemperError('ERR_INTERNAL', 'the stored guarantee policy is not one: choose the TTPs that guarantee exchanges again');
    return parsed.data;
  }

  /**
   * Choose which trusted TTPs may guarantee an exchange and k (k > n/2, checked by the schema), or null for the
   * merchant's one TTP. Only TTPs trusted now may be chosen. A TTP removed later stays in the policy but is no longer
   * trusted, so it guarantees nothing: k is never lowered behind the user's back.
   */
  async setPolicy(policy: TtpPolicy | null): Promise<TtpPolicy | null> {
    if (policy === null) {
      await this.policyRecord.delete();
      return null;
    }
    const parsed = TtpPolicy.safeParse(policy);
    if (!parsed.success) throw new SemperError('ERR_SCHEMA', `guarantee policy: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
    const trusted = new Set((await this.list()).map((t) => t.fingerprint));
    for (const f of parsed.data.ttps)
      if (!trusted.has(f)) throw new SemperError('ERR_TTP', `guarantee policy: TTP ${f} is not among the TTPs you trust; add it first`);
    await this.policyRecord.put(parsed.data);
    return parsed.data;
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
