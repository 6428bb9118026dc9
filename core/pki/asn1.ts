/**
 * Reading X.509 certificates and CRLs (RFC 5280) over @peculiar/asn1-schema and @peculiar/asn1-x509,
 * the schema libraries @peculiar/x509 itself parses with. The extension's service worker checks
 * certificate chains and CRLs on every offer; @peculiar/x509 brought tsyringe, reflect-metadata and
 * its issuing half into the worker's start (issue 13), so the read side is here and the issuing side
 * (core/pki/issue.ts) stays on @peculiar/x509 for the Node parties.
 *
 * Each field is read the way @peculiar/x509 read it (names as its RFC 4514 strings, serials as its
 * hex, the first extension of a type, every known extension parsed so a malformed one is refused);
 * test/core/pki/reader-differential.test.ts holds the two to the same answers. Stricter on purpose:
 * canonical base64 only (one text per certificate), one DER element with a definite length and no
 * trailing bytes (one fingerprint per certificate), and ECDSA signature values in strict DER.
 */
import { ECParameters } from '@peculiar/asn1-ecc';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  DirectoryString,
  ExtendedKeyUsage,
  type Extension,
  type GeneralName,
  GeneralNames,
  KeyUsage,
  type Name,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  type AlgorithmIdentifier,
  type SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { ecdsaDerToRaw } from '../crypto/ecdsa-der.js';
import { type KeyAlgorithm, verifyRaw } from '../crypto/keys.js';
import { SemperError } from '../errors.js';

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  cRLDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  cRLNumber: '2.5.29.20',
  cRLReason: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  /** ecdsa-with-SHA256 (RFC 5758 §3.2). */
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  /** id-Ed25519 (RFC 8410 §3). */
  ed25519: '1.3.101.112',
  /** id-ecPublicKey (RFC 5480 §2.1.1). */
  ecPublicKey: '1.2.840.10045.2.1',
  /** secp256r1 (RFC 5480 §2.1.1.1). */
  secp256r1: '1.2.840.10045.3.1.7',
} as const;

/** cRLSign (RFC 5280 §4.2.1.3), bit 6 as KeyUsage.toNumber counts it. */
export const KEY_USAGE_CRL_SIGN = 64;

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Parse one DER value of `schema`: a SEQUENCE with a definite length that is exactly `der`. The
 * schema parser itself reads BER and ignores what follows the first element; a certificate with
 * bytes appended would keep its signature but get another fingerprint.
 */
export function parseDer<T>(der: Uint8Array<ArrayBuffer>, schema: new () => T): T {
  if (der[0] !== 0x30) throw new Error('X.690 §8.9: expected a SEQUENCE');
  const first = der[1] ?? 0;
  let header = 2;
  let length = first;
  if (first === 0x80) throw new Error('X.690 §10.1: indefinite length (BER, not DER)');
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > 4) throw new Error('X.690 §8.1.3.5: length of length too large');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (der[2 + i] ?? 0);
    header = 2 + n;
  }
  if (header + length !== der.length) {
    throw new Error(header + length > der.length ? 'X.690 §8.1.3: the value is truncated' : 'X.690 §8.1.1: trailing bytes after the value');
  }
  return AsnConvert.parse(der, schema);
}

// @peculiar/x509's names for attribute types (its Name class), so names read as they did.
const NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.4': 'SN',
  '2.5.4.12': 'T',
};
export const ATTRIBUTE = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11' } as const;

function escapeRdn(value: string): string {
  // As @peculiar/x509 escapes (only the first control character is hex-escaped, as there).
  return value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (c) => `\\${hex(new TextEncoder().encode(c)).toUpperCase()}`);
}

/** A Name as an RFC 4514-style string, exactly as @peculiar/x509 writes it: how Semper compares issuer and subject. */
export function nameToString(name: Name): string {
  return name
    .map((rdn) =>
      rdn
        .map((atv) => {
          const type = NAMES[atv.type] ?? atv.type;
          const value = atv.value.anyValue ? `#${hex(atv.value.anyValue)}` : escapeRdn(atv.value.toString());
          return `${type}=${value}`;
        })
        .join('+'),
    )
    .join(', ');
}

/** Every value of an attribute type in a name, in order. */
export function nameFields(name: Name, oid: string): string[] {
  const out: string[] = [];
  for (const rdn of name) for (const atv of rdn) if (atv.type === oid) out.push(atv.value.toString());
  return out;
}

/** A serial number (RFC 5280 §4.1.2.2) as hex, one sign octet dropped, as @peculiar/x509 reads it. */
export function serialHex(raw: ArrayBuffer): string {
  let bytes = new Uint8Array(raw);
  if (bytes.length > 1 && bytes[0] === 0x00 && bytes[1]! > 0x7f) bytes = bytes.slice(1);
  return hex(bytes);
}

export interface ReadExtensions {
  /** basicConstraints cA, if the extension is present. */
  ca: boolean | undefined;
  /** keyUsage bits (KeyUsage.toNumber), if present. */
  keyUsage: number | undefined;
  /** subjectKeyIdentifier, hex, if present. */
  subjectKeyId: string | undefined;
  /** authorityKeyIdentifier keyIdentifier, hex, if present. */
  authorityKeyId: string | undefined;
  /** The subjectAltName's uniformResourceIdentifier names. */
  uris: string[];
  /** The CRL distribution points' uniformResourceIdentifier full names. */
  crlUrls: string[];
}

// A GeneralName @peculiar/x509 can represent; it refused others where it did not skip them.
function checkGeneralName(name: GeneralName): void {
  if (
    name.dNSName != null ||
    name.rfc822Name != null ||
    name.iPAddress != null ||
    name.uniformResourceIdentifier != null ||
    name.registeredID != null ||
    name.directoryName != null
  )
    return;
  if (name.otherName != null) {
    if (name.otherName.typeId === '1.3.6.1.4.1.311.25.1') {
      const guid = hex(AsnConvert.parse(name.otherName.value, OctetString).buffer);
      if (!/^[0-9a-f]{32}$/.test(guid)) throw new Error('GeneralName: a GUID is 16 octets');
      return;
    }
    if (name.otherName.typeId === '1.3.6.1.4.1.311.20.2.3') {
      AsnConvert.parse(name.otherName.value, DirectoryString);
      return;
    }
  }
  throw new Error('GeneralName: unsupported form');
}

/** id-ad-ocsp, id-ad-caIssuers, id-ad-timeStamping, id-ad-caRepository (RFC 5280 §4.2.2.1): the locations @peculiar/x509 read. */
const ACCESS_METHODS = new Set(['1.3.6.1.5.5.7.48.1', '1.3.6.1.5.5.7.48.2', '1.3.6.1.5.5.7.48.3', '1.3.6.1.5.5.7.48.5']);

function uriNames(names: GeneralNames): string[] {
  const out: string[] = [];
  for (const name of names) {
    try {
      checkGeneralName(name);
    } catch {
      continue; // @peculiar/x509 skipped names it could not represent inside GeneralNames
    }
    if (name.uniformResourceIdentifier != null) out.push(name.uniformResourceIdentifier);
  }
  return out;
}

/**
 * The first extension type that occurs twice in one Extensions field, or undefined. X.509 allows one
 * instance of each (RFC 5280 §4.2 for certificates; CRLs and CRL entries alike): two of one kind, say
 * basicConstraints cA false then true, or two cRLNumbers, are read differently by different verifiers.
 */
export function repeatedExtension(extensions: readonly { extnID: string }[] | undefined): string | undefined {
  const seen = new Set<string>();
  for (const ext of extensions ?? []) {
    if (seen.has(ext.extnID)) return ext.extnID;
    seen.add(ext.extnID);
  }
  return undefined;
}

/**
 * The extensions Semper reads, first of each type. Every extension type @peculiar/x509 knew is
 * parsed, so a malformed one makes the certificate unreadable as it did there (an Error to wrap).
 */
export function readExtensions(extensions: readonly Extension[] | undefined): ReadExtensions {
  const out: ReadExtensions = { ca: undefined, keyUsage: undefined, subjectKeyId: undefined, authorityKeyId: undefined, uris: [], crlUrls: [] };
  const seen = new Set<string>();
  for (const ext of extensions ?? []) {
    const value = ext.extnValue.buffer;
    const first = !seen.has(ext.extnID);
    seen.add(ext.extnID);
    switch (ext.extnID) {
      case OID.basicConstraints: {
        const bc = AsnConvert.parse(value, BasicConstraints);
        if (first) out.ca = bc.cA;
        break;
      }
      case OID.keyUsage: {
        const ku = AsnConvert.parse(value, KeyUsage).toNumber();
        if (first) out.keyUsage = ku;
        break;
      }
      case OID.extKeyUsage:
        AsnConvert.parse(value, ExtendedKeyUsage);
        break;
      case OID.subjectKeyIdentifier: {
        const ski = hex(AsnConvert.parse(value, SubjectKeyIdentifier).buffer);
        if (first) out.subjectKeyId = ski;
        break;
      }
      case OID.authorityKeyIdentifier: {
        const aki = AsnConvert.parse(value, AuthorityKeyIdentifier);
        if (first && aki.keyIdentifier) out.authorityKeyId = hex(aki.keyIdentifier.buffer);
        break;
      }
      case OID.subjectAltName: {
        const uris = uriNames(AsnConvert.parse(value, SubjectAlternativeName));
        if (first) out.uris = uris;
        break;
      }
      case OID.issuerAltName:
        uriNames(AsnConvert.parse(value, GeneralNames));
        break;
      case OID.cRLDistributionPoints: {
        const urls: string[] = [];
        for (const point of AsnConvert.parse(value, CRLDistributionPoints)) {
          for (const name of point.distributionPoint?.fullName ?? []) if (name.uniformResourceIdentifier) urls.push(name.uniformResourceIdentifier);
        }
        if (first) out.crlUrls = urls;
        break;
      }
      case OID.authorityInfoAccess:
        for (const access of AsnConvert.parse(value, AuthorityInfoAccessSyntax)) {
          if (ACCESS_METHODS.has(access.accessMethod)) checkGeneralName(access.accessLocation);
        }
        break;
      case OID.certificatePolicies:
        AsnConvert.parse(value, CertificatePolicies);
        break;
    }
  }
  return out;
}

export interface PublicKeyOf {
  alg: KeyAlgorithm;
  key: CryptoKey;
}

/**
 * The subject's public key (RFC 5280 §4.1.2.7) as a WebCrypto key: P-256 (ES256) or Ed25519, the
 * two Semper certifies; anything else is ERR_KEY, as exporting it as a Semper JWK was.
 */
export async function importSpki(spki: SubjectPublicKeyInfo): Promise<PublicKeyOf> {
  let alg: KeyAlgorithm | undefined;
  if (spki.algorithm.algorithm === OID.ed25519) alg = 'EdDSA';
  else if (spki.algorithm.algorithm === OID.ecPublicKey && spki.algorithm.parameters) {
    let curve: string | undefined;
    try {
      curve = AsnConvert.parse(spki.algorithm.parameters, ECParameters).namedCurve;
    } catch {
      curve = undefined;
    }
    if (curve === OID.secp256r1) alg = 'ES256';
  }
  if (!alg) throw new SemperError('ERR_KEY', 'RFC 7518 §6.2 / RFC 8037 §2: not a P-256 or Ed25519 public JWK');
  const params = alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' };
  try {
    return { alg, key: await crypto.subtle.importKey('spki', AsnConvert.serialize(spki), params, true, ['verify']) };
  } catch (e) {
    throw new SemperError('ERR_KEY', `RFC 5280 §4.1.2.7: the subject public key does not import (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Does `signature` (the BIT STRING's octets) over `tbs` verify under `key` with `algorithm`?
 * ecdsa-with-SHA256 and Ed25519 only, the key's own algorithm, through core/crypto's verify;
 * every failure, an undecodable signature value included, is false.
 */
export async function verifySigned(algorithm: AlgorithmIdentifier, signature: ArrayBuffer, tbs: ArrayBuffer, key: PublicKeyOf): Promise<boolean> {
  const alg = algorithm.algorithm === OID.ecdsaWithSha256 ? 'ES256' : algorithm.algorithm === OID.ed25519 ? 'EdDSA' : undefined;
  if (alg !== key.alg) return false;
  try {
    const value = new Uint8Array(signature);
    return await verifyRaw(alg, key.key, new Uint8Array(tbs), alg === 'ES256' ? ecdsaDerToRaw(value) : value);
  } catch {
    return false;
  }
}
