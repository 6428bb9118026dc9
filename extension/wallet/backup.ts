/**
 * The purse's encrypted backup file: coins are bearer instruments (whoever holds a coin's key can
 * spend it), so the file is encrypted under the user's passphrase with WebCrypto only.
 *
 *   { format: 'semper.wallet-backup', version: 1, createdAt,
 *     kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt },      (OWASP 2023: ≥ 600 000 for SHA-256)
 *     cipher: { name: 'AES-GCM', iv },
 *     ciphertext }                                                      base64url; the header (everything but
 *                                                                       the ciphertext, RFC 8785) is the
 *                                                                       additional authenticated data
 *
 * A wrong passphrase and an altered file (header or ciphertext) are the same refusal: AES-GCM's tag
 * does not verify. The plaintext is `{ purses: PurseBackup[] }` (purse.ts). The account keys are not
 * in it: they are non-extractable by design — a restored purse in another browser can pay and
 * refresh its coins, but withdrawing needs the account key of the browser that opened the account.
 */
import { z } from '../../core/zod.js';
import { canonicalJson, decodeBase64url, encodeBase64url, utf8 } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import type { PurseBackup } from './purse.js';

export const BACKUP_FORMAT = 'semper.wallet-backup';
export const BACKUP_VERSION = 1;
export const PBKDF2_ITERATIONS = 600_000;
/** A file asking for more is refused (it would keep the worker busy for minutes). */
const MAX_ITERATIONS = 5_000_000;
export const MIN_PASSPHRASE = 8;

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]*$/, 'base64url'));

const Header = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  createdAt: z.string().check(z.maxLength(40)),
  kdf: z.strictObject({
    name: z.literal('PBKDF2'),
    hash: z.literal('SHA-256'),
    iterations: z.number().check(z.int(), z.gte(PBKDF2_ITERATIONS), z.lte(MAX_ITERATIONS)),
    salt: b64u.check(z.length(22)),
  }),
  cipher: z.strictObject({ name: z.literal('AES-GCM'), iv: b64u.check(z.length(16)) }),
});
type Header = z.infer<typeof Header>;
const BackupFile = z.extend(Header, { ciphertext: b64u.check(z.minLength(1)) });

const Contents = z.object({
  purses: z
    .array(
      z.looseObject({
        bankUrl: z.string().check(z.minLength(1), z.maxLength(512)),
        bankKeyId: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
        accountKeyId: z.string().check(z.maxLength(64)),
        account: z.optional(z.string().check(z.maxLength(64))),
        denominations: z.looseObject({ type: z.string(), body: z.unknown(), signature: z.unknown() }),
        wallet: z.looseObject({
          walletId: z.string(),
          coins: z.array(z.looseObject({ coinId: z.string() })),
          pending: z.array(z.looseObject({ requestId: z.string() })),
        }),
        history: z.array(z.looseObject({ at: z.number(), kind: z.string() })),
        payments: z.array(z.looseObject({ reference: z.string() })),
        transfers: z.optional(
          z.array(
            z.looseObject({
              reference: z.string(),
              payee: z.string(),
              amount: z.looseObject({ amount: z.number(), currency: z.string() }),
              requestId: z.string(),
              phase: z.enum(['sending', 'done', 'failed']),
              attempts: z.number(),
              order: z.looseObject({ type: z.string(), body: z.unknown(), signature: z.unknown() }),
            }),
          ),
        ),
      }),
    )
    .check(z.maxLength(64)),
});

async function deriveKey(passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<CryptoKey> {
  if (passphrase.length < MIN_PASSPHRASE) throw new SemperError('ERR_SCHEMA', `a backup passphrase has at least ${MIN_PASSPHRASE} characters`);
  const material = await crypto.subtle.importKey('raw', utf8(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, material, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
}

/** The backup file (JSON text) of `purses`. */
export async function encryptBackup(purses: PurseBackup[], passphrase: string, now: number, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const header: Header = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: new Date(now).toISOString(),
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt: encodeBase64url(salt) },
    cipher: { name: 'AES-GCM', iv: encodeBase64url(iv) },
  };
  const key = await deriveKey(passphrase, salt, iterations);
  const plaintext = utf8(JSON.stringify({ purses }));
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(canonicalJson(header)) }, key, plaintext);
  return `${JSON.stringify({ ...header, ciphertext: encodeBase64url(new Uint8Array(ciphertext)) }, null, 1)}\n`;
}

/** The purses in a backup file; ERR_SCHEMA for what is no backup of this version, ERR_KEY for a wrong passphrase or an altered file. */
export async function decryptBackup(file: string, passphrase: string): Promise<PurseBackup[]> {
  let json: unknown;
  try {
    json = JSON.parse(file);
  } catch {
    throw new SemperError('ERR_SCHEMA', 'this is not a Semper wallet backup (not JSON)');
  }
  const parsed = BackupFile.safeParse(json);
  if (!parsed.success) {
    const version = (json as { version?: unknown } | null)?.version;
    if ((json as { format?: unknown } | null)?.format === BACKUP_FORMAT && version !== BACKUP_VERSION)
      throw new SemperError('ERR_SCHEMA', `backup version ${String(version)} is not one this Semper reads (${BACKUP_VERSION})`);
    throw new SemperError('ERR_SCHEMA', `not a Semper wallet backup: ${parsed.error.issues[0]?.path.join('.') || '$'}: ${parsed.error.issues[0]?.message}`);
  }
  const { ciphertext, ...header } = parsed.data;
  const key = await deriveKey(passphrase, decodeBase64url(header.kdf.salt), header.kdf.iterations);
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: decodeBase64url(header.cipher.iv), additionalData: utf8(canonicalJson(header)) },
      key,
      decodeBase64url(ciphertext),
    );
  } catch {
    throw new SemperError('ERR_KEY', 'wrong passphrase, or the backup file was altered');
  }
  const contents = Contents.safeParse(JSON.parse(new TextDecoder().decode(plaintext)));
  if (!contents.success) throw new SemperError('ERR_SCHEMA', 'the backup decrypts but its contents are malformed');
  return contents.data.purses as unknown as PurseBackup[];
}
