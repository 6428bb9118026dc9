/**
 * The device key: ECDSA P-256, generated non-extractable on first use and stored as a CryptoKeyPair
 * in IndexedDB. Orders are signed with it; only its public JWK and RFC 7638 key id ever leave.
 */
import { generateKeyPair, signerFromKeyPair, type Signer } from '../core/crypto/index.js';
import { db } from './db.js';

const DEVICE_KEY = 'device';
let signerPromise: Promise<Signer> | undefined;

async function loadOrCreate(): Promise<Signer> {
  const database = await db();
  let record = await database.get('keys', DEVICE_KEY);
  if (!record) {
    const pair = await generateKeyPair('ES256', false);
    try {
      // add(), not put(): if another context created the key meanwhile, keep theirs.
      await database.add('keys', { alg: 'ES256', pair, createdAt: Date.now() }, DEVICE_KEY);
    } catch {
      // fall through and read the winner
    }
    record = await database.get('keys', DEVICE_KEY);
    if (!record) throw new Error('device key could not be stored');
  }
  if (record.pair.privateKey.extractable) throw new Error('device key is extractable: refusing to use it');
  return signerFromKeyPair('ES256', record.pair);
}

export function deviceSigner(): Promise<Signer> {
  signerPromise ??= loadOrCreate().catch((e: unknown) => {
    signerPromise = undefined;
    throw e;
  });
  return signerPromise;
}
