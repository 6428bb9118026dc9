/**
 * The issuing side of Semper's PKI, for the Node parties only (CA, TSA, tests): certificates
 * (RFC 5280) with a name, a role and (for merchants) web origins bound to a key, complete CRLs
 * (RFC 5280 §5) and the CA's check of PKCS #10 requests (RFC 2986), through @peculiar/x509.
 *
 * What a Semper certificate says:
 *   subject  CN=<legal name>, O=<legal name>, OU=semper-<role>
 *   SAN      uniformResourceIdentifier: each web origin the merchant serves offers from
 *   basicConstraints cA=true only on CA certificates; keyUsage digitalSignature on leaves
 * OpenSSL reads all of it (`openssl x509 -text`), so evidence stays checkable with stock tools.
 *
 * Reading and verifying (certificates.ts, crl.ts) and making a request (csr.ts) do not use
 * @peculiar/x509: the extension's service worker imports those modules, and this library with
 * tsyringe and reflect-metadata was a third of what it loaded at start (docs/speed.md). The
 * extension must not import this module, nor core/pki/index.ts, which re-exports it.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { encodeBase64 } from '../encoding/index.js';
import { SemperError } from '../errors.js';
import { exportPublicJwk, importPublicJwk, type KeyAlgorithm } from '../crypto/keys.js';
import type { PublicJwk } from '../crypto/jwk.js';
import { canonicalOrigin, type CertificateRole } from './certificates.js';
import { CRL_REASONS, type CreateCrlParams, OID_CRL_NUMBER } from './crl.js';
import { algorithmOfCryptoKey, MAX_CSR_BYTES } from './csr.js';
import { canonicalSerial, decodeBase64Der } from './der.js';

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

/** DER INTEGER (X.690 §8.3) of a non-negative value: minimal two's-complement octets. */
function derInteger(value: bigint): Uint8Array<ArrayBuffer> {
  if (value < 0n) throw new SemperError('ERR_SCHEMA', 'RFC 5280 §5.2.3: cRLNumber is a non-negative integer');
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const body = hex.match(/../g)!.map((h) => parseInt(h, 16));
  if (body.length > 20) throw new SemperError('ERR_SCHEMA', 'RFC 5280 §5.2.3: cRLNumber is at most 20 octets');
  return new Uint8Array([0x02, body.length, ...body]);
}

function crlSigningAlgorithm(key: CryptoKey): EcdsaParams | Algorithm {
  if (key.algorithm.name === 'ECDSA') return { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
  if (key.algorithm.name === 'Ed25519') return { name: 'Ed25519' };
  throw new SemperError('ERR_ALG_UNSUPPORTED', `CRLs are signed with ES256 or Ed25519, not ${key.algorithm.name}`);
}

/** Issue a complete CRL (RFC 5280 §5.1, v2) signed by the CA; base64 DER. */
export async function createCrl(p: CreateCrlParams): Promise<string> {
  const issuer = new x509.X509Certificate(p.issuerCertificate);
  if (!(p.nextUpdate > p.thisUpdate)) throw new SemperError('ERR_SCHEMA', 'RFC 5280 §5.1.2.5: nextUpdate must be later than thisUpdate');
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate: p.thisUpdate,
    nextUpdate: p.nextUpdate,
    signingAlgorithm: crlSigningAlgorithm(p.issuerPrivateKey),
    signingKey: p.issuerPrivateKey,
    entries: p.entries.map((e) => ({
      serialNumber: canonicalSerial(e.serial),
      revocationDate: e.revokedAt,
      ...(e.reason !== undefined ? { reason: CRL_REASONS[e.reason] as number as x509.X509CrlReason } : {}),
    })),
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey),
      new x509.Extension(OID_CRL_NUMBER, false, derInteger(BigInt(p.crlNumber))),
    ],
  });
  return encodeBase64(new Uint8Array(crl.rawData));
}

export interface VerifiedCertificationRequest {
  /** The requester's public key (extractable: it is public), ready for issueCertificate. */
  publicKey: CryptoKey;
  publicJwk: PublicJwk;
  alg: KeyAlgorithm;
  /** The subject the requester asked for (RFC 4514 string). Informational only. */
  requestedSubject: string;
}

/**
 * Parse a base64 DER PKCS #10 request and check it: the key is ES256 or Ed25519, the signature
 * algorithm is the one that key makes (ecdsa-with-SHA256 for P-256, Ed25519 for Ed25519), and the
 * self-signature over certificationRequestInfo verifies under the enclosed key (proof of
 * possession). Every failure names the rule.
 */
export async function verifyCertificationRequest(csrB64: string): Promise<VerifiedCertificationRequest> {
  const der = decodeBase64Der(csrB64, 'certification request', 'ERR_SCHEMA', MAX_CSR_BYTES);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (e) {
    throw new SemperError('ERR_SCHEMA', `RFC 2986 §4: not a DER CertificationRequest (${e instanceof Error ? e.message : String(e)})`);
  }
  let spkiKey: CryptoKey;
  try {
    spkiKey = await csr.publicKey.export();
  } catch (e) {
    throw new SemperError(
      'ERR_ALG_UNSUPPORTED',
      `RFC 2986 §4.1: subjectPKInfo is not a usable ES256 or Ed25519 key (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const alg = algorithmOfCryptoKey(spkiKey);
  const sigAlg = csr.signatureAlgorithm as { name: string; hash?: { name: string } };
  const expected = alg === 'ES256' ? sigAlg.name === 'ECDSA' && sigAlg.hash?.name === 'SHA-256' : sigAlg.name === 'Ed25519';
  if (!expected) {
    throw new SemperError(
      'ERR_ALG_UNSUPPORTED',
      `RFC 2986 §4.2: an ${alg} key signs its request with ${alg === 'ES256' ? 'ecdsa-with-SHA256' : 'Ed25519'}, not ${sigAlg.name}${sigAlg.hash ? `/${sigAlg.hash.name}` : ''}`,
    );
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new SemperError('ERR_SIGNATURE_INVALID', 'RFC 2986 §3: the request is not signed by the key it names (no proof of possession)');
  const publicJwk = await exportPublicJwk(spkiKey);
  return { publicKey: await importPublicJwk(publicJwk), publicJwk, alg, requestedSubject: csr.subject };
}
