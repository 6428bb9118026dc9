/**
 * RFC 8785 JSON Canonicalization Scheme, through the `canonicalize` package.
 * Only I-JSON values are accepted (RFC 8785 §3.1 / RFC 7493): no undefined, functions,
 * non-finite numbers or integers outside the IEEE-754 safe range, so every signer and verifier
 * computes the same bytes.
 */
import canonicalize from 'canonicalize';
import { SemperError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function assertIJson(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.3: ${path} is not a finite number`);
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        throw new SemperError('ERR_ENCODING', `RFC 7493 §2.2: ${path} is an integer outside the safe range`);
      }
      return;
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) assertIJson(v, `${path}[${i}]`);
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a plain JSON object`);
      }
      for (const [k, v] of Object.entries(value)) assertIJson(v, `${path}.${k}`);
      return;
    default:
      throw new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a JSON value (${typeof value})`);
  }
}

/** The canonical text of a JSON value. Throws ERR_ENCODING for anything that is not I-JSON. */
export function canonicalJson(value: unknown): string {
  assertIJson(value, '$');
  const text = canonicalize(value);
  if (text === undefined) throw new SemperError('ERR_ENCODING', 'RFC 8785: value has no canonical form');
  return text;
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** The canonical UTF-8 bytes of a JSON value: what every signature in Semper covers. */
export function canonicalBytes(value: unknown): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson(value));
}
