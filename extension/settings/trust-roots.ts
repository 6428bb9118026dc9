/**
 * Trusted CA roots: a setting of the user's, never a constant. Added as PEM or base64 DER
 * (settings page, operation API), stored in the worker's database (worker/store.ts rootRecords),
 * read fresh for every verification.
 */
import { SemperError } from '../../core/errors.js';
import { readCertificate, selfSignatureVerifies } from '../../core/pki/certificates.js';

export interface TrustedRoot {
  /** base64url SHA-256 of the DER */
  fingerprint: string;
  /** base64 DER */
  der: string;
  commonName: string;
  subject: string;
  notAfter: string;
  addedAt: number;
}
import type { FingerprintRecords } from '../worker/store.js';

const PEM = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/;

/** Accepts one PEM certificate or its base64 DER body; returns canonical base64 DER. */
export function normaliseCertificateText(text: string): string {
  const trimmed = text.trim();
  const pem = PEM.exec(trimmed);
  const body = (pem ? pem[1]! : trimmed).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new SemperError('ERR_ENCODING', 'not a PEM certificate or base64 DER');
  }
  return body;
}

export async function describeRoot(der: string, now: number): Promise<TrustedRoot> {
  const info = await readCertificate(der);
  if (!info.isCA) throw new SemperError('ERR_CERT_CHAIN', `"${info.commonName}" is not a CA certificate`);
  if (info.subject !== info.issuer) throw new SemperError('ERR_CERT_CHAIN', `"${info.commonName}" is not self-signed (not a root)`);
  const selfSigned = await selfSignatureVerifies(der);
  if (!selfSigned) throw new SemperError('ERR_SIGNATURE_INVALID', `"${info.commonName}": the self-signature does not verify`);
  return {
    fingerprint: info.fingerprint,
    der,
    commonName: info.commonName,
    subject: info.subject,
    notAfter: info.notAfter.toISOString(),
    addedAt: now,
  };
}

/** The trusted-roots setting over its records. */
export class TrustRoots {
  constructor(
    private readonly records: FingerprintRecords<TrustedRoot>,
    private readonly now: () => number = Date.now,
  ) {}

  async add(text: string): Promise<TrustedRoot> {
    const root = await describeRoot(normaliseCertificateText(text), this.now());
    const existing = await this.records.get(root.fingerprint);
    if (existing) return existing;
    await this.records.put(root);
    return root;
  }

  list(): Promise<TrustedRoot[]> {
    return this.records.list();
  }

  remove(fingerprint: string): Promise<boolean> {
    return this.records.delete(fingerprint);
  }

  /** The roots as base64 DER: what verifiers take. */
  async ders(): Promise<string[]> {
    return (await this.list()).map((r) => r.der);
  }
}
