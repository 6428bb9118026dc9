/**
 * Opening the marketplace's TSA: its identity (a long-term ES256 key and a certificate, role tsa,
 * extendedKeyUsage id-kp-timeStamping critical, from the marketplace CA, kept in
 * `tsa-identity.sqlite` by the one identity loader, server/identity/party-identity.ts) and its
 * serials and tokens in `tsa.sqlite`. Both survive a restart: old tokens name the certificate by
 * its hash (signingCertificateV2), and serials must never repeat.
 */
import { IDENTITY_SCHEMA, loadPartyIdentity } from '../identity/party-identity.js';
import { SqliteStore } from '../storage/sqlite.js';
import { TsaService, type TsaServiceOptions } from './service.js';

export const TSA_IDENTITY_FILE = 'tsa-identity.sqlite';
export const DEFAULT_TSA_NAME = 'Semper Demo TSA';

/** What the TSA needs from the CA (server/ca CaService). */
export interface TsaIssuer {
  readonly rootCertificate: string;
  issueTsaCertificate(params: { commonName: string; publicKey: CryptoKey }): Promise<{ certificate: string }>;
}

export interface OpenTsaOptions extends Omit<TsaServiceOptions, 'keys' | 'certificate' | 'chain' | 'clock'> {
  ca: TsaIssuer;
  commonName?: string;
  now?: () => number;
}

/** Open the marketplace TSA: persisted key, a certificate from `ca`, serials and tokens in `tsa.sqlite`. */
export async function openMarketplaceTsa(options: OpenTsaOptions): Promise<TsaService> {
  const { ca, commonName: name, now, ...tsaOptions } = options;
  const commonName = name ?? DEFAULT_TSA_NAME;
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: TSA_IDENTITY_FILE, schema: [IDENTITY_SCHEMA] });
  try {
    const identity = await loadPartyIdentity({
      store,
      role: 'tsa',
      root: ca.rootCertificate,
      issue: async (publicKey) => (await ca.issueTsaCertificate({ commonName, publicKey })).certificate,
      ...(now ? { now } : {}),
    });
    return TsaService.open({
      ...tsaOptions,
      keys: identity.keys,
      certificate: identity.certificate,
      chain: [ca.rootCertificate],
      ...(now ? { clock: now } : {}),
    });
  } finally {
    store.close();
  }
}
