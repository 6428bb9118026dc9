/**
 * COSE_Key (RFC 9052 §7) for the one key type WebAuthn statements use: an EC2 key on P-256 for
 * ES256 (RFC 9053 §2.1, §7.1.1). WebAuthn carries credential public keys in this form
 * (WebAuthn L3 §6.5.1.1); Semper statements carry them as JWKs, so here are both directions.
 *
 * The encoder writes the CTAP2 canonical form an authenticator writes (map keys 1, 3, -1, -2, -3
 * in that order, RFC 8949 §4.2.1 / CTAP 2.1 §8 "CTAP2 canonical CBOR encoding form"). The decoder
 * reads only what a COSE_Key of that kind is made of (decodeCoseKeyMap): @simplewebauthn/server's
 * CBOR helper came with the library's whole helper set, which the extension's service worker would
 * parse on every start (issue 13).
 */
import { decodeBase64url, encodeBase64url } from '../encoding/index.js';
import { SemperError } from '../errors.js';
import { EcPublicJwk, type PublicJwk } from './jwk.js';

/** COSE labels and values (IANA "COSE Key Common Parameters", "COSE Key Type Parameters"). */
export const COSE_KEY = { kty: 1, alg: 3, crv: -1, x: -2, y: -3 } as const;
export const COSE_KTY_EC2 = 2;
export const COSE_ALG_ES256 = -7;
export const COSE_CRV_P256 = 1;

const COORDINATE = 32;

/**
 * The COSE_Key of a P-256 public JWK:
 *   A5 01 02 03 26 20 01 21 58 20 <x> 22 58 20 <y>
 *   {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
 */
export function jwkToCose(jwk: PublicJwk): Uint8Array<ArrayBuffer> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
    throw new SemperError('ERR_KEY', 'RFC 9053 §7.1.1: only EC2 P-256 (ES256) keys have a COSE form here');
  }
  const x = decodeBase64url(jwk.x);
  const y = decodeBase64url(jwk.y);
  if (x.length !== COORDINATE || y.length !== COORDINATE) {
    throw new SemperError('ERR_KEY', 'RFC 7518 §6.2.1.2: P-256 coordinates are 32 bytes');
  }
  const out = new Uint8Array(10 + COORDINATE + 3 + COORDINATE);
  out.set([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, COORDINATE], 0);
  out.set(x, 10);
  out.set([0x22, 0x58, COORDINATE], 10 + COORDINATE);
  out.set(y, 13 + COORDINATE);
  return out;
}

/**
 * A COSE_Key's CBOR (RFC 8949 §3) as WebAuthn carries it: one definite-length map whose labels are
 * integers and whose values are integers or byte strings, which is all an EC2 key has; nothing
 * after it. Anything else — text, arrays, tags, floats, indefinite lengths, 64-bit arguments, a
 * label twice, trailing bytes — is refused (Error); the caller then checks the parameters.
 */
export function decodeCoseKeyMap(bytes: Uint8Array): Map<number, number | Uint8Array> {
  let at = 0;
  const head = (): [major: number, argument: number] => {
    if (at >= bytes.length) throw new Error('truncated');
    const initial = bytes[at++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info < 24) return [major, info];
    const length = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
    if (length === 0) throw new Error(`additional information ${info} is not used in a COSE_Key`);
    if (at + length > bytes.length) throw new Error('truncated');
    let argument = 0;
    for (let i = 0; i < length; i++) argument = argument * 256 + bytes[at++]!;
    return [major, argument];
  };
  const integer = (major: number, argument: number): number | undefined => (major === 0 ? argument : major === 1 ? -1 - argument : undefined);
  const [major, entries] = head();
  if (major !== 5) throw new Error('not a map');
  const map = new Map<number, number | Uint8Array>();
  for (let i = 0; i < entries; i++) {
    const label = integer(...head());
    if (label === undefined) throw new Error('a label that is not an integer');
    if (map.has(label)) throw new Error(`label ${label} twice`);
    const [valueMajor, argument] = head();
    const value = integer(valueMajor, argument);
    if (value !== undefined) map.set(label, value);
    else if (valueMajor === 2) {
      if (at + argument > bytes.length) throw new Error('truncated');
      map.set(label, bytes.slice(at, at + argument));
      at += argument;
    } else throw new Error(`major type ${valueMajor} is not used in an EC2 COSE_Key`);
  }
  if (at !== bytes.length) throw new Error('bytes after the map');
  return map;
}

/**
 * The JWK of a COSE_Key, which must be exactly an EC2 / ES256 / P-256 key: kty 2, alg -7, crv 1,
 * 32-byte x and y, and no other parameters. (Whether the point is on the curve is checked when
 * the JWK is imported.)
 */
export function coseToJwk(cose: Uint8Array): PublicJwk {
  let map: Map<unknown, unknown>;
  try {
    map = decodeCoseKeyMap(cose);
  } catch (e) {
    throw new SemperError('ERR_KEY', `RFC 9052 §7: COSE_Key is not a CBOR map of an EC2 key (${e instanceof Error ? e.message : String(e)})`);
  }
  const allowed = new Set<unknown>(Object.values(COSE_KEY));
  for (const label of map.keys()) {
    if (!allowed.has(label)) throw new SemperError('ERR_KEY', `RFC 9053 §7.1.1: unexpected COSE_Key parameter ${String(label)} for an EC2 P-256 key`);
  }
  if (map.get(COSE_KEY.kty) !== COSE_KTY_EC2) throw new SemperError('ERR_KEY', 'RFC 9053 §7.1.1: COSE_Key kty must be 2 (EC2)');
  if (map.get(COSE_KEY.alg) !== COSE_ALG_ES256) throw new SemperError('ERR_KEY', 'RFC 9053 §2.1: COSE_Key alg must be -7 (ES256)');
  if (map.get(COSE_KEY.crv) !== COSE_CRV_P256) throw new SemperError('ERR_KEY', 'RFC 9053 §7.1.1: COSE_Key crv must be 1 (P-256)');
  const x = map.get(COSE_KEY.x);
  const y = map.get(COSE_KEY.y);
  if (!(x instanceof Uint8Array) || x.length !== COORDINATE || !(y instanceof Uint8Array) || y.length !== COORDINATE) {
    throw new SemperError('ERR_KEY', 'RFC 9053 §7.1.1: COSE_Key x and y must be 32-byte strings for P-256');
  }
  return EcPublicJwk.parse({ kty: 'EC', crv: 'P-256', x: encodeBase64url(x), y: encodeBase64url(y) });
}
