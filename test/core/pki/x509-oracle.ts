/**
 * The oracle of the differential tests: the reading and verifying code core/pki had over
 * @peculiar/x509 before the reader moved to @peculiar/asn1-x509 (core/pki/asn1.ts), copied from
 * commit 7b01f71 without its caches. Tests only; nothing in core imports it.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { exportPublicJwk } from '../../../core/crypto/keys.js';
import { encodeBase64url } from '../../../core/encoding/index.js';
import { SemperError } from '../../../core/errors.js';
import type { CertificateInfo, CertificateRole, ChainValidationOptions, ValidatedChain } from '../../../core/pki/certificates.js';
import type { CrlCheck, VerifiedCrl, VerifyCrlOptions } from '../../../core/pki/crl.js';
import { canonicalSerial, decodeBase64Der } from '../../../core/pki/der.js';

const ROLES: readonly CertificateRole[] = ['ca', 'merchant', 'shopper', 'ttp', 'bank', 'arbiter', 'tsa'];
const OID_CRL_NUMBER = '2.5.29.20';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const OID_REASON_CODE = '2.5.29.21';
const OID_INVALIDITY_DATE = '2.5.29.24';
const KNOWN_CRL_EXTENSIONS = new Set([OID_CRL_NUMBER, OID_AUTHORITY_KEY_ID]);
const KNOWN_ENTRY_EXTENSIONS = new Set([OID_REASON_CODE, OID_INVALIDITY_DATE]);
const MAX_CRL_BYTES = 1024 * 1024;

function unknown(check: CrlCheck, message: string): SemperError {
  return new SemperError('ERR_REVOCATION_UNKNOWN', message, { check });
}

function parse(der: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (e) {
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.1: not a DER certificate (${e instanceof Error ? e.message : String(e)})`);
  }
}

export async function oldReadCertificate(der: string): Promise<CertificateInfo> {
  const cert = parse(der);
  const first = (type: string) => cert.subjectName.getField(type)[0];
  const ou = cert.subjectName.getField('OU').find((v) => v.startsWith('semper-'));
  const roleText = ou?.slice('semper-'.length);
  const role = ROLES.find((r) => r === roleText);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const origins = san ? san.names.items.filter((n) => n.type === 'url').map((n) => n.value) : [];
  const dp = cert.getExtension(x509.CRLDistributionPointsExtension);
  const crlUrls: string[] = [];
  for (const point of dp?.distributionPoints ?? []) {
    for (const name of point.distributionPoint?.fullName ?? []) {
      if (name.uniformResourceIdentifier) crlUrls.push(name.uniformResourceIdentifier);
    }
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const publicJwk = await exportPublicJwk(await cert.publicKey.export());
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', cert.rawData));
  return {
    der,
    serialNumber: cert.serialNumber,
    subject: cert.subject,
    commonName: first('CN') ?? '',
    organization: first('O'),
    role,
    issuer: cert.issuer,
    origins,
    crlUrls,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCA: bc?.ca === true,
    publicJwk,
    fingerprint: encodeBase64url(digest),
  };
}

function checkValidity(info: CertificateInfo, now: Date): void {
  if (now < info.notBefore)
    throw new SemperError('ERR_CERT_EXPIRED', `RFC 5280 §4.1.2.5: "${info.commonName}" is not valid before ${info.notBefore.toISOString()}`);
  if (now > info.notAfter) throw new SemperError('ERR_CERT_EXPIRED', `RFC 5280 §4.1.2.5: "${info.commonName}" expired ${info.notAfter.toISOString()}`);
}

export async function oldSignedBy(child: string, issuer: string): Promise<boolean> {
  const c = parse(child);
  const i = parse(issuer);
  if (c.issuer !== i.subject) return false;
  let ok = false;
  try {
    ok = await c.verify({ publicKey: i.publicKey, signatureOnly: true });
  } catch {
    ok = false;
  }
  return ok;
}

/**
 * RFC 5280 §6 path validation, reduced to what Semper issues: names chain, each signature
 * verifies under its issuer's key, every certificate is within its validity period, every issuer
 * is a CA, and the path ends at one of the configured roots.
 */
export async function oldValidateChain(chain: readonly string[], options: ChainValidationOptions): Promise<ValidatedChain> {
  if (chain.length === 0) throw new SemperError('ERR_CERT_CHAIN', 'empty certificate chain');
  const path: string[] = [...chain];
  // The chain may or may not carry its root; find the anchor that signed the last element.
  const last = path[path.length - 1]!;
  let root: string | undefined = options.roots.find((r) => r === last);
  if (!root) {
    for (const candidate of options.roots) {
      if (await oldSignedBy(last, candidate)) {
        root = candidate;
        break;
      }
    }
    if (!root) {
      const info = await oldReadCertificate(last);
      throw new SemperError('ERR_CERT_UNTRUSTED', `no trusted root issued "${info.commonName}" (issuer ${info.issuer})`);
    }
    path.push(root);
  }
  const infos = await Promise.all(path.map(oldReadCertificate));
  for (let i = 0; i < path.length - 1; i++) {
    const issuer = infos[i + 1]!;
    if (!issuer.isCA) throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.2.1.9: "${issuer.commonName}" is not a CA certificate`);
    if (!(await oldSignedBy(path[i]!, path[i + 1]!))) {
      throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §6.1.3: signature on "${infos[i]!.commonName}" does not verify under "${issuer.commonName}"`);
    }
  }
  for (const info of infos) checkValidity(info, options.now);
  if (options.isRevoked) {
    for (const [i, info] of infos.slice(0, -1).entries()) {
      if (await options.isRevoked(info, infos[i + 1]!))
        throw new SemperError('ERR_CERT_REVOKED', `certificate "${info.commonName}" (serial ${info.serialNumber}) is revoked`);
    }
  }
  return { leaf: infos[0]!, root: infos[infos.length - 1]!, path: infos };
}

function readDerInteger(bytes: Uint8Array): bigint | undefined {
  if (bytes.length < 3 || bytes[0] !== 0x02 || bytes[1] !== bytes.length - 2 || bytes[1]! > 21) return undefined;
  let v = 0n;
  for (const b of bytes.subarray(2)) v = (v << 8n) | BigInt(b);
  return bytes[2]! & 0x80 ? undefined : v;
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function oldVerifyCrl(crlB64: string, issuerCertB64: string, now: Date, options: VerifyCrlOptions = {}): Promise<VerifiedCrl> {
  const der = decodeBase64Der(crlB64, 'CRL', 'ERR_REVOCATION_UNKNOWN', MAX_CRL_BYTES);
  let crl: x509.X509Crl;
  let issuer: x509.X509Certificate;
  try {
    crl = new x509.X509Crl(der);
  } catch (e) {
    throw unknown('encoding', `RFC 5280 §5.1: not a DER CertificateList (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    issuer = new x509.X509Certificate(decodeBase64Der(issuerCertB64, 'issuer certificate', 'ERR_CERT_CHAIN'));
  } catch (e) {
    if (e instanceof SemperError) throw e;
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.1: issuer is not a DER certificate (${e instanceof Error ? e.message : String(e)})`);
  }

  if (crl.issuer !== issuer.subject) {
    throw unknown('issuer', `RFC 5280 §6.3.3 (b): the CRL is issued by "${crl.issuer}", not by "${issuer.subject}"`);
  }
  const bc = issuer.getExtension(x509.BasicConstraintsExtension);
  const ku = issuer.getExtension(x509.KeyUsagesExtension);
  if (bc?.ca !== true || (ku && !(ku.usages & x509.KeyUsageFlags.cRLSign))) {
    throw unknown('issuer-not-crl-signer', `RFC 5280 §6.3.3 (f): "${issuer.subject}" is not a CA allowed to sign CRLs (cRLSign)`);
  }
  for (const ext of crl.extensions) {
    if (ext.critical && !KNOWN_CRL_EXTENSIONS.has(ext.type)) {
      throw unknown(
        'unsupported-extension',
        `RFC 5280 §5.2: unrecognised critical CRL extension ${ext.type} (delta, partitioned and indirect CRLs are not supported)`,
      );
    }
  }
  const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension);
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (aki?.keyId && ski && aki.keyId.toLowerCase() !== ski.keyId.toLowerCase()) {
    throw unknown('issuer', "RFC 5280 §5.2.1: the CRL's authorityKeyIdentifier is not the issuer's subjectKeyIdentifier");
  }

  let signed = false;
  try {
    signed = await crl.verify({ publicKey: issuer });
  } catch {
    signed = false;
  }
  if (!signed) throw unknown('signature', `RFC 5280 §6.3.3 (g): the CRL signature does not verify under the key of "${issuer.subject}"`);

  const { thisUpdate, nextUpdate } = crl;
  if (!nextUpdate) throw unknown('no-next-update', 'RFC 5280 §5.1.2.5: the CRL has no nextUpdate, so its freshness cannot be judged');
  const skew = options.clockSkewMs ?? 5 * 60 * 1000;
  if (thisUpdate.getTime() - skew > now.getTime()) {
    throw unknown('not-yet-valid', `RFC 5280 §5.1.2.4: the CRL is dated ${thisUpdate.toISOString()}, in the future`);
  }
  if (now.getTime() > nextUpdate.getTime()) {
    throw unknown('stale', `RFC 5280 §6.3.3 (a): the CRL is stale (nextUpdate ${nextUpdate.toISOString()} has passed)`);
  }

  const revokedSerials = new Set<string>();
  for (const entry of crl.entries) {
    for (const ext of entry.extensions) {
      if (ext.critical && !KNOWN_ENTRY_EXTENSIONS.has(ext.type)) {
        throw unknown('unsupported-extension', `RFC 5280 §5.3: unrecognised critical CRL entry extension ${ext.type} (indirect CRLs are not supported)`);
      }
    }
    revokedSerials.add(canonicalSerial(entry.serialNumber));
  }
  const numberExt = crl.extensions.find((e) => e.type === OID_CRL_NUMBER);
  const crlNumber = numberExt ? readDerInteger(new Uint8Array(numberExt.value)) : undefined;
  if (numberExt && crlNumber === undefined) throw unknown('encoding', `RFC 5280 §5.2.3: malformed cRLNumber ${hex(numberExt.value)}`);
  return { revokedSerials, thisUpdate, nextUpdate, ...(crlNumber !== undefined ? { crlNumber: crlNumber.toString() } : {}), issuer: issuer.subject };
}
