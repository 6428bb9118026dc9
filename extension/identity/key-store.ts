/**
 * The shopper's key store: several non-extractable ES256 key pairs, each with a purpose and a
 * life cycle. The logic here is independent of IndexedDB (the records sit behind `KeyRecords`),
 * so it runs unchanged in Node tests with `MemoryKeyRecords`; worker/store.ts is the IndexedDB
 * backend the service worker uses.
 *
 * - `identity`: the shopper's device identity. Exactly one is active; it signs orders (unless the
 *   deal is anonymous) and is the key the CA certifies. Rotation makes a new one and marks the old
 *   one `rotated` (kept: archived statements name it); revocation at the CA marks it `revoked`.
 * - `pseudonym`: one per merchant origin (the origin as the browser reported it), made on the first
 *   anonymous deal with that origin and reused for it, never for another origin.
 * - `order-signing`: reserved for a separate order key (not made by default: orders are signed by
 *   the identity key or a pseudonym).
 *
 * Private keys are generated with `extractable: false` and stored as CryptoKey objects: structured
 * clone keeps them non-extractable, and a key found extractable is refused.
 */
import { SemperError } from '../../core/errors.js';
import { exportPublicJwk, generateKeyPair, jwkThumbprint, signerFromKeyPair, type PublicJwk, type Signer } from '../../core/crypto/index.js';

/** 'account': the key a bank account is bound to (one per purse: extension/wallet), never used for anything else. */
export type KeyPurpose = 'identity' | 'order-signing' | 'pseudonym' | 'account';
export type KeyStatus = 'active' | 'rotated' | 'revoked';

export const KEY_PURPOSES: readonly KeyPurpose[] = ['identity', 'order-signing', 'pseudonym', 'account'];

/** A certificate the CA issued for a key (shopper registration). */
export interface KeyCertificate {
  /** The leaf, base64 DER. */
  certificate: string;
  /** Issuer certificates the CA returned (base64 DER, leaf's issuer first; may be empty). */
  chain: string[];
  /** The certified name (the CA's records, not what the shopper typed). */
  name: string;
  /** Lower-case hex serial. */
  serial: string;
  notAfter: string;
  /** The CA's base URL it was obtained from (where revocation goes). */
  caUrl: string;
  issuedAt: number;
  /** The chain validated against the shopper's trusted roots when it was stored. */
  trusted: boolean;
}

export interface StoredKey {
  /** RFC 7638 thumbprint of publicJwk. */
  keyId: string;
  purpose: KeyPurpose;
  alg: 'ES256';
  pair: CryptoKeyPair;
  publicJwk: PublicJwk;
  createdAt: number;
  status: KeyStatus;
  /** When the status last changed (rotation, revocation). */
  statusAt?: number;
  /** Pseudonyms: the merchant origin this key is used for, and only for. */
  origin?: string;
  certificate?: KeyCertificate;
  /** Revocation at the CA: reason and when the CA accepted it. */
  revocation?: { reason: string; at: number };
  /** The key came from the first release's device key ('semper'.keys['device'] in IndexedDB version 1). */
  migrated?: boolean;
}

/** Storage of key records (IndexedDB in the worker, a Map in tests). */
export interface KeyRecords {
  list(): Promise<StoredKey[]>;
  get(keyId: string): Promise<StoredKey | undefined>;
  /** Insert; false if a record with this keyId exists. */
  add(key: StoredKey): Promise<boolean>;
  /** Write several records in one transaction. */
  putAll(keys: StoredKey[]): Promise<void>;
}

export class MemoryKeyRecords implements KeyRecords {
  readonly keys = new Map<string, StoredKey>();
  async list() {
    return [...this.keys.values()].map((k) => ({ ...k }));
  }
  async get(keyId: string) {
    const k = this.keys.get(keyId);
    return k ? { ...k } : undefined;
  }
  async add(key: StoredKey) {
    if (this.keys.has(key.keyId)) return false;
    this.keys.set(key.keyId, { ...key });
    return true;
  }
  async putAll(keys: StoredKey[]) {
    for (const k of keys) this.keys.set(k.keyId, { ...k });
  }
}

/** The public facts about a key (what the popup lists and the operation API returns). */
export interface KeySummary {
  keyId: string;
  purpose: KeyPurpose;
  status: KeyStatus;
  createdAt: string;
  statusAt?: string;
  origin?: string;
  publicJwk: PublicJwk;
  certificate?: { name: string; serial: string; notAfter: string; caUrl: string; trusted: boolean };
  revocation?: { reason: string; at: string };
}

export function summariseKey(k: StoredKey): KeySummary {
  return {
    keyId: k.keyId,
    purpose: k.purpose,
    status: k.status,
    createdAt: new Date(k.createdAt).toISOString(),
    ...(k.statusAt !== undefined ? { statusAt: new Date(k.statusAt).toISOString() } : {}),
    ...(k.origin ? { origin: k.origin } : {}),
    publicJwk: k.publicJwk,
    ...(k.certificate
      ? {
          certificate: {
            name: k.certificate.name,
            serial: k.certificate.serial,
            notAfter: k.certificate.notAfter,
            caUrl: k.certificate.caUrl,
            trusted: k.certificate.trusted,
          },
        }
      : {}),
    ...(k.revocation ? { revocation: { reason: k.revocation.reason, at: new Date(k.revocation.at).toISOString() } } : {}),
  };
}

export interface KeyStoreDeps {
  records: KeyRecords;
  now(): number;
  /** A fresh non-extractable ES256 pair (injectable for tests). */
  generate?(): Promise<CryptoKeyPair>;
  /** The legacy device key, if one exists: it becomes the identity key on first use. */
  legacyDeviceKey?(): Promise<{ pair: CryptoKeyPair; createdAt: number } | undefined>;
  /** Called once the legacy key is safely in the key store (the backend may then drop it). */
  legacyMigrated?(): Promise<void>;
}

export class KeyStore {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly signers = new Map<string, Promise<Signer>>();

  constructor(private readonly deps: KeyStoreDeps) {}

  /** Key-store changes run one at a time (two callers must not both create "the" identity). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async make(purpose: KeyPurpose, extra: Partial<StoredKey> = {}, pair?: CryptoKeyPair, createdAt?: number): Promise<StoredKey> {
    const keys = pair ?? (this.deps.generate ? await this.deps.generate() : await generateKeyPair('ES256', false));
    if (keys.privateKey.extractable) throw new SemperError('ERR_KEY', 'refusing an extractable private key');
    const publicJwk = await exportPublicJwk(keys.publicKey);
    return {
      keyId: await jwkThumbprint(publicJwk),
      purpose,
      alg: 'ES256',
      pair: keys,
      publicJwk,
      createdAt: createdAt ?? this.deps.now(),
      status: 'active',
      ...extra,
    };
  }

  async list(): Promise<StoredKey[]> {
    return (await this.deps.records.list()).sort((a, b) => a.createdAt - b.createdAt || a.keyId.localeCompare(b.keyId));
  }

  async get(keyId: string): Promise<StoredKey | undefined> {
    return this.deps.records.get(keyId);
  }

  /** The active identity key, if there is one (never creates). */
  async currentIdentity(): Promise<StoredKey | undefined> {
    await this.chain;
    return (await this.list()).filter((k) => k.purpose === 'identity' && k.status === 'active').at(-1);
  }

  /** The active identity key; made on first use (from the legacy device key if there is one). */
  identity(): Promise<StoredKey> {
    return this.serial(async () => {
      const all = await this.list();
      const active = all.filter((k) => k.purpose === 'identity' && k.status === 'active').at(-1);
      if (active) return active;
      // Migrate the old device key only into an empty key ring (never after a rotation or revocation).
      const legacy = all.length === 0 ? await this.deps.legacyDeviceKey?.() : undefined;
      const key = legacy ? await this.make('identity', { migrated: true }, legacy.pair, legacy.createdAt) : await this.make('identity');
      if (!(await this.deps.records.add(key))) {
        const stored = await this.deps.records.get(key.keyId);
        if (!stored) throw new SemperError('ERR_INTERNAL', 'identity key could not be stored');
        return stored;
      }
      if (legacy) await this.deps.legacyMigrated?.();
      return key;
    });
  }

  /**
   * The pseudonym for one merchant origin: the same key on every anonymous deal with that origin,
   * a fresh one for an origin never dealt with anonymously.
   */
  pseudonymFor(origin: string): Promise<StoredKey> {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new SemperError('ERR_SCHEMA', `pseudonyms are per web origin, not ${JSON.stringify(origin)}`);
    return this.serial(async () => {
      const existing = (await this.list()).find((k) => k.purpose === 'pseudonym' && k.status === 'active' && k.origin === origin);
      if (existing) return existing;
      const key = await this.make('pseudonym', { origin });
      await this.deps.records.add(key);
      return key;
    });
  }

  /**
   * A new key for an account at the bank `bank` (its URL, kept as the key's origin): a fresh
   * non-extractable ES256 key, not the identity key — the bank sees every withdrawal signed by it,
   * and the identity key signs orders merchants keep, so one key for both would let bank and
   * merchants link the shopper's purse to its deals; and an identity rotation would orphan the account.
   */
  newAccountKey(bank: string): Promise<StoredKey> {
    return this.serial(async () => {
      const key = await this.make('account', { origin: bank });
      await this.deps.records.add(key);
      return key;
    });
  }

  /** The signer of an account key (purpose 'account' only: no other key signs for a bank account). */
  async accountSigner(keyId: string): Promise<Signer> {
    const key = await this.deps.records.get(keyId);
    if (key?.purpose !== 'account') throw new SemperError('ERR_KEY', `no account key ${keyId} in this browser (a restored purse cannot withdraw)`);
    return this.signer(key);
  }

  /** Pseudonyms made so far, by origin (active ones). */
  async pseudonyms(): Promise<StoredKey[]> {
    return (await this.list()).filter((k) => k.purpose === 'pseudonym' && k.status === 'active');
  }

  /** A new identity key; the previous one is kept, marked `rotated`. Its certificate stays with it. */
  rotateIdentity(): Promise<{ previous?: StoredKey; current: StoredKey }> {
    return this.serial(async () => {
      const now = this.deps.now();
      const previous = (await this.list()).filter((k) => k.purpose === 'identity' && k.status === 'active');
      const current = await this.make('identity');
      const retired = previous.map((k) => ({ ...k, status: 'rotated' as const, statusAt: now }));
      await this.deps.records.putAll([...retired, current]);
      return { ...(retired.at(-1) ? { previous: retired.at(-1)! } : {}), current };
    });
  }

  /** Attach the CA's certificate to a key (it must be that key's certificate: the caller checks). */
  setCertificate(keyId: string, certificate: KeyCertificate): Promise<StoredKey> {
    return this.serial(async () => {
      const key = await this.deps.records.get(keyId);
      if (!key) throw new SemperError('ERR_NOT_FOUND', `no key ${keyId}`);
      if (key.status !== 'active') throw new SemperError('ERR_PROTOCOL_STATE', `key ${keyId} is ${key.status}: it cannot be certified`);
      const next = { ...key, certificate };
      await this.deps.records.putAll([next]);
      return next;
    });
  }

  /** The CA accepted the revocation of this key's certificate. */
  markRevoked(keyId: string, reason: string): Promise<StoredKey> {
    return this.serial(async () => {
      const key = await this.deps.records.get(keyId);
      if (!key) throw new SemperError('ERR_NOT_FOUND', `no key ${keyId}`);
      const now = this.deps.now();
      const next: StoredKey = { ...key, status: 'revoked', statusAt: now, revocation: { reason, at: now } };
      await this.deps.records.putAll([next]);
      return next;
    });
  }

  /** A signer over a stored key; refuses keys that are not active or are extractable. */
  signer(key: StoredKey): Promise<Signer> {
    if (key.status !== 'active') return Promise.reject(new SemperError('ERR_KEY', `key ${key.keyId} is ${key.status}: it no longer signs`));
    if (key.pair.privateKey.extractable) return Promise.reject(new SemperError('ERR_KEY', `key ${key.keyId} is extractable: refusing to use it`));
    let signer = this.signers.get(key.keyId);
    if (!signer) {
      signer = signerFromKeyPair('ES256', key.pair);
      this.signers.set(key.keyId, signer);
      signer.catch(() => this.signers.delete(key.keyId));
    }
    return signer;
  }

  /** The active identity key's signer (made on first use): it signs exchanges and non-anonymous orders. */
  async identitySigner(): Promise<Signer> {
    return this.signer(await this.identity());
  }

  /** The signer of a confirmed purchase: the pseudonym for the deal's origin if anonymous, else the identity key. */
  async dealSigner(origin: string, anonymous: boolean): Promise<Signer> {
    return this.signer(anonymous ? await this.pseudonymFor(origin) : await this.identity());
  }

  /** A signer for a certified key that must still be usable for revocation (active or rotated, not yet revoked). */
  async revocationSigner(key: StoredKey): Promise<Signer> {
    if (key.status === 'revoked') throw new SemperError('ERR_PROTOCOL_STATE', `key ${key.keyId} is already revoked`);
    if (key.pair.privateKey.extractable) throw new SemperError('ERR_KEY', `key ${key.keyId} is extractable: refusing to use it`);
    return signerFromKeyPair('ES256', key.pair);
  }
}
