/**
 * Sealing a secret to one party (RFC 9180 HPKE, base mode): DHKEM(P-256, HKDF-SHA256),
 * HKDF-SHA256, AES-128-GCM — via @hpke/core, which runs on WebCrypto in the browser and in Node.
 *
 * Semper seals one thing today: the key of goods sold in a fair purchase, sealed by the merchant
 * to the TTP, so the TTP can release it when the shopper complains with a verified payment (the
 * goods become *generatable*, paper §3.4). The sealed box is bound to its use by the AAD (the deal,
 * the sealer's key id and the digest of the sealed secret, core/items `sealedAad`): a box cannot be
 * moved into another deal, nor into an exchange someone else stages around it.
 *
 * Wire form: `<base64url enc>.<base64url ciphertext>` (enc: the 65-byte uncompressed ephemeral
 * public key). A sealing key is an ECDH P-256 key of its own — never the party's signing key.
 */
import { Aes128Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';
import { SemperError } from '../errors.js';
import { decodeBase64url, encodeBase64url, utf8 } from '../encoding/index.js';
import { jwkThumbprint, type PublicJwk } from './jwk.js';

/** The one suite (RFC 9180 ids: KEM 0x0010, KDF 0x0001, AEAD 0x0001). */
export const SEAL_SUITE = 'HPKE-Base-P256-SHA256-AES128GCM' as const;
const INFO = utf8('semper.seal.v1');
/** The largest secret a box carries (a goods key is 32 bytes; room for a few keys). */
export const MAX_SEALED_BYTES = 1024;
const BOX = /^[A-Za-z0-9_-]{87}\.[A-Za-z0-9_-]{22,1400}$/;

let suite: CipherSuite | undefined;
function hpke(): CipherSuite {
  suite ??= new CipherSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  return suite;
}

/** A fresh sealing key pair; the private key is not extractable. */
export async function generateSealingKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
}

/** The public JWK of a sealing key (what a party announces) and its RFC 7638 thumbprint. */
export async function sealingPublicJwk(publicKey: CryptoKey): Promise<{ jwk: PublicJwk; keyId: string }> {
  const full = await crypto.subtle.exportKey('jwk', publicKey);
  const jwk = { kty: 'EC', crv: 'P-256', x: full.x, y: full.y } as PublicJwk;
  return { jwk, keyId: await jwkThumbprint(jwk) };
}

async function importRecipient(jwk: PublicJwk): Promise<CryptoKey> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256')
    throw new SemperError('ERR_KEY', `a sealing key is ECDH P-256 (${SEAL_SUITE}), not ${jwk.kty}/${jwk.crv ?? '?'}`);
  try {
    return await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, { name: 'ECDH', namedCurve: 'P-256' }, true, []);
  } catch {
    throw new SemperError('ERR_KEY', 'the sealing key is not a point on P-256');
  }
}

/** Seal `secret` to the holder of `recipient` (RFC 9180 SealBase), bound to `aad`. */
export async function seal(recipient: PublicJwk, secret: Uint8Array, aad: Uint8Array): Promise<string> {
  if (secret.byteLength === 0 || secret.byteLength > MAX_SEALED_BYTES) throw new SemperError('ERR_SCHEMA', `a sealed secret is 1..${MAX_SEALED_BYTES} bytes`);
  const { enc, ct } = await hpke().seal({ recipientPublicKey: await importRecipient(recipient), info: INFO }, secret, aad);
  return `${encodeBase64url(new Uint8Array(enc))}.${encodeBase64url(new Uint8Array(ct))}`;
}

/** Is this string shaped like a sealed box (before anyone tries to open it)? */
export function isSealedBox(box: string): boolean {
  return BOX.test(box);
}

/**
 * Open a box sealed to `recipient` (RFC 9180 OpenBase). A box that is malformed, sealed to
 * another key, or bound to another `aad` is refused with ERR_KEY naming which.
 */
export async function openSealed(recipient: CryptoKeyPair, box: string, aad: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (!isSealedBox(box)) throw new SemperError('ERR_ENCODING', `a sealed box is <enc>.<ciphertext> in base64url (${SEAL_SUITE})`);
  const [enc, ct] = box.split('.') as [string, string];
  try {
    const pt = await hpke().open({ recipientKey: recipient, enc: decodeBase64url(enc).slice().buffer, info: INFO }, decodeBase64url(ct).slice().buffer, aad);
    return new Uint8Array(pt) as Uint8Array<ArrayBuffer>;
  } catch {
    throw new SemperError('ERR_KEY', `the box does not open (${SEAL_SUITE}): sealed to another key, for another use, or altered`);
  }
}
