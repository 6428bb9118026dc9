/**
 * Signers and verifiers over WebCrypto. Private keys are generated non-extractable: a Signer
 * holds a CryptoKey handle and nothing can read the key material out of it.
 *
 * In Node the same keys sign and verify through node:crypto's synchronous `sign`/`verify` (found at
 * run time with `process.getBuiltinModule`, like the digests in core/encoding/digest.ts): WebCrypto
 * there is a hop to the thread pool and back for every operation, which costs more than the P-256
 * arithmetic itself (measured: verify ≈ 125 µs → 67 µs, sign ≈ 100 µs → 31 µs). Both paths are the
 * same OpenSSL primitive on the same CryptoKey (`KeyObject.from` shares the handle, it exports
 * nothing); test/core/crypto/keys-node.test.ts checks them against each other, malformed signatures
 * included. Browsers keep WebCrypto.
 */
import { SemperError } from '../errors.js';
import { jwkThumbprint, type PublicJwk, toPublicJwk } from './jwk.js';

/** The part of node:crypto used here (typed locally: core/ imports no Node built-in). */
interface NodeKeyObject {
  readonly type: string;
}
interface NodeSignatureApi {
  KeyObject: { from(key: CryptoKey): NodeKeyObject };
  createPublicKey(input: { key: JsonWebKey; format: 'jwk' }): NodeKeyObject;
  sign(algorithm: string | null, data: Uint8Array, key: NodeKeyObject | { key: NodeKeyObject; dsaEncoding: 'ieee-p1363' }): Uint8Array;
  verify(algorithm: string | null, data: Uint8Array, key: NodeKeyObject | { key: NodeKeyObject; dsaEncoding: 'ieee-p1363' }, signature: Uint8Array): boolean;
}

function nodeSignatureApi(): NodeSignatureApi | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = typeof proc?.getBuiltinModule === 'function' ? (proc.getBuiltinModule('node:crypto') as Partial<NodeSignatureApi> | undefined) : undefined;
  return mod && typeof mod.sign === 'function' && typeof mod.verify === 'function' && typeof mod.createPublicKey === 'function' && mod.KeyObject
    ? (mod as NodeSignatureApi)
    : null;
}

const nodeApi = nodeSignatureApi();

/** Whether this runtime signs and verifies without the WebCrypto thread hop (Node). */
export const SYNC_SIGNATURES = nodeApi !== null;

function nodeKeyParam(alg: KeyAlgorithm, key: NodeKeyObject): NodeKeyObject | { key: NodeKeyObject; dsaEncoding: 'ieee-p1363' } {
  // ES256 signatures are IEEE P1363 r||s (RFC 7518 §3.4), as WebCrypto makes them; Node's default is DER.
  return alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
}

function nodeDigestName(alg: KeyAlgorithm): string | null {
  return alg === 'ES256' ? 'sha256' : null;
}

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
  /**
   * The same signature made at once, where the runtime signs synchronously (node:crypto; absent in
   * the browsers and for signers that wait on something): a statement signed in Node does not
   * suspend for it.
   */
  signSync?(data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
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
  // WebCrypto refuses to sign with a key not made for signing (an ECDH sealing key, a verify-only
  // key); node:crypto would not, so the same rule is checked here, once, for both paths.
  const expected = alg === 'ES256' ? 'ECDSA' : 'Ed25519';
  if (privateKey.algorithm.name !== expected || privateKey.type !== 'private' || !privateKey.usages.includes('sign')) {
    throw new SemperError(
      'ERR_KEY',
      `not an ${alg} signing key (${privateKey.algorithm.name} ${privateKey.type} key for ${privateKey.usages.join(', ') || 'nothing'})`,
    );
  }
  const nodeKey = nodeApi ? nodeApi.KeyObject.from(privateKey) : null;
  if (nodeApi && nodeKey) {
    const signSync = (data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => {
      const raw = nodeApi.sign(nodeDigestName(alg), data, nodeKeyParam(alg, nodeKey));
      const out = new Uint8Array(raw.length);
      out.set(raw);
      return out;
    };
    return { alg, publicJwk, keyId, signSync, sign: async (data) => signSync(data) };
  }
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

/**
 * Node key objects of the JWKs seen, by `x` (a fresh JSON string's hash is computed once, over 43
 * characters): the entry holds every member the key was made from and is used only when all of
 * them are equal, so two keys sharing `x` (a point and its negation) never stand for each other.
 * No JSON text of the members per verification (it cost ≈ 1 µs).
 */
interface NodeKeyEntry {
  kty: unknown;
  crv: unknown;
  y: unknown;
  key: NodeKeyObject;
}
const nodePublicKeys = new Map<unknown, NodeKeyEntry>();
const nodeKeysOfCryptoKeys = new WeakMap<CryptoKey, NodeKeyObject>();

function nodePublicKey(api: NodeSignatureApi, publicKey: PublicJwk | CryptoKey): NodeKeyObject {
  if (publicKey instanceof CryptoKey) {
    let k = nodeKeysOfCryptoKeys.get(publicKey);
    if (!k) {
      k = api.KeyObject.from(publicKey);
      nodeKeysOfCryptoKeys.set(publicKey, k);
    }
    return k;
  }
  // Each member read once: the entry and the key are made from the same values.
  const { kty, crv, x } = publicKey;
  const y = kty === 'EC' ? (publicKey as { y?: unknown }).y : undefined;
  const known = nodePublicKeys.get(x);
  if (known && known.kty === kty && known.crv === crv && known.y === y) return known.key;
  let key: NodeKeyObject;
  try {
    // Only the public members: a JWK with `d` would import as a private key.
    const jwk = (kty === 'EC' ? { kty, crv, x, y } : { kty, crv, x }) as JsonWebKey;
    key = api.createPublicKey({ key: jwk, format: 'jwk' });
  } catch (e) {
    throw new SemperError('ERR_KEY', `RFC 7517: public key does not import (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!known && nodePublicKeys.size >= IMPORT_CACHE_LIMIT) nodePublicKeys.delete(nodePublicKeys.keys().next().value);
  nodePublicKeys.set(x, { kty, crv, y, key });
  return key;
}

/**
 * verifyRaw's answer at once where the runtime verifies synchronously (node:crypto); null where it
 * does not (the browsers: use verifyRaw). Same outcomes: false for a wrong signature, throws for a wrong key.
 */
export function verifyRawSync(
  alg: KeyAlgorithm,
  publicKey: PublicJwk | CryptoKey,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): boolean | null {
  if (!nodeApi) return null;
  checkKeyAlgorithm(alg, publicKey);
  return nodeApi.verify(nodeDigestName(alg), data, nodeKeyParam(alg, nodePublicKey(nodeApi, publicKey)), signature);
}

/** Verify a raw signature made by a WebCrypto key. Returns false for a wrong signature, throws for a wrong key. */
export async function verifyRaw(
  alg: KeyAlgorithm,
  publicKey: PublicJwk | CryptoKey,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  // Same outcomes on both paths (false for any malformed signature; keys-node.test.ts).
  const answer = verifyRawSync(alg, publicKey, data, signature);
  if (answer !== null) return answer;
  checkKeyAlgorithm(alg, publicKey);
  return verifyWithWebCrypto(alg, publicKey, data, signature);
}

function checkKeyAlgorithm(alg: KeyAlgorithm, publicKey: PublicJwk | CryptoKey): void {
  if (!(publicKey instanceof CryptoKey) && algorithmOfJwk(publicKey) !== alg) {
    throw new SemperError('ERR_ALG_UNSUPPORTED', `signature names ${alg} but the key is ${algorithmOfJwk(publicKey)}`);
  }
}

/** verifyRaw through WebCrypto only (the browsers' path; tests compare both paths). */
export async function verifyRawWebCrypto(
  alg: KeyAlgorithm,
  publicKey: PublicJwk | CryptoKey,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  checkKeyAlgorithm(alg, publicKey);
  return verifyWithWebCrypto(alg, publicKey, data, signature);
}

async function verifyWithWebCrypto(
  alg: KeyAlgorithm,
  publicKey: PublicJwk | CryptoKey,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const key = publicKey instanceof CryptoKey ? publicKey : await importPublicJwk(publicKey);
  // No length checks of our own: WebCrypto's verify itself returns false for an ECDSA P-256
  // signature that is not 2 x 32 bytes and for an Ed25519 signature that is not 64 bytes.
  return crypto.subtle.verify(signParams(alg), key, signature, data);
}
