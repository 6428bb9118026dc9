/**
 * X.509 (RFC 5280) through @peculiar/x509: a CA issuing certificates that bind a name, a role and
 * (for merchants) web origins to a key, and chain validation against roots the user configured.
 *
 * What a Semper certificate says:
 *   subject  CN=<legal name>, O=<legal name>, OU=semper-<role>
 *   SAN      uniformResourceIdentifier: each web origin the merchant serves offers from
 *   basicConstraints cA=true only on CA certificates; keyUsage digitalSignature on leaves
 * OpenSSL reads all of it (`openssl x509 -text`), so evidence stays checkable with stock tools.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { encodeBase64, encodeBase64url } from '../encoding/index.js';
import { SemperError } from '../errors.js';
import { exportPublicJwk, type KeyAlgorithm } from '../crypto/keys.js';
import type { PublicJwk } from '../crypto/jwk.js';

export type CertificateRole = 'ca' | 'merchant' | 'shopper' | 'ttp' | 'bank' | 'arbiter' | 'tsa';
const ROLES: readonly CertificateRole[] = ['ca', 'merchant', 'shopper', 'ttp', 'bank', 'arbiter', 'tsa'];

export interface CertificateInfo {
  /** DER, base64 (RFC 4648 §4), as carried in statements. */
  der: string;
  serialNumber: string;
  subject: string;
  commonName: string;
  organization: string | undefined;
  role: CertificateRole | undefined;
  issuer: string;
  origins: string[];
  /** CRL distribution points (RFC 5280 §4.2.1.13): where the issuer publishes revocations. */
  crlUrls: string[];
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  publicJwk: PublicJwk;
  /** base64url SHA-256 of the DER: how Semper names a certificate. */
  fingerprint: string;
}

function signingAlgorithm(alg: KeyAlgorithm): EcdsaParams | Algorithm {
  return alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
}

function algorithmOfKey(key: CryptoKey): KeyAlgorithm {
  if (key.algorithm.name === 'ECDSA') return 'ES256';
  if (key.algorithm.name === 'Ed25519') return 'EdDSA';
  throw new SemperError('ERR_ALG_UNSUPPORTED', `certificates are ES256 or EdDSA, not ${key.algorithm.name}`);
}

/** Names are built as JSON (never parsed from a DN string), so only control characters and length need refusing. */
function rdnValue(value: string, what: string): string {
  if (!/^[^\p{Cc}]{1,128}$/u.test(value) || value.trim() !== value) {
    throw new SemperError('ERR_SCHEMA', `${what} must be 1-128 printable characters without surrounding spaces`);
  }
  return value;
}

function buildName(commonName: string, role: CertificateRole, organization?: string): x509.JsonName {
  const name: x509.JsonName = [{ CN: [rdnValue(commonName, 'common name')] }];
  if (organization) name.push({ O: [rdnValue(organization, 'organization')] });
  name.push({ OU: [`semper-${role}`] });
  return name;
}

export function canonicalOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new SemperError('ERR_SCHEMA', `not a web origin: ${origin}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SemperError('ERR_SCHEMA', `origin must be http(s): ${origin}`);
  if (url.origin !== origin.replace(/\/$/, '')) throw new SemperError('ERR_SCHEMA', `not a bare origin (scheme://host[:port]): ${origin}`);
  return url.origin;
}

function checkCrlUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SemperError('ERR_SCHEMA', `not a CRL URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new SemperError('ERR_SCHEMA', `a CRL distribution point is an http(s) URL: ${url}`);
  return parsed.href;
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER (RFC 5280 §4.1.2.2)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface RootCertificateParams {
  commonName: string;
  organization?: string;
  keys: CryptoKeyPair;
  notBefore: Date;
  notAfter: Date;
}

export async function createRootCertificate(p: RootCertificateParams): Promise<string> {
  const alg = algorithmOfKey(p.keys.privateKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: buildName(p.commonName, 'ca', p.organization),
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: signingAlgorithm(alg),
    keys: p.keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(p.keys.publicKey),
    ],
  });
  return encodeBase64(new Uint8Array(cert.rawData));
}

export interface IssueParams {
  issuerCertificate: string;
  issuerPrivateKey: CryptoKey;
  subjectPublicKey: CryptoKey;
  commonName: string;
  organization?: string;
  role: Exclude<CertificateRole, 'ca'>;
  origins?: string[];
  /** URLs of the issuer's CRL (DER over HTTP), written as a CRL distribution point. */
  crlUrls?: string[];
  notBefore: Date;
  notAfter: Date;
  serialNumber?: string;
  /**
   * Extended key usages (OIDs), written as one extension marked critical: RFC 3161 §2.3 requires a
   * TSA's certificate to carry exactly id-kp-timeStamping, critical, and OpenSSL's `ts -verify`
   * refuses a token whose signer lacks it.
   */
  extendedKeyUsages?: string[];
}

/** id-kp-timeStamping (RFC 5280 §4.2.1.12), the only usage a TSA certificate may carry (RFC 3161 §2.3). */
export const EKU_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

export async function issueCertificate(p: IssueParams): Promise<string> {
  const issuer = new x509.X509Certificate(p.issuerCertificate);
  if (p.notAfter > issuer.notAfter) throw new SemperError('ERR_CERT_CHAIN', 'RFC 5280 §6.1.3: a certificate cannot outlive its issuer');
  const origins = (p.origins ?? []).map(canonicalOrigin);
  if (p.role === 'merchant' && origins.length === 0) throw new SemperError('ERR_SCHEMA', 'a merchant certificate names at least one origin');
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
    await x509.SubjectKeyIdentifierExtension.create(p.subjectPublicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey),
  ];
  if (origins.length) extensions.push(new x509.SubjectAlternativeNameExtension(origins.map((value) => ({ type: 'url' as const, value }))));
  const crlUrls = (p.crlUrls ?? []).map(checkCrlUrl);
  if (crlUrls.length) extensions.push(new x509.CRLDistributionPointsExtension(crlUrls));
  if (p.extendedKeyUsages?.length) extensions.push(new x509.ExtendedKeyUsageExtension(p.extendedKeyUsages, true));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: p.serialNumber ?? randomSerial(),
    subject: buildName(p.commonName, p.role, p.organization),
    issuer: issuer.subjectName,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: signingAlgorithm(algorithmOfKey(p.issuerPrivateKey)),
    publicKey: p.subjectPublicKey,
    signingKey: p.issuerPrivateKey,
    extensions,
  });
  return encodeBase64(new Uint8Array(cert.rawData));
}

function parse(der: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (e) {
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.1: not a DER certificate (${e instanceof Error ? e.message : String(e)})`);
  }
}

const infoCache = new Map<string, Promise<CertificateInfo>>();

/** Decode what Semper reads from a certificate. Pure parsing: says nothing about trust. */
export function readCertificate(der: string): Promise<CertificateInfo> {
  let info = infoCache.get(der);
  if (!info) {
    info = readUncached(der);
    info.catch(() => infoCache.delete(der));
    if (infoCache.size > 512) infoCache.delete(infoCache.keys().next().value!);
    infoCache.set(der, info);
  }
  return info;
}

async function readUncached(der: string): Promise<CertificateInfo> {
  const cert = parseCached(der);
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

/**
 * Is `cert` revoked? Asked for every non-root certificate on a validated path, with the
 * certificate that issued it (needed to check a CRL's signature). Return true, or throw a
 * SemperError (ERR_REVOCATION_UNKNOWN) when the answer cannot be had: never guess "good".
 */
export type RevocationCheck = (cert: CertificateInfo, issuer: CertificateInfo) => Promise<boolean>;

export interface ChainValidationOptions {
  /** Trust anchors: DER base64 root certificates the user (or operator) chose to trust. */
  roots: readonly string[];
  now: Date;
  /** Revocation check for every non-root certificate in the path; throw or return true to reject. */
  isRevoked?: RevocationCheck;
}

export interface ValidatedChain {
  leaf: CertificateInfo;
  root: CertificateInfo;
  /** leaf first, root last */
  path: CertificateInfo[];
}

function checkValidity(info: CertificateInfo, now: Date): void {
  if (now < info.notBefore)
    throw new SemperError('ERR_CERT_EXPIRED', `RFC 5280 §4.1.2.5: "${info.commonName}" is not valid before ${info.notBefore.toISOString()}`);
  if (now > info.notAfter) throw new SemperError('ERR_CERT_EXPIRED', `RFC 5280 §4.1.2.5: "${info.commonName}" expired ${info.notAfter.toISOString()}`);
}

// A certificate's signature under a given issuer key never changes, so a verified link is
// remembered (bounded): verifying the tenth offer of a merchant costs one statement signature,
// not a chain walk. Validity periods and revocation are still checked on every validation.
const verifiedLinks = new Set<string>();
const parsedCache = new Map<string, x509.X509Certificate>();

function parseCached(der: string): x509.X509Certificate {
  let cert = parsedCache.get(der);
  if (!cert) {
    cert = parse(der);
    if (parsedCache.size > 512) parsedCache.delete(parsedCache.keys().next().value!);
    parsedCache.set(der, cert);
  }
  return cert;
}

async function signedBy(child: string, issuer: string): Promise<boolean> {
  const link = `${child}|${issuer}`;
  if (verifiedLinks.has(link)) return true;
  const c = parseCached(child);
  const i = parseCached(issuer);
  if (c.issuer !== i.subject) return false;
  let ok = false;
  try {
    ok = await c.verify({ publicKey: i.publicKey, signatureOnly: true });
  } catch {
    ok = false;
  }
  if (ok) {
    if (verifiedLinks.size > 1024) verifiedLinks.delete(verifiedLinks.values().next().value!);
    verifiedLinks.add(link);
  }
  return ok;
}

/**
 * RFC 5280 §6 path validation, reduced to what Semper issues: names chain, each signature
 * verifies under its issuer's key, every certificate is within its validity period, every issuer
 * is a CA, and the path ends at one of the configured roots.
 */
export async function validateChain(chain: readonly string[], options: ChainValidationOptions): Promise<ValidatedChain> {
  if (chain.length === 0) throw new SemperError('ERR_CERT_CHAIN', 'empty certificate chain');
  const path: string[] = [...chain];
  // The chain may or may not carry its root; find the anchor that signed the last element.
  const last = path[path.length - 1]!;
  let root: string | undefined = options.roots.find((r) => r === last);
  if (!root) {
    for (const candidate of options.roots) {
      if (await signedBy(last, candidate)) {
        root = candidate;
        break;
      }
    }
    if (!root) {
      const info = await readCertificate(last);
      throw new SemperError('ERR_CERT_UNTRUSTED', `no trusted root issued "${info.commonName}" (issuer ${info.issuer})`);
    }
    path.push(root);
  }
  const infos = await Promise.all(path.map(readCertificate));
  for (let i = 0; i < path.length - 1; i++) {
    const issuer = infos[i + 1]!;
    if (!issuer.isCA) throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.2.1.9: "${issuer.commonName}" is not a CA certificate`);
    if (!(await signedBy(path[i]!, path[i + 1]!))) {
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

/** PEM (RFC 7468) of a base64 DER certificate, for files and OpenSSL. */
export function certificateToPem(der: string): string {
  return parse(der).toString('pem');
}

export function fingerprintOf(der: string): Promise<string> {
  return readCertificate(der).then((i) => i.fingerprint);
}
