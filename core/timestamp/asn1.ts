/**
 * The few ASN.1 pieces RFC 3161 tokens need beyond what pkijs models: object identifiers, strict
 * top-level DER parsing with resource limits, positive INTEGERs from bigints, DER SET OF ordering
 * and the ECDSA-Sig-Value encoding of a WebCrypto (IEEE P1363) signature.
 */
import * as asn1js from 'asn1js';
import { SemperError, type SemperErrorCode } from '../errors.js';

export const OID = {
  /** id-sha256 (RFC 5754 §2.2). */
  sha256: '2.16.840.1.101.3.4.2.1',
  /** ecdsa-with-SHA256 (RFC 5758 §3.2): parameters absent. */
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  /** id-signedData (RFC 5652 §5.1). */
  signedData: '1.2.840.113549.1.7.2',
  /** id-ct-TSTInfo (RFC 3161 §2.4.2). */
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  /** id-contentType (RFC 5652 §11.1). */
  contentType: '1.2.840.113549.1.9.3',
  /** id-messageDigest (RFC 5652 §11.2). */
  messageDigest: '1.2.840.113549.1.9.4',
  /** id-signingTime (RFC 5652 §11.3). */
  signingTime: '1.2.840.113549.1.9.5',
  /** id-aa-signingCertificateV2 (RFC 5035 §3). */
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  /** id-aa-signingCertificate (RFC 2634 §5.4, SHA-1 ESSCertID). */
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  /** id-kp-timeStamping (RFC 5280 §4.2.1.12). */
  timeStamping: '1.3.6.1.5.5.7.3.8',
  /** id-ce-extKeyUsage. */
  extKeyUsage: '2.5.29.37',
  /** id-ce-keyUsage. */
  keyUsage: '2.5.29.15',
} as const;

/** Bounds for untrusted DER: a time-stamp request is tiny, a token a few kilobytes. */
const LIMITS = { maxDepth: 32, maxNodes: 4096, maxContentLength: 64 * 1024 };

/**
 * Parse one DER value that must fill `der` exactly (trailing bytes would let two different byte
 * strings carry one token). asn1js reads BER; callers that need DER compare a re-encoding.
 */
export function parseDer(der: Uint8Array, what: string, code: SemperErrorCode): asn1js.AsnType {
  let parsed: asn1js.FromBerResult;
  try {
    parsed = asn1js.fromBER(der, LIMITS);
  } catch (e) {
    throw new SemperError(code, `X.690: ${what} is not DER (${e instanceof Error ? e.message : String(e)})`);
  }
  if (parsed.offset === -1 || parsed.result.error) throw new SemperError(code, `X.690: ${what} is not DER (${parsed.result.error || 'unreadable'})`);
  if (parsed.offset !== der.byteLength) throw new SemperError(code, `X.690: ${what} has ${der.byteLength - parsed.offset} trailing bytes`);
  return parsed.result;
}

/** A positive INTEGER in its minimal two's-complement form (a leading 0x00 only when the top bit is set). */
export function positiveInteger(value: bigint): asn1js.Integer {
  if (value <= 0n) throw new SemperError('ERR_SCHEMA', 'X.690: a serial number or nonce must be a positive INTEGER');
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return new asn1js.Integer({ valueHex: bytes });
}

/** Read an INTEGER that must be positive and minimally encoded (RFC 3161 §2.4.2 serials, nonces). */
export function readPositiveInteger(integer: asn1js.Integer, what: string, code: SemperErrorCode): bigint {
  const bytes = integer.valueBlock.valueHexView;
  if (bytes.length === 0) throw new SemperError(code, `X.690 §8.3: ${what} is an empty INTEGER`);
  if (bytes[0]! & 0x80) throw new SemperError(code, `${what} must be a positive INTEGER (it is negative)`);
  if (bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) throw new SemperError(code, `X.690 §8.3.2: ${what} is not minimally encoded`);
  const value = BigInt(`0x${toHex(bytes)}`);
  if (value === 0n) throw new SemperError(code, `${what} must be a positive INTEGER (it is zero)`);
  return value;
}

/**
 * An OBJECT IDENTIFIER's dotted form read from its encoding with bigints. asn1js 4 misreads arcs
 * above 2^53 (it prints them as "{hex}"), and the UUID arc 2.25 (X.667) has 128-bit arcs.
 */
export function readOid(oid: asn1js.ObjectIdentifier): string {
  const tlv = oid.valueBeforeDecodeView;
  const content = tlv.length ? tlv.subarray(tlv.length - oid.lenBlock.length) : new Uint8Array(oid.valueBlock.toBER(false));
  const arcs: bigint[] = [];
  let value = 0n;
  let pending = false;
  for (const byte of content) {
    if (!pending && byte === 0x80) throw new SemperError('ERR_SCHEMA', 'X.690 §8.19.2: OBJECT IDENTIFIER arc with a leading 0x80');
    value = (value << 7n) | BigInt(byte & 0x7f);
    pending = (byte & 0x80) !== 0;
    if (!pending) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (pending || arcs.length === 0) throw new SemperError('ERR_SCHEMA', 'X.690 §8.19: truncated OBJECT IDENTIFIER');
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The bytes of an ArrayBuffer-backed encoding, as a fresh Uint8Array. */
export function der(value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Uint8Array<ArrayBuffer> {
  return new Uint8Array(value.toBER(false));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * X.690 §11.6: the elements of a DER SET OF are in ascending order of their encodings. pkijs
 * writes signed attributes in insertion order, so a signer sorts them before encoding.
 */
export function sortSetOf<T>(values: readonly T[], encode: (value: T) => Uint8Array): T[] {
  return [...values]
    .map((v) => ({ v, d: encode(v) }))
    .sort((x, y) => compareBytes(x.d, y.d))
    .map((x) => x.v);
}

/** SHA-256 through WebCrypto. */
export async function sha256(data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(data)));
}

/** The ECDSA-Sig-Value of a WebCrypto signature, the form CMS SignerInfo.signature carries (RFC 5753 §7.2). */
export { ecdsaRawToDer } from '../crypto/ecdsa-der.js';
