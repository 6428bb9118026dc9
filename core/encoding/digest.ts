/**
 * SHA-256 digests (FIPS 180-4) and the digest of a canonical JSON value.
 *
 * In the browser (extension worker, pages) through WebCrypto. In Node, where WebCrypto's digest is a
 * hop to the thread pool and back (≈ 40 µs for a few hundred bytes, most of it dispatch), through
 * node:crypto's synchronous hash, found at run time with `process.getBuiltinModule` (Node ≥ 20.16):
 * nothing here imports a Node built-in, so core/ stays runtime-neutral. Both are the same function;
 * test/core/encoding checks them against each other and against FIPS 180-4 vectors.
 */
import { encodeBase64url } from './base64url.js';
import { canonicalJson, utf8 } from './canonical-json.js';

interface NodeHash {
  update(data: Uint8Array): NodeHash;
  digest(): Uint8Array;
}

type CreateHash = (algorithm: 'sha256') => NodeHash;
/** node:crypto's one-shot `hash` (Node ≥ 20.12): no Hash object per digest; a string is hashed as its UTF-8. */
interface OneShotHash {
  (algorithm: 'sha256', data: Uint8Array | string, outputEncoding: 'buffer'): Uint8Array;
  (algorithm: 'sha256', data: Uint8Array | string, outputEncoding: 'base64url'): string;
}

function nodeCrypto(): { createHash?: CreateHash; hash?: OneShotHash } | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return typeof proc?.getBuiltinModule === 'function'
    ? (proc.getBuiltinModule('node:crypto') as { createHash?: CreateHash; hash?: OneShotHash } | undefined)
    : undefined;
}

const nodeModule = nodeCrypto();
const createHash = typeof nodeModule?.createHash === 'function' ? nodeModule.createHash : null;
const oneShot = typeof nodeModule?.hash === 'function' ? nodeModule.hash : null;

/** SHA-256 without a thread hop, where the runtime has one (Node); null elsewhere (browsers: use sha256). */
export function sha256Sync(data: Uint8Array): Uint8Array<ArrayBuffer> | null {
  const d = oneShot ? oneShot('sha256', data, 'buffer') : createHash ? createHash('sha256').update(data).digest() : null;
  if (!d) return null;
  const out = new Uint8Array(32);
  out.set(d);
  return out;
}

/** base64url(SHA-256(bytes)) in one native call where the runtime hashes synchronously (Node); null elsewhere. */
export function sha256Base64urlSync(data: Uint8Array): string | null {
  if (oneShot) return oneShot('sha256', data, 'base64url');
  const d = sha256Sync(data);
  return d ? encodeBase64url(d) : null;
}

/** sha256TextBase64url at once where the runtime hashes synchronously (Node); null elsewhere. */
export function sha256TextBase64urlSync(text: string): string | null {
  return oneShot ? oneShot('sha256', text, 'base64url') : null;
}

/**
 * base64url(SHA-256(UTF-8 of a well-formed string)). In Node one native call on the string itself
 * (no encoded copy, no digest bytes in between); elsewhere TextEncoder and sha256.
 */
export async function sha256TextBase64url(text: string): Promise<string> {
  return sha256TextBase64urlSync(text) ?? encodeBase64url(await sha256(utf8(text)));
}

/** SHA-256 through WebCrypto only (the browsers' path; tests compare both paths). */
export async function sha256WebCrypto(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return sha256Sync(data) ?? sha256WebCrypto(data);
}

/** base64url(SHA-256(JCS(value))): how one statement or document names another. */
export async function digestJson(value: unknown): Promise<string> {
  return sha256TextBase64url(canonicalJson(value));
}

/** Constant-time equality for byte strings of public length (MACs, nonces, digests). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A fresh random value, base64url, `bytes` long before encoding (default 256 bits). */
export function randomId(bytes = 32): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(bytes)));
}
