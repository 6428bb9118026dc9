/**
 * Opening the marketplace's bank: its identity (a long-term ES256 key and a certificate, role bank,
 * from the marketplace CA, kept in `bank-identity.sqlite` by the one identity loader,
 * server/identity/party-identity.ts) and its ledger in `bank.sqlite`. Both survive a restart:
 * wallets pin the bank's key (or check its key list against the CA root through the certificate),
 * and every receipt and proof the bank ever signed names that key.
 */
import { IDENTITY_SCHEMA, loadPartyIdentity } from '../identity/party-identity.js';
import { SqliteStore } from '../storage/sqlite.js';
import { BankService, type BankServiceOptions } from './service.js';

export const BANK_IDENTITY_FILE = 'bank-identity.sqlite';
export const DEFAULT_BANK_NAME = 'Semper Demo Bank';

/** What the bank needs from the CA (server/ca CaService). */
export interface BankIssuer {
  readonly rootCertificate: string;
  issueBankCertificate(params: { commonName: string; publicKey: CryptoKey }): Promise<{ certificate: string }>;
}

export interface OpenBankOptions extends Omit<BankServiceOptions, 'signingKey' | 'certificateChain' | 'clock'> {
  ca: BankIssuer;
  commonName?: string;
  now?: () => number;
}

/** Open the marketplace bank: persisted key, a certificate from `ca`, the ledger in `bank.sqlite`. */
export async function openMarketplaceBank(options: OpenBankOptions): Promise<BankService> {
  const { ca, commonName: name, now, ...bankOptions } = options;
  const commonName = name ?? DEFAULT_BANK_NAME;
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: BANK_IDENTITY_FILE, schema: [IDENTITY_SCHEMA] });
  try {
    const identity = await loadPartyIdentity({
      store,
      role: 'bank',
      root: ca.rootCertificate,
      issue: async (publicKey) => (await ca.issueBankCertificate({ commonName, publicKey })).certificate,
      ...(now ? { now } : {}),
    });
    return await BankService.open({
      ...bankOptions,
      signingKey: identity.keys,
      certificateChain: [identity.certificate],
      ...(now ? { clock: now } : {}),
    });
  } finally {
    store.close();
  }
}
