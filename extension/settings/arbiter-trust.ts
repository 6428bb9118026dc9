/**
 * Trusted arbiters: a setting of the user's, like the CA roots and the TTPs (issue 12 item 6). An
 * arbiter is added by its certificate (PEM or base64 DER; it must be an arbiter certificate) or by
 * its certificate's fingerprint, always with the URL this browser reaches it at — the address comes
 * from the user, never from a merchant, so no merchant can choose who judges its disputes. A verdict
 * counts only when it verifies under the user's CA roots AND its signer is one of these
 * (extension/disputes/raise.ts). Stored in the worker's database (worker/store.ts arbiterRecords).
 */
import type { FingerprintRecords } from '../worker/store.js';
import { partyOrigin } from '../worker/sender.js';
import { describeTrustedParty, FINGERPRINT, type PartyKind, TrustedParties, type TrustedParty } from './trusted-party.js';

export type TrustedArbiter = TrustedParty;

const ARBITER: PartyKind = { role: 'arbiter', label: 'arbiter' };

export function normaliseArbiterUrl(text: string): string {
  return partyOrigin(text, ARBITER.label);
}

export function describeArbiter(input: { certificate?: string; fingerprint?: string; url: string }, now: number): Promise<TrustedArbiter> {
  return describeTrustedParty(ARBITER, input, now);
}

/** The trusted-arbiters setting over its records. */
export class TrustedArbiters extends TrustedParties {
  constructor(records: FingerprintRecords<TrustedArbiter>, now: () => number = Date.now) {
    super(ARBITER, records, now);
  }

  /** The trusted arbiter named by its fingerprint or by its address; undefined if the user trusts none such. */
  async find(nameOrUrl: string): Promise<TrustedArbiter | undefined> {
    const all = await this.list();
    if (FINGERPRINT.test(nameOrUrl)) return all.find((a) => a.fingerprint === nameOrUrl);
    let url: string;
    try {
      url = normaliseArbiterUrl(nameOrUrl);
    } catch {
      return undefined;
    }
    return all.find((a) => a.url === url);
  }
}

/** Records in memory (tests). */
export class MemoryFingerprintRecords<T extends { fingerprint: string }> implements FingerprintRecords<T> {
  readonly map = new Map<string, T>();
  async list() {
    return [...this.map.values()].map((v) => structuredClone(v));
  }
  async get(fingerprint: string) {
    const v = this.map.get(fingerprint);
    return v ? structuredClone(v) : undefined;
  }
  async put(value: T) {
    this.map.set(value.fingerprint, structuredClone(value));
  }
  async delete(fingerprint: string) {
    return this.map.delete(fingerprint);
  }
}
