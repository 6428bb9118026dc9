/**
 * The bank's denomination keys: one RSA-2048 key per denomination and period, made with
 * node:crypto generateKeyPairSync, stored as PKCS#8 in the bank's own SQLite file (mode 0600, the
 * same protection as the CA's and TTP's keys: server/storage/sqlite.ts) — not encrypted: a
 * passphrase would have to sit next to the file anyway; a deployment would use an HSM.
 *
 * In memory each private key is a Node KeyObject held in a private class field (#private) of its
 * `DenominationKey`: nothing outside this module can read it, and the only operation on it is
 * `blindSign`. Node's KeyObject has no "non-extractable" flag of its own; this field is what keeps
 * it in, and no code path exports it after loading.
 *
 * Blind signing is RSASP1 (RFC 8017 §5.2.1) through OpenSSL: `privateDecrypt` with
 * RSA_NO_PADDING on the blinded message (m < n), ~2.5 ms at 2048 bits (blindrsa-ts's own
 * blindSign is ~0.9 s and needs an extractable key). RFC 9474 §4.3's check is kept: the signature
 * is returned only if s^e mod n equals the blinded message (publicEncrypt, RSA_NO_PADDING), so a
 * fault in the private-key operation never leaks a faulty signature.
 *
 * Rotation (`ensure(now)`): for each value the bank issues, keys follow one another —
 *   validFrom = previous withdrawUntil − overlap; withdrawUntil = validFrom + withdrawPeriod;
 *   spendUntil = withdrawUntil + spendPeriod; depositUntil = spendUntil + depositGrace
 * — and the next key is made (and so listed) `announceAhead` before the current one stops issuing.
 * The key list names every key not past its depositUntil, so old coins stay depositable and
 * refreshable until then.
 *
 * Several bank processes share one database (PostgreSQL): each holds the keys in memory, reloads
 * them when it meets a denomination id it does not know (another process made it), and a rotation
 * inserts a key only if, inside the write transaction, its slot is still empty — so two processes
 * rotating at once make one key per slot, and the loser's fresh key is dropped unused.
 */
import { constants, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { encodeBase64url, sha256 } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import type { Denomination } from '../../core/payment/cash/denominations.js';
import { sql } from 'kysely';
import { type Database, rowsOf } from '../storage/database.js';

const DAY = 86_400_000;

export interface RotationPolicy {
  /** Values (minor units) the bank issues coins of. */
  values: readonly number[];
  withdrawPeriodMs: number;
  spendPeriodMs: number;
  depositGraceMs: number;
  /** How long before a key stops issuing its successor is made and listed. */
  announceAheadMs: number;
  /** How long two keys of one value issue side by side. */
  overlapMs: number;
}

export const DEFAULT_ROTATION: RotationPolicy = {
  values: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
  withdrawPeriodMs: 30 * DAY,
  spendPeriodMs: 90 * DAY,
  depositGraceMs: 30 * DAY,
  announceAheadMs: 7 * DAY,
  overlapMs: 1 * DAY,
};

/** Makes an RSA-2048 key pair as PKCS#8 DER (tests pass a pool of pre-made keys: generation takes ~0.3-1 s). */
export type RsaKeyFactory = () => { pkcs8: Uint8Array } | Promise<{ pkcs8: Uint8Array }>;

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Off the event loop (libuv's thread pool): a rotation during a request, or the marketplace's
 * first start, does not stall the other parties sharing the process.
 */
export const generateRsaKey: RsaKeyFactory = async () => {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  return { pkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }) };
};

interface Row {
  id: string;
  value: number;
  currency: string;
  spki: Buffer;
  pkcs8: Buffer;
  valid_from: number;
  withdraw_until: number;
  spend_until: number;
  deposit_until: number;
}

export class DenominationKey {
  readonly denomination: Denomination;
  readonly #private: KeyObject;
  readonly #public: KeyObject;
  readonly #modulusBytes: number;

  constructor(row: Row) {
    this.#private = createPrivateKey({ key: row.pkcs8, format: 'der', type: 'pkcs8' });
    this.#public = createPublicKey(this.#private);
    const bits = this.#public.asymmetricKeyDetails?.modulusLength ?? 0;
    if (this.#private.asymmetricKeyType !== 'rsa' || bits !== 2048) throw new SemperError('ERR_KEY', `denomination ${row.id} is not an RSA-2048 key`);
    this.#modulusBytes = bits / 8;
    this.denomination = {
      id: row.id,
      value: { amount: row.value, currency: row.currency },
      rsaPublicKey: encodeBase64url(row.spki),
      validFrom: row.valid_from,
      withdrawUntil: row.withdraw_until,
      spendUntil: row.spend_until,
      depositUntil: row.deposit_until,
    };
  }

  /** The RSA public key (node:crypto verifies coins with it: RSA-PSS, SHA-384, salt 48). */
  get publicKey(): KeyObject {
    return this.#public;
  }

  /** RSASP1 over a blinded message, checked before it is returned (see the module comment). */
  blindSign(blindedMsg: Uint8Array): Uint8Array {
    if (blindedMsg.length !== this.#modulusBytes) throw new SemperError('ERR_SCHEMA', `a blinded message is ${this.#modulusBytes} bytes`);
    let s: Buffer;
    try {
      s = privateDecrypt({ key: this.#private, padding: constants.RSA_NO_PADDING }, blindedMsg);
    } catch {
      // OpenSSL refuses m >= n.
      throw new SemperError('ERR_SCHEMA', 'blinded message is not below the modulus');
    }
    const back = publicEncrypt({ key: this.#public, padding: constants.RSA_NO_PADDING }, s);
    if (!back.equals(blindedMsg)) throw new SemperError('ERR_INTERNAL', 'RFC 9474 §4.3: signing failure (s^e mod n differs from the blinded message)');
    return new Uint8Array(s);
  }
}

export class DenominationKeys {
  private readonly keys = new Map<string, DenominationKey>();

  constructor(
    private readonly database: Database,
    private readonly currency: string,
    private readonly policy: RotationPolicy,
    private readonly makeKey: RsaKeyFactory = generateRsaKey,
  ) {}

  /** Load the keys the database holds that this process does not (at open, and after another process made one). */
  async reload(): Promise<void> {
    const known = [...this.keys.keys()];
    const rows = await rowsOf(this.database.db, sql<Row>`SELECT * FROM denominations`);
    for (const row of rows) if (!known.includes(row.id)) this.keys.set(row.id, new DenominationKey(row));
  }

  /** Reload when any of `ids` is unknown here (a key another process made). */
  async know(ids: Iterable<string>): Promise<void> {
    for (const id of ids)
      if (!this.keys.has(id)) {
        await this.reload();
        return;
      }
  }

  get(id: string): DenominationKey | undefined {
    return this.keys.get(id);
  }

  all(): DenominationKey[] {
    return [...this.keys.values()].sort(
      (a, b) => a.denomination.value.amount - b.denomination.value.amount || a.denomination.validFrom - b.denomination.validFrom,
    );
  }

  /** Keys a key list at `now` names: every key not past its depositUntil. */
  listed(now: number): Denomination[] {
    return this.all()
      .filter((k) => now <= k.denomination.depositUntil)
      .map((k) => k.denomination);
  }

  private ensuring: Promise<unknown> = Promise.resolve();

  /**
   * Make the keys rotation calls for at `now` (see the module comment); true if any was made.
   * One rotation at a time: two concurrent key-list requests must not both make the next key.
   */
  ensure(now: number): Promise<boolean> {
    const run = this.ensuring.then(() => this.ensureNow(now));
    this.ensuring = run.catch(() => undefined);
    return run;
  }

  /** The validFrom of the key rotation calls for next for `value` at `now`, or null if none is due. */
  private due(value: number, now: number): { validFrom: number; first: boolean } | null {
    const latest = this.all()
      .filter((k) => k.denomination.value.amount === value)
      .at(-1)?.denomination;
    if (latest && now < latest.withdrawUntil - this.policy.announceAheadMs) return null;
    // After a long stop (the latest key no longer issues) the next one issues from now.
    return { validFrom: !latest || now >= latest.withdrawUntil ? now : latest.withdrawUntil - this.policy.overlapMs, first: !latest };
  }

  private async ensureNow(now: number): Promise<boolean> {
    let made = false;
    await this.reload();
    for (const value of this.policy.values) {
      for (;;) {
        const slot = this.due(value, now);
        if (!slot) break;
        if (await this.add(value, slot.validFrom, now, undefined, slot.validFrom)) made = true;
        if (slot.first) break;
      }
    }
    return made;
  }

  /** Add one key of `value` issuing from `validFrom` (rotation, and tests that need a key with given times). */
  async add(
    value: number,
    validFrom: number,
    now: number,
    times?: Partial<Pick<Denomination, 'withdrawUntil' | 'spendUntil' | 'depositUntil'>>,
    /** Rotation: insert only if this slot is still the one due (another process may have filled it). */
    slot?: number,
  ): Promise<Denomination | null> {
    const { pkcs8 } = await this.makeKey();
    const spki = createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
    const id = encodeBase64url(await sha256(new Uint8Array(spki)));
    if (this.keys.has(id)) throw new SemperError('ERR_INTERNAL', 'denomination key reused');
    const withdrawUntil = times?.withdrawUntil ?? validFrom + this.policy.withdrawPeriodMs;
    const spendUntil = times?.spendUntil ?? withdrawUntil + this.policy.spendPeriodMs;
    const depositUntil = times?.depositUntil ?? spendUntil + this.policy.depositGraceMs;
    const row: Row = {
      id,
      value,
      currency: this.currency,
      spki,
      pkcs8: Buffer.from(pkcs8),
      valid_from: validFrom,
      withdraw_until: withdrawUntil,
      spend_until: spendUntil,
      deposit_until: depositUntil,
    };
    const key = new DenominationKey(row);
    const inserted = await this.database.write(async (tx) => {
      if (slot !== undefined) {
        // What the database holds now decides, not this process's memory.
        const others = await rowsOf(tx, sql<Row>`SELECT * FROM denominations WHERE value = ${value}`);
        for (const other of others) if (!this.keys.has(other.id)) this.keys.set(other.id, new DenominationKey(other));
        if (this.due(value, now)?.validFrom !== slot) return false;
      }
      await sql`INSERT INTO denominations (id, value, currency, spki, pkcs8, valid_from, withdraw_until, spend_until, deposit_until, created_at)
        VALUES (${id}, ${value}, ${this.currency}, ${spki}, ${row.pkcs8}, ${validFrom}, ${withdrawUntil}, ${spendUntil}, ${depositUntil}, ${now})`.execute(tx);
      return true;
    });
    if (!inserted) return null;
    this.keys.set(id, key);
    return key.denomination;
  }
}
