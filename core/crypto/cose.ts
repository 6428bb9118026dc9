/**
 * COSE_Key (RFC 9052 §7) for the one key type WebAuthn statements use: an EC2 key on P-256 for
 * ES256 (RFC 9053 §2.1, §7.1.1). WebAuthn carries credential public keys in this form
 * (WebAuthn L3 §6.5.1.1); Semper statements carry them as JWKs, so here are both directions.
 *
 * The encoder writes the CTAP2 canonical form an authenticator writes (map keys 1, 3, -1, -2, -3
 * in that order, RFC 8949 §4.2.1 / CTAP 2.1 §8 "CTAP2 canonical CBOR encoding form").
 */
import { isoCBOR } from '@simplewebauthn/server/helpers';
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
 * The JWK of a COSE_Key, which must be exactly an EC2 / ES256 / P-256 key: kty 2, alg -7, crv 1,
 * 32-byte x and y, and no other parameters. (Whether the point is on the curve is checked when
 * the JWK is imported.)
 */
export function coseToJwk(cose: Uint8Array): PublicJwk {
  let decoded: unknown;
  try {
    decoded = isoCBOR.decodeFirst<unknown>(new Uint8Array(cose));
  } catch (e) {
    throw new SemperError('ERR_KEY', `RFC 9052 §7: COSE_Key is not CBOR (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!(decoded instanceof Map)) throw new SemperError('ERR_KEY', 'RFC 9052 §7: COSE_Key is not a CBOR map');
  const map = decoded as Map<unknown, unknown>;
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
