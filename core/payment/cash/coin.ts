/**
 * Coins: Chaumian e-cash with RFC 9474 blind RSA (RSABSSA-SHA384-PSS-Randomized).
 *
 * A coin is its own ES256 key pair (WebCrypto, P-256) plus the bank's RSA signature, by the
 * denomination's key, over the coin's message:
 *
 *   message  = UTF-8 "semper.cash.coin.v1." || denominationId || "." || coinId
 *   coinId   = RFC 7638 thumbprint of the coin's public JWK
 *   signed   = prefix (32 random bytes, RFC 9474 §4.1 "Randomized" prepare) || message
 *
 * Choice: the thumbprint rather than the JWK bytes, because it is already every key's id in
 * Semper (the spent-coins table's unique key, the spend's signer) and fixed-length; the
 * denomination id is in the message too, so a signature by one key can never be presented as a
 * coin of another denomination even if the bank reused a key. The prefix travels with the coin
 * (the verifier needs the prepared message); it is the wallet's randomness, not the bank's.
 *
 * This module is what every party needs of a coin and carries no blind-RSA arithmetic: a coin's
 * signature is plain RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48), checked with WebCrypto, which is
 * what RFC 9474 §4.5 verification is. Blinding and unblinding (blind.ts, @cloudflare/blindrsa-ts)
 * are the wallet's alone, and the extension runs them outside its worker's start bundle (issue 13:
 * extension/offscreen tasks).
 */
import { z } from '../../zod.js';
import { EcPublicJwk, jwkThumbprint, toPublicJwk } from '../../crypto/jwk.js';

type EcJwk = z.infer<typeof EcPublicJwk>;
import { decodeBase64url, utf8 } from '../../encoding/index.js';
import { SemperError } from '../../errors.js';
import { Digest } from '../../items/schema.js';
import type { VerifiedDenomination } from './denominations.js';

/** Bytes of the Randomized prepare's prefix. */
export const PREFIX_BYTES = 32;
/** RSABSSA-SHA384-PSS's salt: the hash's length (RFC 9474 §5). */
export const PSS_SALT_BYTES = 48;
/** RSA-2048 signatures and blinded messages: 256 bytes, 342 base64url characters. */
export const RSA_BYTES_B64U = 342;

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));

export const Coin = z.strictObject({
  denominationId: Digest,
  publicJwk: EcPublicJwk,
  prefix: b64u.check(z.length(43)),
  signature: b64u.check(z.length(RSA_BYTES_B64U)),
});
export type Coin = z.infer<typeof Coin>;

/** What a wallet keeps between blinding and the bank's answer (all JSON: it is machine state). */
export interface CoinSecret {
  denominationId: string;
  coinId: string;
  publicJwk: EcJwk;
  /** The coin's private key (JWK with `d`): the coin is a bearer instrument, whoever holds this can spend it. */
  privateJwk: JsonWebKey;
  prefix: string;
  /** RFC 9474 inverse of the blinding factor: never leaves the extension (whoever holds it and the blinded message can link the coin). */
  inv: string;
  /** What the bank signs. */
  blindedMsg: string;
}

export function coinMessage(denominationId: string, coinId: string): Uint8Array<ArrayBuffer> {
  return utf8(`semper.cash.coin.v1.${denominationId}.${coinId}`);
}

/** What the bank's signature is over: the prefix, then the coin's message. */
export function signedMessage(prefix: Uint8Array, denominationId: string, coinId: string): Uint8Array<ArrayBuffer> {
  const msg = coinMessage(denominationId, coinId);
  const out = new Uint8Array(prefix.length + msg.length);
  out.set(prefix, 0);
  out.set(msg, prefix.length);
  return out;
}

/** A coin's own key (real randomness: host side only); `coinId` is its thumbprint. */
export interface CoinKey {
  coinId: string;
  publicJwk: EcJwk;
  /** JWK with `d`. */
  privateJwk: JsonWebKey;
}

/** A fresh coin key (WebCrypto P-256): the wallet's, never sent anywhere. */
export async function newCoinKey(): Promise<CoinKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const publicJwk = toPublicJwk(await crypto.subtle.exportKey('jwk', pair.publicKey)) as EcJwk;
  return {
    coinId: await jwkThumbprint(publicJwk),
    publicJwk,
    privateJwk: { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y, d: privateJwk.d } as JsonWebKey,
  };
}

/** The coin's id: its key's thumbprint (what the bank's spent-coins table is unique on). */
export function coinIdOf(coin: Coin): Promise<string> {
  return jwkThumbprint(coin.publicJwk);
}

/** Does the bank's signature on `coin` verify under `denomination`? (RSASSA-PSS, SHA-384, salt 48.) `coinId` if already computed. */
export async function verifyCoin(coin: Coin, denomination: VerifiedDenomination, coinId?: string): Promise<boolean> {
  if (coin.denominationId !== denomination.id) return false;
  const message = signedMessage(decodeBase64url(coin.prefix), coin.denominationId, coinId ?? (await coinIdOf(coin)));
  return crypto.subtle.verify({ name: 'RSA-PSS', saltLength: PSS_SALT_BYTES }, denomination.publicKey, decodeBase64url(coin.signature), message);
}

/** A signer for the coin's key (imported non-extractable for the signature). */
export async function coinSigningKey(privateJwk: JsonWebKey): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey('jwk', { ...privateJwk, ext: false }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  } catch (e) {
    throw new SemperError('ERR_KEY', `coin key does not import (${e instanceof Error ? e.message : String(e)})`);
  }
}
