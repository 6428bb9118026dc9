/** Small helpers shared by the PKI modules: strict base64 (RFC 4648 §4) and serial numbers. */
import { decodeBase64url } from '../encoding/index.js';
import { SemperError, type SemperErrorCode } from '../errors.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decode canonical, padded base64 (RFC 4648 §4) as carried in statements and HTTP bodies. PEM,
 * hex and whitespace are refused: one DER object has one text form on the wire.
 */
export function decodeBase64Der(text: unknown, what: string, code: SemperErrorCode, maxBytes = 16 * 1024): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string' || text.length === 0 || !BASE64.test(text)) {
    throw new SemperError(code, `RFC 4648 §4: ${what} must be padded base64 of DER`);
  }
  if ((text.length / 4) * 3 > maxBytes + 2) throw new SemperError(code, `${what} is larger than ${maxBytes} bytes`);
  try {
    return decodeBase64url(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  } catch {
    throw new SemperError(code, `RFC 4648 §3.5: ${what} is non-canonical base64`);
  }
}

/**
 * A certificate serial number (RFC 5280 §4.1.2.2, a positive INTEGER) as Semper compares it:
 * lower-case hex without leading zeros. @peculiar/x509 already strips a sign octet; this also
 * makes "00ab" and "AB" the same serial.
 */
export function canonicalSerial(serial: string): string {
  const hex = serial.toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new SemperError('ERR_SCHEMA', `certificate serial must be hex, not ${JSON.stringify(serial)}`);
  return hex.replace(/^0+(?=.)/, '');
}
