/**
 * Trusted TTPs: a setting of the user's, like the CA roots. A TTP is added by its certificate
 * (PEM or base64 DER; it must be a TTP certificate) or by its certificate's fingerprint, always
 * with the URL this browser reaches it at — the address comes from the user, never from a
 * merchant, so a merchant cannot make the worker POST anywhere it likes. Stored in the worker's
 * database (worker/store.ts ttpRecords).
 */
import { SemperError } from '../../core/errors.js';
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import { readCertificate } from '../../core/pki/index.js';
import type { TrustedTtpEntry } from '../../core/commerce/exchange-deal.js';
import type { FingerprintRecords } from '../worker/store.js';
import { normaliseCertificateText } from './trust-roots.js';
import { partyOrigin } from '../worker/sender.js';

export interface TrustedTtp {
  /** base64url SHA-256 of the certificate DER (given directly, or computed from the certificate) */
  fingerprint: string;
  /** base64 DER, when the certificate itself was added */
  der?: string;
  /** RFC 7638 thumbprint of the certified key (with the certificate) */
  keyId?: string;
  commonName?: string;
  notAfter?: string;
  /** Where this browser reaches the TTP: scheme://host[:port] */
  url: string;
  addedAt: number;
}

const FINGERPRINT = /^[A-Za-z0-9_-]{43}$/;
/** The TTP's base URL as an origin (worker/sender.ts partyOrigin). */
export function normaliseTtpUrl(text: string): string {
  return partyOrigin(text, 'TTP');
}

export async function describeTtp(input: { certificate?: string; fingerprint?: string; url: string }, now: number): Promise<TrustedTtp> {
  const url = normaliseTtpUrl(input.url);
  if ((input.certificate === undefined) === (input.fingerprint === undefined)) {
    throw new SemperError('ERR_SCHEMA', 'give either the TTP certificate or its fingerprint');
  }
  if (input.fingerprint !== undefined) {
    if (!FINGERPRINT.test(input.fingerprint)) throw new SemperError('ERR_SCHEMA', 'a fingerprint is the base64url SHA-256 of the certificate (43 characters)');
    return { fingerprint: input.fingerprint, url, addedAt: now };
  }
  const der = normaliseCertificateText(input.certificate!);
  const info = await readCertificate(der);
  if (info.role !== 'ttp') throw new SemperError('ERR_CERT_UNTRUSTED', `"${info.commonName}" is not a TTP certificate (role ${info.role ?? 'none'})`);
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

/** The trusted-TTPs setting over its records. */
export class TrustedTtps {
  constructor(
    private readonly records: FingerprintRecords<TrustedTtp>,
    private readonly now: () => number = Date.now,
  ) {}

  async add(input: { certificate?: string; fingerprint?: string; url: string }): Promise<TrustedTtp> {
    const ttp = await describeTtp(input, this.now());
    await this.records.put(ttp);
    return ttp;
  }

  list(): Promise<TrustedTtp[]> {
    return this.records.list();
  }

  remove(fingerprint: string): Promise<boolean> {
    return this.records.delete(fingerprint);
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
