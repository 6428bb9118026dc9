/**
 * A third party the user trusts by choice (a TTP, an arbiter, a TSA): added by its certificate (PEM or
 * base64 DER, of the party's role) or by its certificate's fingerprint, always with the URL this
 * browser reaches it at — the address comes from the user, never from a merchant. One record shape,
 * one description and one setting for every such role (ttp-trust.ts, arbiter-trust.ts, tsa-trust.ts).
 */
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import { SemperError } from '../../core/errors.js';
import { readCertificate } from '../../core/pki/certificates.js';
import type { FingerprintRecords } from '../worker/store.js';
import { partyOrigin } from '../worker/sender.js';
import { normaliseCertificateText } from './trust-roots.js';

export interface TrustedParty {
  /** base64url SHA-256 of the certificate DER (given directly, or computed from the certificate) */
  fingerprint: string;
  /** base64 DER, when the certificate itself was added */
  der?: string;
  /** RFC 7638 thumbprint of the certified key (with the certificate) */
  keyId?: string;
  commonName?: string;
  notAfter?: string;
  /** Where this browser reaches the party: scheme://host[:port] */
  url: string;
  addedAt: number;
}

export const FINGERPRINT = /^[A-Za-z0-9_-]{43}$/;

/** Which role a party's certificate must carry, and how messages name it ('TTP', 'arbiter', 'TSA'). */
export interface PartyKind {
  role: 'ttp' | 'arbiter' | 'tsa';
  label: string;
}

export async function describeTrustedParty(
  kind: PartyKind,
  input: { certificate?: string; fingerprint?: string; url: string },
  now: number,
): Promise<TrustedParty> {
  const url = partyOrigin(input.url, kind.label);
  if ((input.certificate === undefined) === (input.fingerprint === undefined)) {
    throw new SemperError('ERR_SCHEMA', `give either the ${kind.label} certificate or its fingerprint`);
  }
  if (input.fingerprint !== undefined) {
    if (!FINGERPRINT.test(input.fingerprint)) throw new SemperError('ERR_SCHEMA', 'a fingerprint is the base64url SHA-256 of the certificate (43 characters)');
    return { fingerprint: input.fingerprint, url, addedAt: now };
  }
  const der = normaliseCertificateText(input.certificate!);
  const info = await readCertificate(der);
  if (info.role !== kind.role) {
    const article = /^[aeiou]/i.test(kind.label) ? 'an' : 'a';
    throw new SemperError('ERR_CERT_UNTRUSTED', `"${info.commonName}" is not ${article} ${kind.label} certificate (role ${info.role ?? 'none'})`);
  }
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

/** The setting of one kind of trusted party over its records. */
export class TrustedParties {
  constructor(
    private readonly kind: PartyKind,
    protected readonly records: FingerprintRecords<TrustedParty>,
    private readonly now: () => number = Date.now,
  ) {}

  async add(input: { certificate?: string; fingerprint?: string; url: string }): Promise<TrustedParty> {
    const party = await describeTrustedParty(this.kind, input, this.now());
    await this.records.put(party);
    return party;
  }

  list(): Promise<TrustedParty[]> {
    return this.records.list();
  }

  remove(fingerprint: string): Promise<boolean> {
    return this.records.delete(fingerprint);
  }
}
