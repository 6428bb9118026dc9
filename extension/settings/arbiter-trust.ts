/**
 * Trusted arbiters: a setting of the user's, like the CA roots and the TTPs (issue 12 item 6). An
 * arbiter is added by its certificate (PEM or base64 DER; it must be an arbiter certificate) or by
 * its certificate's fingerprint, always with the URL this browser reaches it at — the address comes
 * from the user, never from a merchant, so no merchant can choose who judges its disputes. A verdict
 * counts only when it verifies under the user's CA roots AND its signer is one of these
 * (extension/disputes/raise.ts). Stored in the worker's database (worker/store.ts arbiterRecords).
 */
import { SemperError } from '../../core/errors.js';
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import { readCertificate } from '../../core/pki/index.js';
import type { FingerprintRecords } from '../worker/store.js';
import { partyOrigin } from '../worker/sender.js';
import { normaliseCertificateText } from './trust-roots.js';

export interface TrustedArbiter {
  /** base64url SHA-256 of the certificate DER (given directly, or computed from the certificate) */
  fingerprint: string;
  /** base64 DER, when the certificate itself was added */
  der?: string;
  /** RFC 7638 thumbprint of the certified key (with the certificate) */
  keyId?: string;
  commonName?: string;
  notAfter?: string;
  /** Where this browser reaches the arbiter: scheme://host[:port] */
  url: string;
  addedAt: number;
}

const FINGERPRINT = /^[A-Za-z0-9_-]{43}$/;

export function normaliseArbiterUrl(text: string): string {
  return partyOrigin(text, 'arbiter');
}

export async function describeArbiter(input: { certificate?: string; fingerprint?: string; url: string }, now: number): Promise<TrustedArbiter> {
  const url = normaliseArbiterUrl(input.url);
  if ((input.certificate === undefined) === (input.fingerprint === undefined)) {
    throw new SemperError('ERR_SCHEMA', 'give either the arbiter certificate or its fingerprint');
  }
  if (input.fingerprint !== undefined) {
    if (!FINGERPRINT.test(input.fingerprint)) throw new SemperError('ERR_SCHEMA', 'a fingerprint is the base64url SHA-256 of the certificate (43 characters)');
    return { fingerprint: input.fingerprint, url, addedAt: now };
  }
  const der = normaliseCertificateText(input.certificate!);
  const info = await readCertificate(der);
  if (info.role !== 'arbiter') throw new SemperError('ERR_CERT_UNTRUSTED', `"${info.commonName}" is not an arbiter certificate (role ${info.role ?? 'none'})`);
  return {
    fingerprint: info.fingerprint,
    der,
    keyId: await jwkThumbprint(info.publicJwk),
    commonName: info.commonName,
    notAfter: info.notAfter.toISOString(),
    url,
    addedAt: now,
  };
}

/** The trusted-arbiters setting over its records. */
export class TrustedArbiters {
  constructor(
    private readonly records: FingerprintRecords<TrustedArbiter>,
    private readonly now: () => number = Date.now,
  ) {}

  async add(input: { certificate?: string; fingerprint?: string; url: string }): Promise<TrustedArbiter> {
    const arbiter = await describeArbiter(input, this.now());
    await this.records.put(arbiter);
    return arbiter;
  }

  list(): Promise<TrustedArbiter[]> {
    return this.records.list();
  }

  remove(fingerprint: string): Promise<boolean> {
    return this.records.delete(fingerprint);
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
