/**
 * Creating an RFC 3161 TimeStampToken: a CMS SignedData (RFC 5652) over a DER TSTInfo
 * (RFC 3161 §2.4.2), signed with ECDSA P-256 / SHA-256 through WebCrypto, so the key may be
 * non-extractable.
 *
 *   ContentInfo { id-signedData, SignedData v3 {
 *     digestAlgorithms { sha256 },
 *     encapContentInfo { id-ct-TSTInfo, eContent OCTET STRING (DER TSTInfo) },
 *     certificates [0] { TSA certificate }     -- only when the request said certReq
 *     signerInfos { SignerInfo v1 {
 *       sid issuerAndSerialNumber, digestAlgorithm sha256,
 *       signedAttrs [0] { contentType id-ct-TSTInfo, messageDigest SHA-256(eContent),
 *                         signingTime, signingCertificateV2 { ESSCertIDv2 } },
 *       signatureAlgorithm ecdsa-with-SHA256,
 *       signature ECDSA-Sig-Value over the DER SET OF signedAttrs } } } }
 *
 * SignedData is version 3 because the content type is not id-data (RFC 5652 §5.1); SignerInfo is
 * version 1 because the signer is named by issuer and serial (§5.3).
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeBase64Der } from '../pki/der.js';
import { SemperError } from '../errors.js';
import { der, ecdsaRawToDer, OID, positiveInteger, sha256, sortSetOf } from './asn1.js';
import { signingCertificateV2Attribute } from './ess.js';
import { sha256MessageImprint } from './request.js';

/** RFC 3161 §2.4.2 Accuracy: how far genTime may be from UTC. */
export interface TimeStampAccuracy {
  seconds?: number;
  millis?: number;
  micros?: number;
}

export interface TimeStampTokenParams {
  /** The SHA-256 imprint being stamped (32 bytes). */
  digest: Uint8Array;
  /** Unique positive serial of this token (RFC 3161 §2.4.2: unique per TSA, up to 160 bits). */
  serialNumber: bigint;
  genTime: Date;
  /** The TSA policy the token is issued under (an OID). */
  policy: string;
  /** The request's nonce, echoed (an Integer to echo the exact bytes, or a value). */
  nonce?: bigint | asn1js.Integer;
  accuracy?: TimeStampAccuracy;
  /** The TSA's certificate (DER base64): named by signingCertificateV2, and in the token when `includeCertificate`. */
  certificate: string;
  /** RFC 3161 §2.4.1 certReq: the certificate goes into the token only when the request asked for it. */
  includeCertificate: boolean;
  /** ECDSA P-256 private key (non-extractable is fine). */
  privateKey: CryptoKey;
}

export function parseCertificateDer(bytes: Uint8Array<ArrayBuffer>, what: string): pkijs.Certificate {
  try {
    return pkijs.Certificate.fromBER(bytes);
  } catch (e) {
    throw new SemperError('ERR_CERT_CHAIN', `RFC 5280 §4.1: ${what} is not a DER certificate (${e instanceof Error ? e.message : String(e)})`);
  }
}

const sha256Algorithm = () => new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });

/** The DER TSTInfo (RFC 3161 §2.4.2). */
export function buildTstInfo(p: Omit<TimeStampTokenParams, 'certificate' | 'includeCertificate' | 'privateKey'>): Uint8Array<ArrayBuffer> {
  const accuracy = p.accuracy
    ? new pkijs.Accuracy({
        ...(p.accuracy.seconds ? { seconds: p.accuracy.seconds } : {}),
        ...(p.accuracy.millis ? { millis: p.accuracy.millis } : {}),
        ...(p.accuracy.micros ? { micros: p.accuracy.micros } : {}),
      })
    : undefined;
  const info = new pkijs.TSTInfo({
    version: 1,
    policy: p.policy,
    messageImprint: sha256MessageImprint(p.digest),
    serialNumber: positiveInteger(p.serialNumber),
    genTime: p.genTime,
    ...(accuracy ? { accuracy } : {}),
    ...(p.nonce !== undefined ? { nonce: typeof p.nonce === 'bigint' ? positiveInteger(p.nonce) : p.nonce } : {}),
  });
  return der(info.toSchema());
}

/** Create a TimeStampToken (DER ContentInfo) for the given TSTInfo fields. */
export function createTimeStampToken(p: TimeStampTokenParams): Promise<Uint8Array<ArrayBuffer>> {
  if (p.digest.length !== 32) throw new SemperError('ERR_SCHEMA', 'RFC 3161 §2.4.2: the imprint is a SHA-256 digest of 32 bytes');
  return signTstInfo({
    tstInfo: buildTstInfo(p),
    genTime: p.genTime,
    certificate: p.certificate,
    includeCertificate: p.includeCertificate,
    privateKey: p.privateKey,
  });
}

export interface SignTstInfoParams {
  /** A DER TSTInfo, signed as given (createTimeStampToken builds a correct one; tests sign wrong ones). */
  tstInfo: Uint8Array<ArrayBuffer>;
  /** For the signingTime attribute. */
  genTime: Date;
  certificate: string;
  includeCertificate: boolean;
  privateKey: CryptoKey;
}

/** Wrap a DER TSTInfo in the TSA's SignedData (see the top of this file). */
export async function signTstInfo(p: SignTstInfoParams): Promise<Uint8Array<ArrayBuffer>> {
  if (p.privateKey.algorithm.name !== 'ECDSA' || (p.privateKey.algorithm as EcKeyAlgorithm).namedCurve !== 'P-256') {
    throw new SemperError('ERR_ALG_UNSUPPORTED', 'a time-stamp token is signed with ECDSA P-256 here');
  }
  const certificateDer = decodeBase64Der(p.certificate, 'TSA certificate', 'ERR_CERT_CHAIN');
  const certificate = parseCertificateDer(certificateDer, 'the TSA certificate');
  const tstInfo = p.tstInfo;

  const attributes = sortSetOf(
    [
      new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.tstInfo })] }),
      new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: await sha256(tstInfo) })] }),
      // signingTime (RFC 5652 §11.3) is the genTime: UTCTime through 2049, as the RFC requires.
      new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: new Date(Math.floor(p.genTime.getTime() / 1000) * 1000) })] }),
      await signingCertificateV2Attribute(certificateDer, certificate),
    ],
    (a) => der(a.toSchema()),
  );
  // RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF (tag 0x31), not the [0] IMPLICIT form.
  const signedSet = der(new asn1js.Set({ value: attributes.map((a) => a.toSchema()) }));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, p.privateKey, signedSet));

  const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: OID.tstInfo });
  // Assigned after construction: pkijs's constructor rewrites a primitive eContent as a
  // constructed (BER) OCTET STRING; a token is DER.
  encapContentInfo.eContent = new asn1js.OctetString({ valueHex: tstInfo });
  const signedData = new pkijs.SignedData({
    version: 3,
    digestAlgorithms: [sha256Algorithm()],
    encapContentInfo,
    ...(p.includeCertificate ? { certificates: [certificate] } : {}),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: certificate.issuer, serialNumber: certificate.serialNumber }),
        digestAlgorithm: sha256Algorithm(),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes }),
        signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 }),
        signature: new asn1js.OctetString({ valueHex: ecdsaRawToDer(raw) }),
      }),
    ],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) });
  return der(contentInfo.toSchema());
}
