/**
 * Certificate revocation lists (RFC 5280 §5), the verifying side, over @peculiar/asn1-x509
 * (./asn1.ts): the extension's service worker checks CRLs for every chain. Issuing them
 * (createCrl) is the CA's, in core/pki/issue.ts.
 *
 * The CA signs a complete (not delta, not partitioned) CRL with a short lifetime; a verifier
 * accepts it only if it is signed by the issuer's key, names the issuer, and is current
 * (thisUpdate ≤ now ≤ nextUpdate, RFC 5280 §6.3.3 (a)). Anything else means revocation status
 * is unknown, and Semper fails closed: ERR_REVOCATION_UNKNOWN (`details.check` says which rule).
 *
 * Each CRL carries the extensions RFC 5280 §5.2 requires of conforming CAs: authorityKeyIdentifier
 * and cRLNumber (monotonically increasing). OpenSSL reads it: `openssl crl -inform DER -text`
 * or the PEM from `crlToPem` (label "X509 CRL", RFC 7468 §6).
 */
import { Certificate, CertificateList, CRLReason, InvalidityDate, type RevokedCertificate } from '@peculiar/asn1-x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SemperError } from '../errors.js';
import {
  hex,
  importSpki,
  KEY_USAGE_CRL_SIGN,
  nameToString,
  OID,
  parseDer,
  type ReadExtensions,
  readExtensions,
  repeatedExtension,
  serialHex,
  verifySigned,
} from './asn1.js';
import type { CertificateInfo } from './certificates.js';
import { canonicalSerial, decodeBase64Der } from './der.js';

/** CRLReason (RFC 5280 §5.3.1), by name. `removeFromCRL` is for delta CRLs only and not offered. */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type CrlReason = keyof typeof CRL_REASONS;

export interface CrlEntry {
  /** Hex serial of the revoked certificate. */
  serial: string;
  revokedAt: Date;
  reason?: CrlReason;
}

export interface CreateCrlParams {
  /** The issuing CA's certificate (base64 DER); its subject becomes the CRL's issuer. */
  issuerCertificate: string;
  issuerPrivateKey: CryptoKey;
  entries: readonly CrlEntry[];
  thisUpdate: Date;
  nextUpdate: Date;
  /** cRLNumber (RFC 5280 §5.2.3): strictly increasing per issuer. */
  crlNumber: bigint | number;
}

export const OID_CRL_NUMBER = '2.5.29.20';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const OID_REASON_CODE = '2.5.29.21';
const OID_INVALIDITY_DATE = '2.5.29.24';
/** Extensions this verifier understands; a critical one outside this list makes the CRL unusable (RFC 5280 §5.2). */
const KNOWN_CRL_EXTENSIONS = new Set([OID_CRL_NUMBER, OID_AUTHORITY_KEY_ID]);
const KNOWN_ENTRY_EXTENSIONS = new Set([OID_REASON_CODE, OID_INVALIDITY_DATE]);
/** CRLs are small; the demo CA's is a few hundred bytes. Bound what a verifier parses. */
const MAX_CRL_BYTES = 1024 * 1024;

function readDerInteger(bytes: Uint8Array): bigint | undefined {
  if (bytes.length < 3 || bytes[0] !== 0x02 || bytes[1] !== bytes.length - 2 || bytes[1]! > 21) return undefined;
  let v = 0n;
  for (const b of bytes.subarray(2)) v = (v << 8n) | BigInt(b);
  return bytes[2]! & 0x80 ? undefined : v;
}

/** PEM (RFC 7468 §6, label "X509 CRL", the one OpenSSL reads) of a base64 DER CRL. */
export function crlToPem(crlB64: string): string {
  const lines = crlB64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN X509 CRL-----\n${lines.join('\n')}\n-----END X509 CRL-----\n`;
}

export interface VerifiedCrl {
  /** Serials of revoked certificates, canonical (lower-case hex, no leading zeros). */
  revokedSerials: Set<string>;
  thisUpdate: Date;
  nextUpdate: Date;
  /** cRLNumber as a decimal string, if present. */
  crlNumber?: string;
  /** The issuer's subject (RFC 4514 string). */
  issuer: string;
}

export type CrlCheck = 'encoding' | 'issuer' | 'issuer-not-crl-signer' | 'signature' | 'stale' | 'not-yet-valid' | 'no-next-update' | 'unsupported-extension';

function unknown(check: CrlCheck, message: string): SemperError {
  return new SemperError('ERR_REVOCATION_UNKNOWN', message, { check });
}

export interface VerifyCrlOptions {
  /** Tolerated clock difference for thisUpdate lying in the verifier's future (default 5 minutes). */
  clockSkewMs?: number;
}

/**
 * Verify a base64 DER CRL against its issuer's certificate at `now` (RFC 5280 §6.3.3 reduced to
 * complete CRLs from the certificate issuer itself):
 *   - the CRL issuer name equals the issuer certificate's subject (§6.3.3 (b), §5.1.2.3);
 *   - the issuer is a CA allowed to sign CRLs (keyUsage cRLSign, §6.3.3 (f));
 *   - if the CRL names an authorityKeyIdentifier, it is the issuer's subjectKeyIdentifier (§5.2.1);
 *   - the signature verifies under the issuer's key (§6.3.3 (g));
 *   - nextUpdate is present (§5.1.2.5) and now is not after it, thisUpdate not in the future (§6.3.3 (a));
 *   - no critical extension it does not understand (delta CRLs, partitioned or indirect CRLs, §5.2, §5.3);
 *   - no extension type twice in the CRL's extensions or in one entry's (read differently by different verifiers).
 */
export async function verifyCrl(crlB64: string, issuerCertB64: string, now: Date, options: VerifyCrlOptions = {}): Promise<VerifiedCrl> {
  const der = decodeBase64Der(crlB64, 'CRL', 'ERR_REVOCATION_UNKNOWN', MAX_CRL_BYTES);
  let crl: CertificateList;
  let issuer: Certificate;
  try {
    crl = parseDer(der, CertificateList);
  } catch (e) {
    throw unknown('encoding', `RFC 5280 §5.1: not a DER CertificateList (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    issuer = parseDer(decodeBase64Der(issuerCertB64, 'issuer certificate', 'ERR_CERT_CHAIN'), Certificate);
  } catch (e) {
    if (e instanceof SemperError) throw e;
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.1: issuer is not a DER certificate (${e instanceof Error ? e.message : String(e)})`);
  }
  const tbs = crl.tbsCertList;
  const crlIssuer = nameToString(tbs.issuer);
  const issuerSubject = nameToString(issuer.tbsCertificate.subject);

  if (crlIssuer !== issuerSubject) {
    throw unknown('issuer', `RFC 5280 §6.3.3 (b): the CRL is issued by "${crlIssuer}", not by "${issuerSubject}"`);
  }
  let issuerExtensions: ReadExtensions;
  try {
    issuerExtensions = readExtensions(issuer.tbsCertificate.extensions);
  } catch (e) {
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.2: a malformed extension in the issuer certificate (${e instanceof Error ? e.message : String(e)})`);
  }
  const bc = issuerExtensions.ca;
  const ku = issuerExtensions.keyUsage;
  if (bc !== true || (ku !== undefined && !(ku & KEY_USAGE_CRL_SIGN))) {
    throw unknown('issuer-not-crl-signer', `RFC 5280 §6.3.3 (f): "${issuerSubject}" is not a CA allowed to sign CRLs (cRLSign)`);
  }
  let crlExtensions: ReadExtensions;
  try {
    crlExtensions = readExtensions(tbs.crlExtensions);
  } catch (e) {
    throw unknown('encoding', `RFC 5280 §5.2: a malformed CRL extension (${e instanceof Error ? e.message : String(e)})`);
  }
  const twice = repeatedExtension(tbs.crlExtensions);
  if (twice !== undefined) throw unknown('encoding', `RFC 5280 §5.2: more than one ${twice} CRL extension (one instance of each extension type)`);
  for (const ext of tbs.crlExtensions ?? []) {
    if (ext.critical && !KNOWN_CRL_EXTENSIONS.has(ext.extnID)) {
      throw unknown(
        'unsupported-extension',
        `RFC 5280 §5.2: unrecognised critical CRL extension ${ext.extnID} (delta, partitioned and indirect CRLs are not supported)`,
      );
    }
  }
  const aki = crlExtensions.authorityKeyId;
  const ski = issuerExtensions.subjectKeyId;
  if (aki && ski !== undefined && aki.toLowerCase() !== ski.toLowerCase()) {
    throw unknown('issuer', "RFC 5280 §5.2.1: the CRL's authorityKeyIdentifier is not the issuer's subjectKeyIdentifier");
  }

  let signed = false;
  // RFC 5280 §5.1.1.2: the algorithm inside the signed list is the one outside it.
  if (crl.signatureAlgorithm.isEqual(tbs.signature)) {
    try {
      const key = await importSpki(issuer.tbsCertificate.subjectPublicKeyInfo);
      signed = await verifySigned(crl.signatureAlgorithm, crl.signature, crl.tbsCertListRaw ?? AsnConvert.serialize(tbs), key);
    } catch {
      signed = false;
    }
  }
  if (!signed) throw unknown('signature', `RFC 5280 §6.3.3 (g): the CRL signature does not verify under the key of "${issuerSubject}"`);

  const thisUpdate = tbs.thisUpdate.getTime();
  const nextUpdate = tbs.nextUpdate?.getTime() || undefined;
  if (!nextUpdate) throw unknown('no-next-update', 'RFC 5280 §5.1.2.5: the CRL has no nextUpdate, so its freshness cannot be judged');
  const skew = options.clockSkewMs ?? 5 * 60 * 1000;
  if (thisUpdate.getTime() - skew > now.getTime()) {
    throw unknown('not-yet-valid', `RFC 5280 §5.1.2.4: the CRL is dated ${thisUpdate.toISOString()}, in the future`);
  }
  if (now.getTime() > nextUpdate.getTime()) {
    throw unknown('stale', `RFC 5280 §6.3.3 (a): the CRL is stale (nextUpdate ${nextUpdate.toISOString()} has passed)`);
  }

  const revokedSerials = new Set<string>();
  for (const entry of tbs.revokedCertificates ?? []) {
    readEntryExtensions(entry);
    const twiceInEntry = repeatedExtension(entry.crlEntryExtensions);
    if (twiceInEntry !== undefined) {
      throw unknown(
        'encoding',
        `RFC 5280 §5.3: more than one ${twiceInEntry} extension in the entry for serial ${serialHex(entry.userCertificate)} (one instance of each extension type)`,
      );
    }
    for (const ext of entry.crlEntryExtensions ?? []) {
      if (ext.critical && !KNOWN_ENTRY_EXTENSIONS.has(ext.extnID)) {
        throw unknown('unsupported-extension', `RFC 5280 §5.3: unrecognised critical CRL entry extension ${ext.extnID} (indirect CRLs are not supported)`);
      }
    }
    revokedSerials.add(canonicalSerial(serialHex(entry.userCertificate)));
  }
  const numberExt = tbs.crlExtensions?.find((e) => e.extnID === OID_CRL_NUMBER);
  const crlNumber = numberExt ? readDerInteger(new Uint8Array(numberExt.extnValue.buffer)) : undefined;
  if (numberExt && crlNumber === undefined) throw unknown('encoding', `RFC 5280 §5.2.3: malformed cRLNumber ${hex(numberExt.extnValue.buffer)}`);
  return { revokedSerials, thisUpdate, nextUpdate, ...(crlNumber !== undefined ? { crlNumber: crlNumber.toString() } : {}), issuer: issuerSubject };
}

/** An entry's extensions decode: the known types, and its reasonCode and invalidityDate (RFC 5280 §5.3.1, §5.3.2). */
function readEntryExtensions(entry: RevokedCertificate): void {
  try {
    readExtensions(entry.crlEntryExtensions);
    let reason = false;
    let invalidity = false;
    for (const ext of entry.crlEntryExtensions ?? []) {
      if (ext.extnID === OID.cRLReason && !reason) {
        AsnConvert.parse(ext.extnValue.buffer, CRLReason);
        reason = true;
      } else if (ext.extnID === OID.invalidityDate && !invalidity) {
        AsnConvert.parse(ext.extnValue.buffer, InvalidityDate);
        invalidity = true;
      }
    }
  } catch (e) {
    throw unknown('encoding', `RFC 5280 §5.3: a malformed CRL entry extension (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * The `isRevoked` callback of `validateChain` (ChainValidationOptions) backed by one CRL. The CRL
 * is verified once, on first use, at `now`; a CRL that does not verify, or a certificate from
 * another issuer (about which this CRL says nothing), throws ERR_REVOCATION_UNKNOWN.
 */
export function crlRevocationChecker(
  crlB64: string,
  issuerCertB64: string,
  now: Date,
  options: VerifyCrlOptions = {},
): (cert: CertificateInfo) => Promise<boolean> {
  let verified: Promise<VerifiedCrl> | undefined;
  return async (cert) => {
    verified ??= verifyCrl(crlB64, issuerCertB64, now, options);
    const crl = await verified;
    if (cert.issuer !== crl.issuer) {
      throw unknown('issuer', `no CRL for "${cert.commonName}": it is issued by "${cert.issuer}", the CRL by "${crl.issuer}"`);
    }
    return crl.revokedSerials.has(canonicalSerial(cert.serialNumber));
  };
}
