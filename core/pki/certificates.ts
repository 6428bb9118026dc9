/**
 * X.509 (RFC 5280), the reading side: what a certificate says, and chain validation against roots
 * the user configured. Over @peculiar/asn1-x509 (./asn1.ts), not @peculiar/x509: the extension's
 * service worker validates merchant and TTP chains on every offer and imports this module at start.
 * Issuing (the CA's side) is core/pki/issue.ts.
 *
 * What a Semper certificate says:
 *   subject  CN=<legal name>, O=<legal name>, OU=semper-<role>
 *   SAN      uniformResourceIdentifier: each web origin the merchant serves offers from
 *   basicConstraints cA=true only on CA certificates; keyUsage digitalSignature on leaves
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { encodeBase64, encodeBase64url } from '../encoding/index.js';
import { SemperError } from '../errors.js';
import { exportPublicJwk } from '../crypto/keys.js';
import type { PublicJwk } from '../crypto/jwk.js';
import {
  ATTRIBUTE,
  importSpki,
  nameFields,
  OID,
  nameToString,
  parseDer,
  type PublicKeyOf,
  type ReadExtensions,
  readExtensions,
  repeatedExtension,
  serialHex,
  verifySigned,
} from './asn1.js';
import { decodeBase64Der } from './der.js';

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

/** id-kp-timeStamping (RFC 5280 §4.2.1.12), the only usage a TSA certificate may carry (RFC 3161 §2.3). */
export const EKU_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/** Semper's certificates are a few hundred bytes; a root from elsewhere a few kilobytes. */
const MAX_CERTIFICATE_BYTES = 64 * 1024;

interface ParsedCertificate {
  bytes: Uint8Array<ArrayBuffer>;
  asn: Certificate;
  /** RFC 4514 strings, compared to chain names (as @peculiar/x509 wrote them). */
  subject: string;
  issuer: string;
  /** The tbsCertificate's DER exactly as received: what the signature covers. */
  tbs: ArrayBuffer;
  key?: Promise<PublicKeyOf>;
  /** Parsed issuers whose key this certificate's signature verified under (signedBy). */
  verifiedIssuers?: Set<ParsedCertificate> | undefined;
  /** What readCertificate decoded, once it has (knownChain reads it without waiting). */
  info?: CertificateInfo;
}

function parse(der: string): ParsedCertificate {
  const bytes = decodeBase64Der(der, 'certificate', 'ERR_CERT_CHAIN', MAX_CERTIFICATE_BYTES);
  let asn: Certificate;
  try {
    asn = parseDer(bytes, Certificate);
  } catch (e) {
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.1: not a DER certificate (${e instanceof Error ? e.message : String(e)})`);
  }
  const tbs = asn.tbsCertificate;
  return { bytes, asn, subject: nameToString(tbs.subject), issuer: nameToString(tbs.issuer), tbs: asn.tbsCertificateRaw ?? AsnConvert.serialize(tbs) };
}

/**
 * The extensions whose meaning this verifier knows: it enforces basicConstraints, keyUsage and
 * extKeyUsage where they matter, reads the identifiers, names and CRL locations, and takes the
 * policies as any policy. Any other critical extension — name or policy constraints, policy mappings,
 * inhibitAnyPolicy, anything private — restricts what the certificate may be used for in a way this
 * verifier would ignore, so the certificate is refused (RFC 5280 §4.2: "MUST reject").
 */
const KNOWN_CERTIFICATE_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.subjectAltName,
  OID.issuerAltName,
  OID.cRLDistributionPoints,
  OID.authorityInfoAccess,
  OID.certificatePolicies,
]);

/** Why a certificate's extensions make it unusable (RFC 5280 §4.2), or undefined. */
export function certificateExtensionRefusal(extensions: readonly { extnID: string; critical: boolean }[] | undefined): string | undefined {
  const twice = repeatedExtension(extensions);
  if (twice !== undefined) return `more than one ${twice} extension ("MUST NOT include more than one instance")`;
  for (const ext of extensions ?? []) {
    if (ext.critical && !KNOWN_CERTIFICATE_EXTENSIONS.has(ext.extnID)) return `unrecognised critical extension ${ext.extnID}`;
  }
  return undefined;
}

function keyOf(cert: ParsedCertificate): Promise<PublicKeyOf> {
  cert.key ??= importSpki(cert.asn.tbsCertificate.subjectPublicKeyInfo);
  return cert.key;
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
  const tbs = cert.asn.tbsCertificate;
  let extensions: ReadExtensions;
  try {
    extensions = readExtensions(tbs.extensions);
  } catch (e) {
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.2: a malformed certificate extension (${e instanceof Error ? e.message : String(e)})`);
  }
  const refused = certificateExtensionRefusal(tbs.extensions);
  if (refused) throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.2: ${refused}`);
  const first = (type: string) => nameFields(tbs.subject, type)[0];
  const ou = nameFields(tbs.subject, ATTRIBUTE.OU).find((v) => v.startsWith('semper-'));
  const roleText = ou?.slice('semper-'.length);
  const role = ROLES.find((r) => r === roleText);
  const publicJwk = await exportPublicJwk((await keyOf(cert)).key);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', cert.bytes));
  const info: CertificateInfo = {
    der,
    serialNumber: serialHex(tbs.serialNumber),
    subject: cert.subject,
    commonName: first(ATTRIBUTE.CN) ?? '',
    organization: first(ATTRIBUTE.O),
    role,
    issuer: cert.issuer,
    origins: extensions.uris,
    crlUrls: extensions.crlUrls,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    isCA: extensions.ca === true,
    publicJwk,
    fingerprint: encodeBase64url(digest),
  };
  cert.info = info;
  return info;
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
// Links hang off the parsed child (the issuers it verified under), found by the DER strings'
// identity in parsedCache: no `${child}|${issuer}` key, which concatenated two kilobyte-long
// strings and hashed the result on every validation.
let verifiedLinkCount = 0;
const MAX_VERIFIED_LINKS = 1024;
const parsedCache = new Map<string, ParsedCertificate>();

function parseCached(der: string): ParsedCertificate {
  let cert = parsedCache.get(der);
  if (!cert) {
    cert = parse(der);
    if (parsedCache.size > 512) {
      const oldest = parsedCache.keys().next().value!;
      verifiedLinkCount -= parsedCache.get(oldest)!.verifiedIssuers?.size ?? 0;
      parsedCache.delete(oldest);
    }
    parsedCache.set(der, cert);
  }
  return cert;
}

async function signedBy(child: string, issuer: string): Promise<boolean> {
  const c = parseCached(child);
  const i = parseCached(issuer);
  if (c.verifiedIssuers?.has(i)) return true;
  if (c.issuer !== i.subject) return false;
  let key: PublicKeyOf;
  try {
    key = await keyOf(i);
  } catch {
    return false;
  }
  const ok = await verifySigned(c.asn.signatureAlgorithm, c.asn.signatureValue, c.tbs, key);
  if (ok) {
    if (verifiedLinkCount >= MAX_VERIFIED_LINKS) {
      for (const cert of parsedCache.values()) cert.verifiedIssuers = undefined;
      verifiedLinkCount = 0;
    }
    c.verifiedIssuers ??= new Set();
    c.verifiedIssuers.add(i);
    verifiedLinkCount++;
  }
  return ok;
}

/**
 * RFC 5280 §6 path validation, reduced to what Semper issues: names chain, each signature
 * verifies under its issuer's key, every certificate is within its validity period, every issuer
 * is a CA, and the path ends at one of the configured roots.
 */
export function validateChain(chain: readonly string[], options: ChainValidationOptions): Promise<ValidatedChain> {
  const known = knownChain(chain, options);
  return known ? Promise.resolve(known) : walkChain(chain, options);
}

/**
 * validateChain's answer without waiting, when it is a yes made only of what earlier validations
 * left known: every certificate decoded, every link verified, the same root chosen; the validity
 * periods are checked at `now` as always. null for anything else — a certificate or link not yet
 * seen, a failure, a revocation check to ask — which validateChain's walk then decides, with its
 * errors. A verifier of a merchant's tenth offer thus checks the chain without a promise per step.
 */
export function knownChain(chain: readonly string[], options: ChainValidationOptions): ValidatedChain | null {
  const n = chain.length;
  if (n === 0 || options.isRevoked) return null;
  const last = chain[n - 1]!;
  const lastParsed = parsedCache.get(last);
  if (!lastParsed) return null;
  let root: string | undefined = options.roots.find((r) => r === last);
  if (!root) {
    // The walk takes the first root signedBy says yes to: a known link is a yes, other names a no
    // without a verification; a root that would need one is the walk's to try.
    for (const candidate of options.roots) {
      const issuer = parsedCache.get(candidate);
      if (!issuer) return null;
      if (lastParsed.verifiedIssuers?.has(issuer)) {
        root = candidate;
        break;
      }
      if (lastParsed.issuer === issuer.subject) return null;
    }
    if (!root) return null;
  }
  const length = root === last ? n : n + 1;
  const path: CertificateInfo[] = new Array(length);
  const now = options.now.getTime();
  let child: ParsedCertificate | undefined;
  for (let i = 0; i < length; i++) {
    const parsed = i < n ? parsedCache.get(chain[i]!) : parsedCache.get(root);
    const info = parsed?.info;
    if (!info) return null;
    if (i > 0 && (!info.isCA || !child!.verifiedIssuers?.has(parsed!))) return null;
    if (!(now >= info.notBefore.getTime() && now <= info.notAfter.getTime())) return null;
    path[i] = info;
    child = parsed;
  }
  return { leaf: path[0]!, root: path[length - 1]!, path };
}

async function walkChain(chain: readonly string[], options: ChainValidationOptions): Promise<ValidatedChain> {
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
  const lines = encodeBase64(parseCached(der).bytes).match(/.{1,64}/g) ?? [];
  return ['-----BEGIN CERTIFICATE-----', ...lines, '-----END CERTIFICATE-----'].join('\n');
}

/** Does a certificate's signature verify under its own key (a root's self-signature)? Says nothing about names or trust. */
export async function selfSignatureVerifies(der: string): Promise<boolean> {
  const cert = parseCached(der);
  let key: PublicKeyOf;
  try {
    key = await keyOf(cert);
  } catch {
    return false;
  }
  return verifySigned(cert.asn.signatureAlgorithm, cert.asn.signatureValue, cert.tbs, key);
}

export function fingerprintOf(der: string): Promise<string> {
  return readCertificate(der).then((i) => i.fingerprint);
}
