/**
 * Verifying an RFC 3161 time-stamp token, every check done here rather than left to pkijs's
 * SignedData.verify (which accepted tokens OpenSSL 3.0 refuses: no signingCertificateV2, a signer
 * certificate without a critical timeStamping EKU). The checks, each failing with the rule it
 * enforces:
 *
 *   1. ContentInfo of id-signedData; SignedData v3 with exactly one SignerInfo (RFC 3161 §2.4.2)
 *   2. eContentType id-ct-TSTInfo, eContent a DER TSTInfo
 *   3. signed attributes: contentType = id-ct-TSTInfo, messageDigest = SHA-256(eContent),
 *      signingCertificateV2 whose first ESSCertIDv2 is the signer certificate (RFC 5035 §3)
 *   4. the signer certificate (in the token, or given by the caller when the request had no
 *      certReq) matches the SignerInfo's issuer and serial
 *   5. ECDSA P-256 / SHA-256 signature over the DER SET OF signed attributes (RFC 5652 §5.4)
 *   6. the certificate: extendedKeyUsage present, critical, exactly id-kp-timeStamping
 *      (RFC 3161 §2.3); keyUsage, if present, only digitalSignature / nonRepudiation; a path to
 *      one of the caller's roots valid at the time of the stamp; Semper role tsa (by default)
 *   7. TSTInfo: version 1, messageImprint = SHA-256 of the caller's digest, nonce echoed when one
 *      was sent, serial a positive INTEGER, genTime read
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ecdsaDerToRaw } from '../crypto/ecdsa-der.js';
import { encodeBase64 } from '../encoding/index.js';
import { SemperError } from '../errors.js';
import { type CertificateInfo, type RevocationCheck, validateChain } from '../pki/certificates.js';
import { decodeBase64Der } from '../pki/der.js';
import { bytesEqual, der, OID, parseDer, readOid, readPositiveInteger, sha256 } from './asn1.js';
import { checkSigningCertificateV2 } from './ess.js';
import { PKI_STATUS, parseTimeStampResponse } from './response.js';
import type { TimeStampAccuracy } from './token.js';

export interface TimeStampVerifyOptions {
  /** The SHA-256 digest the token must stamp (32 bytes). */
  digest: Uint8Array;
  /** Trust anchors: DER base64 root certificates. */
  roots: readonly string[];
  /** Certificates to look for the signer (and intermediates) in besides the token's own (DER base64): needed when certReq was false. */
  certificates?: readonly string[];
  /** The nonce the request carried: the token must echo it. */
  nonce?: bigint;
  /** When the signer's certificate path must be valid (default: the token's genTime). */
  at?: Date;
  /** Revocation check for the TSA certificate (and intermediates), as core/pki validateChain takes it; none by default. */
  isRevoked?: RevocationCheck;
  /** Require the Semper role tsa (OU=semper-tsa) on the signer certificate (default true). */
  requireTsaRole?: boolean;
}

export interface VerifiedTimeStamp {
  genTime: Date;
  serialNumber: bigint;
  policy: string;
  /** The stamped SHA-256 digest. */
  digest: Uint8Array;
  nonce: bigint | undefined;
  accuracy: TimeStampAccuracy | undefined;
  /** The TSA's certificate, as validated. */
  tsa: CertificateInfo;
  /** Did the token carry the TSA certificate itself (certReq)? */
  certificateIncluded: boolean;
}

function fail(rule: string, details?: Record<string, unknown>): never {
  throw new SemperError('ERR_TIMESTAMP_INVALID', rule, details);
}

function structure<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof SemperError) throw e;
    return fail(`${what} (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The one value of a signed attribute that must occur exactly once with exactly one value (RFC 5652 §5.3, §11). */
function singleValue(attributes: readonly pkijs.Attribute[], type: string, name: string): asn1js.AsnType {
  const found = attributes.filter((a) => a.type === type);
  if (found.length === 0) fail(`RFC 5652 §5.3: signed attribute ${name} is missing`);
  if (found.length > 1 || found[0]!.values.length !== 1) fail(`RFC 5652 §11: signed attribute ${name} must occur once with one value`);
  return found[0]!.values[0]!;
}

/** RFC 3161 §2.3 and OpenSSL's timestamp-signing purpose: EKU critical and exactly timeStamping; keyUsage only for signing. */
function checkTsaUsage(certificate: pkijs.Certificate): void {
  const extensions = certificate.extensions ?? [];
  const eku = extensions.filter((e) => e.extnID === OID.extKeyUsage);
  if (eku.length !== 1) fail('RFC 3161 §2.3: the TSA certificate must carry one extendedKeyUsage extension');
  if (!eku[0]!.critical) fail('RFC 3161 §2.3: the TSA certificate extendedKeyUsage must be critical');
  const usage = eku[0]!.parsedValue;
  const purposes = usage instanceof pkijs.ExtKeyUsage ? usage.keyPurposes : [];
  if (purposes.length !== 1 || purposes[0] !== OID.timeStamping) fail('RFC 3161 §2.3: the TSA certificate extendedKeyUsage must be exactly id-kp-timeStamping');
  const ku = extensions.find((e) => e.extnID === OID.keyUsage)?.parsedValue;
  if (ku instanceof asn1js.BitString) {
    const bits = ku.valueBlock.valueHexView;
    const signing = (bits[0] ?? 0) & 0xc0;
    const other = ((bits[0] ?? 0) & 0x3f) | bits.subarray(1).reduce((a, b) => a | b, 0);
    if (!signing || other) fail('RFC 3161 §2.3: the TSA certificate keyUsage must be digitalSignature and/or nonRepudiation only');
  }
}

function sameIssuerAndSerial(certificate: pkijs.Certificate, sid: pkijs.IssuerAndSerialNumber): boolean {
  return certificate.issuer.isEqual(sid.issuer) && bytesEqual(certificate.serialNumber.valueBlock.valueHexView, sid.serialNumber.valueBlock.valueHexView);
}

/** Verify a DER TimeStampToken (the ContentInfo) against `options`. */
export async function verifyTimeStampToken(token: Uint8Array, options: TimeStampVerifyOptions): Promise<VerifiedTimeStamp> {
  if (!(options.digest instanceof Uint8Array) || options.digest.length !== 32)
    throw new SemperError('ERR_SCHEMA', 'the digest to check a time stamp against is a SHA-256 of 32 bytes');
  const asn = parseDer(token, 'TimeStampToken', 'ERR_TIMESTAMP_INVALID');
  const contentInfo = structure('RFC 5652 §3: not a ContentInfo', () => new pkijs.ContentInfo({ schema: asn }));
  if (contentInfo.contentType !== OID.signedData) fail('RFC 3161 §2.4.2: a TimeStampToken is a ContentInfo of id-signedData');
  const signedData = structure('RFC 5652 §5.1: not a SignedData', () => new pkijs.SignedData({ schema: contentInfo.content }));
  if (signedData.version !== 3) fail(`RFC 5652 §5.1: SignedData over id-ct-TSTInfo has version 3, not ${signedData.version}`);

  // 2. The content.
  const eci = signedData.encapContentInfo;
  if (eci.eContentType !== OID.tstInfo) fail('RFC 3161 §2.4.2: eContentType must be id-ct-TSTInfo');
  const eContent = eci.eContent;
  if (!(eContent instanceof asn1js.OctetString) || eContent.idBlock.isConstructed)
    fail('RFC 3161 §2.4.2: eContent must be a DER (primitive) OCTET STRING holding the TSTInfo');
  const tstInfoDer = new Uint8Array(eContent.valueBlock.valueHexView);

  // 1. Exactly the TSA's signature.
  if (signedData.signerInfos.length !== 1) fail("RFC 3161 §2.4.2: a TimeStampToken carries exactly one SignerInfo, the TSA's");
  const signerInfo = signedData.signerInfos[0]!;
  if (!(signerInfo.sid instanceof pkijs.IssuerAndSerialNumber)) fail('RFC 5652 §5.3: only a signer named by issuer and serial number is supported');
  if (signerInfo.digestAlgorithm.algorithmId !== OID.sha256) fail(`RFC 5652 §5.3: digestAlgorithm ${signerInfo.digestAlgorithm.algorithmId} is not SHA-256`);
  if (signerInfo.signatureAlgorithm.algorithmId !== OID.ecdsaWithSha256) {
    fail(`RFC 5758 §3.2: signatureAlgorithm ${signerInfo.signatureAlgorithm.algorithmId} is not ecdsa-with-SHA256`);
  }

  // 3. Signed attributes.
  const signedAttrs = signerInfo.signedAttrs;
  // (pkijs refuses an empty [0] itself, so present means at least one attribute.)
  if (!signedAttrs) fail("RFC 3161 §2.4.2: the TSA's SignerInfo must carry signed attributes");
  const attributes = signedAttrs.attributes;
  const contentType = singleValue(attributes, OID.contentType, 'contentType');
  if (!(contentType instanceof asn1js.ObjectIdentifier) || contentType.valueBlock.toString() !== OID.tstInfo) {
    fail('RFC 5652 §11.1: signed attribute contentType must be id-ct-TSTInfo');
  }
  const messageDigest = singleValue(attributes, OID.messageDigest, 'messageDigest');
  if (!(messageDigest instanceof asn1js.OctetString) || !bytesEqual(messageDigest.valueBlock.valueHexView, await sha256(tstInfoDer))) {
    fail('RFC 5652 §11.2: signed attribute messageDigest is not the SHA-256 of the TSTInfo');
  }
  const signingCertificate = singleValue(attributes, OID.signingCertificateV2, 'signingCertificateV2 (RFC 5035)');

  // 4. The signer's certificate.
  const included = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const candidates = [
    ...included.map((c) => ({ certificate: c, der: der(c.toSchema()) })),
    ...(options.certificates ?? []).map((b64) => {
      const bytes = decodeBase64Der(b64, 'certificate', 'ERR_CERT_CHAIN');
      return { certificate: structure('RFC 5280 §4.1: not a DER certificate', () => pkijs.Certificate.fromBER(bytes)), der: bytes };
    }),
  ];
  const sid = signerInfo.sid;
  const signer = candidates.find((c) => sameIssuerAndSerial(c.certificate, sid));
  if (!signer) fail("RFC 5652 §5.3: the signer's certificate (issuer and serial of the SignerInfo) is neither in the token nor given");
  await checkSigningCertificateV2(signingCertificate, signer.der, signer.certificate);

  // 5. The signature over the DER SET OF signed attributes (pkijs keeps the bytes as received, re-tagged 0x31).
  let publicKey: CryptoKey;
  try {
    publicKey = await crypto.subtle.importKey('spki', der(signer.certificate.subjectPublicKeyInfo.toSchema()), { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'verify',
    ]);
  } catch {
    return fail('RFC 5758 §3.2: the TSA certificate key is not an ECDSA P-256 key');
  }
  const signature = ecdsaDerToRaw(signerInfo.signature.valueBlock.valueHexView);
  const signed = new Uint8Array(signedAttrs.encodedValue);
  if (!(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, signature, signed))) {
    fail("RFC 5652 §5.4: the TSA's signature over the signed attributes does not verify");
  }

  // 7. The TSTInfo (read before the certificate path: its genTime is when the path must hold).
  const tstAsn = parseDer(tstInfoDer, 'TSTInfo', 'ERR_TIMESTAMP_INVALID');
  const info = structure('RFC 3161 §2.4.2: not a TSTInfo', () => new pkijs.TSTInfo({ schema: tstAsn }));
  if (info.version !== 1) fail(`RFC 3161 §2.4.2: TSTInfo version must be 1, not ${info.version}`);
  if (info.messageImprint.hashAlgorithm.algorithmId !== OID.sha256) fail('RFC 3161 §2.4.2: messageImprint is not a SHA-256 imprint');
  if (!bytesEqual(info.messageImprint.hashedMessage.valueBlock.valueHexView, options.digest)) fail('RFC 3161 §2.4.2: messageImprint differs from the digest');
  const serialNumber = readPositiveInteger(info.serialNumber, 'RFC 3161 §2.4.2: serialNumber', 'ERR_TIMESTAMP_INVALID');
  const nonce = info.nonce ? readPositiveInteger(info.nonce, 'RFC 3161 §2.4.2: nonce', 'ERR_TIMESTAMP_INVALID') : undefined;
  if (options.nonce !== undefined && nonce !== options.nonce) fail("RFC 3161 §2.4.2: the nonce differs from the request's");
  // The policy read from its bytes (readOid): pkijs's string is wrong for arcs above 2^53 (UUID OIDs).
  const policyOid = tstAsn instanceof asn1js.Sequence ? tstAsn.valueBlock.value[1] : undefined;
  if (!(policyOid instanceof asn1js.ObjectIdentifier)) fail('RFC 3161 §2.4.2: TSTInfo policy is not an OBJECT IDENTIFIER');
  const policy = structure('RFC 3161 §2.4.2: TSTInfo policy', () => readOid(policyOid));
  const genTime = info.genTime;
  if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime())) fail('RFC 3161 §2.4.2: genTime is not a GeneralizedTime');

  // 6. The certificate: usage, path, role.
  checkTsaUsage(signer.certificate);
  const chain = [encodeBase64(signer.der)];
  let current = signer.certificate;
  for (let i = 0; i < 4; i++) {
    const issuer = candidates.find(
      (c) => c.certificate !== current && c.certificate.subject.isEqual(current.issuer) && !c.certificate.subject.isEqual(c.certificate.issuer),
    );
    if (!issuer) break;
    chain.push(encodeBase64(issuer.der));
    current = issuer.certificate;
  }
  const { leaf } = await validateChain(chain, {
    roots: options.roots,
    now: options.at ?? genTime,
    ...(options.isRevoked ? { isRevoked: options.isRevoked } : {}),
  });
  if ((options.requireTsaRole ?? true) && leaf.role !== 'tsa') fail('the TSA certificate does not carry the Semper role tsa (OU=semper-tsa)');

  const accuracy = info.accuracy
    ? {
        ...(info.accuracy.seconds !== undefined ? { seconds: info.accuracy.seconds } : {}),
        ...(info.accuracy.millis !== undefined ? { millis: info.accuracy.millis } : {}),
        ...(info.accuracy.micros !== undefined ? { micros: info.accuracy.micros } : {}),
      }
    : undefined;
  return {
    genTime,
    serialNumber,
    policy,
    digest: new Uint8Array(options.digest),
    nonce,
    accuracy,
    tsa: leaf,
    certificateIncluded: included.some((c) => c === signer.certificate),
  };
}

/** Verify a DER TimeStampResp: status granted (or grantedWithMods), then its token (verifyTimeStampToken). */
export async function verifyTimeStampResponse(
  response: Uint8Array,
  options: TimeStampVerifyOptions,
): Promise<VerifiedTimeStamp & { token: Uint8Array<ArrayBuffer> }> {
  const parsed = parseTimeStampResponse(response);
  if (parsed.status !== PKI_STATUS.granted && parsed.status !== PKI_STATUS.grantedWithMods) {
    throw new SemperError(
      'ERR_TIMESTAMP_REFUSED',
      `RFC 3161 §2.4.2: the TSA refused (status ${parsed.status}${parsed.failures.length ? `, ${parsed.failures.join(', ')}` : ''}${parsed.statusStrings.length ? `: ${parsed.statusStrings.join('; ')}` : ''})`,
      {
        status: parsed.status,
        failures: parsed.failures,
      },
    );
  }
  if (!parsed.token) fail('RFC 3161 §2.4.2: a granted TimeStampResp must carry a timeStampToken');
  return { ...(await verifyTimeStampToken(parsed.token, options)), token: parsed.token };
}
