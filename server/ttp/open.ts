/**
 * Opening the marketplace's TTP: its identity (a long-term ES256 key and a certificate, role ttp,
 * from the marketplace CA, kept in `ttp-identity.sqlite` by the one identity loader,
 * server/identity/party-identity.ts) and its decisions in `ttp.sqlite`. Both must survive a
 * restart: every m1 pins the TTP's key, and shoppers trust the TTP by its certificate (or its
 * fingerprint) in their settings.
 */
import { join } from 'node:path';
import { IDENTITY_SCHEMA, loadPartyIdentity } from '../identity/party-identity.js';
import { SqliteStore } from '../storage/sqlite.js';
import { TtpService } from './service.js';
import { loadSealingKey, SEALING_KEY_SCHEMA } from './sealing.js';
import { sealingPublicJwk } from '../../core/crypto/seal.js';

export const TTP_IDENTITY_FILE = 'ttp-identity.sqlite';
export const TTP_DB_FILE = 'ttp.sqlite';
export const DEFAULT_TTP_NAME = 'Semper Demo TTP';

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
  /** PostgreSQL for the decisions (SEMPER_DATABASE_URL) instead of `ttp.sqlite`; the identity stays in the data directory. */
  databaseUrl?: string;
}

/** Open the marketplace TTP: persisted key, a certificate from `ca`, decisions in `ttp.sqlite`. */
export async function openMarketplaceTtp(options: OpenTtpOptions): Promise<TtpService> {
  const { ca } = options;
  const commonName = options.commonName ?? DEFAULT_TTP_NAME;
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: TTP_IDENTITY_FILE, schema: [IDENTITY_SCHEMA, SEALING_KEY_SCHEMA] });
  try {
    const identity = await loadPartyIdentity({
      store,
      role: 'ttp',
      root: ca.rootCertificate,
      issue: async (publicKey) => (await ca.issueTtpCertificate({ commonName, publicKey })).certificate,
      ...(options.now ? { now: options.now } : {}),
    });
    const sealingKeys = await loadSealingKey(store, options.now);
    const sealing = await sealingPublicJwk(sealingKeys.publicKey);
    return await new TtpService({
      sealing: { keyId: sealing.keyId, jwk: sealing.jwk, keys: sealingKeys },
      signer: identity.signer,
      certificateChain: [identity.certificate],
      trustRoots: [ca.rootCertificate],
      store: options.databaseUrl ? { url: options.databaseUrl } : { path: join(options.dataDir, TTP_DB_FILE) },
      ...(options.now ? { clock: options.now } : {}),
    }).opened();
  } finally {
    store.close();
  }
}
