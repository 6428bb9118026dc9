/**
 * The marketplace's TTP identity: a long-term ES256 key and a certificate (role ttp) from the
 * marketplace CA, kept in `ttp-identity.sqlite` so that a restarted TTP keeps its key and
 * certificate. Both matter: every m1 pins the TTP's key, and shoppers trust the TTP by its
 * certificate (or its fingerprint) in their settings. A stored certificate is reused while it
 * chains to the CA root, certifies this key and is not about to expire; otherwise the TTP asks
 * the CA again (same key, new certificate).
 */
import { join } from 'node:path';
import { SemperError } from '../../core/errors.js';
import { readCertificate, validateChain } from '../../core/pki/index.js';
import { generatePersistableEs256, importEs256Pkcs8 } from '../storage/keys.js';
import { SqliteStore, type MigrationSet } from '../storage/sqlite.js';
import { TtpService } from './service.js';

export const TTP_IDENTITY_FILE = 'ttp-identity.sqlite';
export const TTP_DB_FILE = 'ttp.sqlite';
export const DEFAULT_TTP_NAME = 'Semper Demo TTP';

const DAY_MS = 24 * 60 * 60 * 1000;

const TTP_IDENTITY_SCHEMA: MigrationSet = {
  component: 'ttp-identity',
  migrations: [
    {
      version: 1,
      description: 'TTP signing key and certificates',
      up: `
        CREATE TABLE ttp_key (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          private_key_pkcs8 BLOB NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE ttp_certificates (
          serial TEXT PRIMARY KEY,
          certificate TEXT NOT NULL,
          not_after TEXT NOT NULL,
          issued_at TEXT NOT NULL
        );
      `,
    },
  ],
};

/** What the TTP needs from the CA (server/ca CaService). */
export interface TtpIssuer {
  readonly rootCertificate: string;
  issueTtpCertificate(params: { commonName: string; publicKey: CryptoKey }): Promise<{ certificate: string }>;
}

export interface OpenTtpOptions {
  dataDir: string;
  ca: TtpIssuer;
  commonName?: string;
  now?: () => number;
}

async function loadOrCreateKey(store: SqliteStore, now: number): Promise<CryptoKeyPair> {
  const load = () => store.db.prepare<[], { private_key_pkcs8: Buffer }>('SELECT private_key_pkcs8 FROM ttp_key WHERE id = 1').get();
  let row = load();
  if (!row) {
    const generated = await generatePersistableEs256();
    store.immediate(() => {
      store.db.prepare('INSERT INTO ttp_key (id, private_key_pkcs8, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING').run(Buffer.from(generated.pkcs8), new Date(now).toISOString());
    });
    row = load();
    if (!row) throw new SemperError('ERR_INTERNAL', 'TTP key was not stored');
  }
  return importEs256Pkcs8(row.private_key_pkcs8);
}

async function usable(certificate: string, publicJwk: { x?: string; y?: string }, root: string, now: number): Promise<boolean> {
  try {
    const { leaf } = await validateChain([certificate], { roots: [root], now: new Date(now) });
    if (leaf.role !== 'ttp' || leaf.publicJwk.kty !== 'EC' || leaf.publicJwk.x !== publicJwk.x || leaf.publicJwk.y !== publicJwk.y) return false;
    return leaf.notAfter.getTime() - now > DAY_MS;
  } catch {
    return false;
  }
}

/** Open the marketplace TTP: persisted key, a certificate from `ca`, decisions in `ttp.sqlite`. */
export async function openMarketplaceTtp(options: OpenTtpOptions): Promise<TtpService> {
  const clock = options.now ?? Date.now;
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: TTP_IDENTITY_FILE, schema: [TTP_IDENTITY_SCHEMA] });
  try {
    const keys = await loadOrCreateKey(store, clock());
    const commonName = options.commonName ?? DEFAULT_TTP_NAME;
    return await TtpService.create({
      keys,
      commonName,
      dbPath: join(options.dataDir, TTP_DB_FILE),
      ...(options.now ? { clock: options.now } : {}),
      ca: {
        rootCertificate: options.ca.rootCertificate,
        issue: async (request) => {
          const latest = store.db
            .prepare<[], { certificate: string }>('SELECT certificate FROM ttp_certificates ORDER BY issued_at DESC, rowid DESC LIMIT 1')
            .get();
          if (latest && (await usable(latest.certificate, request.publicJwk, options.ca.rootCertificate, clock()))) return latest.certificate;
          const { certificate } = await options.ca.issueTtpCertificate({ commonName: request.commonName, publicKey: request.subjectPublicKey });
          const info = await readCertificate(certificate);
          store.immediate(() => {
            store.db
              .prepare('INSERT INTO ttp_certificates (serial, certificate, not_after, issued_at) VALUES (?, ?, ?, ?)')
              .run(info.serialNumber.toLowerCase(), certificate, info.notAfter.toISOString(), new Date(clock()).toISOString());
          });
          return certificate;
        },
      },
    });
  } finally {
    store.close();
  }
}
