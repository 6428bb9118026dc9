/**
 * Signers and verifiers over WebCrypto. Private keys are generated non-extractable: a Signer
 * holds a CryptoKey handle and nothing can read the key material out of it.
 */
import { SemperError } from '../errors.js';
import { jwkThumbprint, type PublicJwk, toPublicJwk } from './jwk.js';

/** Algorithms of keys held in WebCrypto (JWA names, RFC 7518 §3.1, RFC 8037 §3.1). */
export type KeyAlgorithm = 'ES256' | 'EdDSA';
/** Algorithms a statement signature may name; `webauthn-ES256` is a WebAuthn assertion over the statement. */
export type SignatureAlgorithm = KeyAlgorithm | 'webauthn-ES256';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ES256', 'EdDSA'];

export interface Signer {
  readonly alg: KeyAlgorithm;
  readonly publicJwk: PublicJwk;
  /** RFC 7638 thumbprint of publicJwk. */
  readonly keyId: string;
  sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
}

function generateParams(alg: KeyAlgorithm): EcKeyGenParams | Algorithm {
  return alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' };
}

function signParams(alg: KeyAlgorithm): EcdsaParams | Algorithm {
  // ES256 is ECDSA with SHA-256 and the IEEE P1363 r||s encoding WebCrypto produces (RFC 7518 §3.4).
  return alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
}

export function algorithmOfJwk(jwk: PublicJwk): KeyAlgorithm {
  return jwk.kty === 'EC' ? 'ES256' : 'EdDSA';
}

/** A fresh key pair; the private key is non-extractable unless a caller says otherwise (tests, CA files). */
export async function generateKeyPair(alg: KeyAlgorithm, extractable = false): Promise<CryptoKeyPair> {
  const pair = (await crypto.subtle.generateKey(generateParams(alg), extractable, ['sign', 'verify'])) as CryptoKeyPair;
  return pair;
}

export async function exportPublicJwk(publicKey: CryptoKey): Promise<PublicJwk> {
  return toPublicJwk(await crypto.subtle.exportKey('jwk', publicKey));
}

export async function signerFromKeyPair(alg: KeyAlgorithm, pair: CryptoKeyPair): Promise<Signer> {
  const publicJwk = await exportPublicJwk(pair.publicKey);
  if (algorithmOfJwk(publicJwk) !== alg) throw new SemperError('ERR_KEY', `key pair is not an ${alg} key`);
  const keyId = await jwkThumbprint(publicJwk);
  const privateKey = pair.privateKey;
  return {
    alg,
    publicJwk,
    keyId,
    async sign(data) {
      return new Uint8Array(await crypto.subtle.sign(signParams(alg), privateKey, data));
    },
  };
}

// Importing a JWK costs about as much as a verification; verifiers see the same few keys
// (merchants, CA, TTP) again and again, so keep a small cache keyed by the JWK's text.
const importedKeys = new Map<string, Promise<CryptoKey>>();
const IMPORT_CACHE_LIMIT = 256;

export function importPublicJwk(jwk: PublicJwk): Promise<CryptoKey> {
  const cacheKey = JSON.stringify([jwk.kty, jwk.crv, jwk.x, 'y' in jwk ? jwk.y : '']);
  let key = importedKeys.get(cacheKey);
  if (!key) {
    const alg = algorithmOfJwk(jwk);
    key = crypto.subtle.importKey('jwk', { ...jwk, ext: true }, generateParams(alg), true, ['verify']).catch((e: unknown) => {
      importedKeys.delete(cacheKey);
      throw new SemperError('ERR_KEY', `RFC 7517: public key does not import (${e instanceof Error ? e.message : String(e)})`);
    });
    if (importedKeys.size >= IMPORT_CACHE_LIMIT) importedKeys.delete(importedKeys.keys().next().value!);
    importedKeys.set(cacheKey, key);
  }
  return key;
}

/** Verify a raw signature made by a WebCrypto key. Returns false for a wrong signature, throws for a wrong key. */
export async function verifyRaw(
  alg: KeyAlgorithm,
  publicKey: PublicJwk | CryptoKey,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  if (!(publicKey instanceof CryptoKey) && algorithmOfJwk(publicKey) !== alg) {
    throw new SemperError('ERR_ALG_UNSUPPORTED', `signature names ${alg} but the key is ${algorithmOfJwk(publicKey)}`);
  }
  const key = publicKey instanceof CryptoKey ? publicKey : await importPublicJwk(publicKey);
  // No length checks of our own: WebCrypto's verify itself returns false for an ECDSA P-256
  // signature that is not 2 x 32 bytes and for an Ed25519 signature that is not 64 bytes.
  return crypto.subtle.verify(signParams(alg), key, signature, data);
}
