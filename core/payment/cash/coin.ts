/**
 * Coins: Chaumian e-cash with RFC 9474 blind RSA (RSABSSA-SHA384-PSS-Randomized, through
 * @cloudflare/blindrsa-ts on the wallet's side).
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
 * Withdrawal (prepareCoin → bank blind-signs → finalizeCoin): the bank only ever sees the
 * blinded message and returns the blind signature; `finalize` unblinds and checks the result
 * against the denomination key (RFC 9474 §4.4) before the coin is kept. Blinding draws its own
 * randomness (blindrsa-ts calls crypto.getRandomValues for r and the prefix): that is why
 * prepareCoin runs in the host, outside any machine step, and its result comes into the wallet
 * machine in an event (wallet.ts) — a seeded source must never choose a blinding factor.
 */
import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { z } from '../../zod.js';
import { EcPublicJwk, jwkThumbprint, toPublicJwk } from '../../crypto/jwk.js';

type EcJwk = z.infer<typeof EcPublicJwk>;
import { decodeBase64url, encodeBase64url, utf8 } from '../../encoding/index.js';
import { SemperError } from '../../errors.js';
import { Digest } from '../../items/schema.js';
import type { VerifiedDenomination } from './denominations.js';

/** RSABSSA-SHA384-PSS-Randomized (RFC 9474 §5: the recommended variant). */
export const CASH_SUITE = RSABSSA.SHA384.PSS.Randomized();
/** Bytes of the Randomized prepare's prefix. */
export const PREFIX_BYTES = 32;
/** RSA-2048 signatures and blinded messages: 256 bytes, 342 base64url characters. */
const RSA_BYTES_B64U = 342;

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
  /** RFC 9474 inverse of the blinding factor: never leaves the wallet. */
  inv: string;
  /** What the bank signs. */
  blindedMsg: string;
}

export function coinMessage(denominationId: string, coinId: string): Uint8Array<ArrayBuffer> {
  return utf8(`semper.cash.coin.v1.${denominationId}.${coinId}`);
}

function signedMessage(prefix: Uint8Array, denominationId: string, coinId: string): Uint8Array<ArrayBuffer> {
  const msg = coinMessage(denominationId, coinId);
  const out = new Uint8Array(prefix.length + msg.length);
  out.set(prefix, 0);
  out.set(msg, prefix.length);
  return out;
}

/** A fresh coin key and its blinded message for `denomination` (real randomness: host side only). */
export async function prepareCoin(denomination: VerifiedDenomination): Promise<CoinSecret> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const publicJwk = toPublicJwk(await crypto.subtle.exportKey('jwk', pair.publicKey)) as EcJwk;
  const coinId = await jwkThumbprint(publicJwk);
  const prepared = CASH_SUITE.prepare(coinMessage(denomination.id, coinId));
  const prefix = prepared.slice(0, PREFIX_BYTES);
  const { blindedMsg, inv } = await CASH_SUITE.blind(denomination.publicKey, prepared);
  return {
    denominationId: denomination.id,
    coinId,
    publicJwk,
    privateJwk: { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y, d: privateJwk.d },
    prefix: encodeBase64url(prefix),
    inv: encodeBase64url(inv),
    blindedMsg: encodeBase64url(blindedMsg),
  } as CoinSecret;
}

/** Unblind the bank's answer and check it (RFC 9474 §4.4): a signature that does not verify is ERR_SIGNATURE_INVALID. */
export async function finalizeCoin(secret: CoinSecret, blindSignature: string, denomination: VerifiedDenomination): Promise<Coin> {
  if (denomination.id !== secret.denominationId) throw new SemperError('ERR_DENOMINATION', 'blind signature for another denomination');
  let signature: Uint8Array;
  try {
    signature = await CASH_SUITE.finalize(
      denomination.publicKey,
      signedMessage(decodeBase64url(secret.prefix), secret.denominationId, secret.coinId),
      decodeBase64url(blindSignature),
      decodeBase64url(secret.inv),
    );
  } catch (e) {
    throw new SemperError(
      'ERR_SIGNATURE_INVALID',
      `RFC 9474 §4.4: the bank's blind signature does not finalize (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return { denominationId: secret.denominationId, publicJwk: secret.publicJwk, prefix: secret.prefix, signature: encodeBase64url(signature) };
}

/** The coin's id: its key's thumbprint (what the bank's spent-coins table is unique on). */
export function coinIdOf(coin: Coin): Promise<string> {
  return jwkThumbprint(coin.publicJwk);
}

/** Does the bank's signature on `coin` verify under `denomination`? (RSASSA-PSS, SHA-384, salt 48.) `coinId` if already computed. */
export async function verifyCoin(coin: Coin, denomination: VerifiedDenomination, coinId?: string): Promise<boolean> {
  if (coin.denominationId !== denomination.id) return false;
  const message = signedMessage(decodeBase64url(coin.prefix), coin.denominationId, coinId ?? (await coinIdOf(coin)));
  return CASH_SUITE.verify(denomination.publicKey, decodeBase64url(coin.signature), message);
}

/** A signer for the coin's key (imported non-extractable for the signature). */
export async function coinSigningKey(privateJwk: JsonWebKey): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey('jwk', { ...privateJwk, ext: false }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  } catch (e) {
    throw new SemperError('ERR_KEY', `coin key does not import (${e instanceof Error ? e.message : String(e)})`);
  }
}
