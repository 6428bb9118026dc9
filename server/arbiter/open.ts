/**
 * Opening the marketplace's arbiter: its identity (a long-term ES256 key and a certificate, role
 * arbiter, from the marketplace CA, by the one identity loader) and its verdicts, both in
 * `arbiter.sqlite` under the data directory. Both survive a restart: every verdict ever signed names
 * that key, and a complaint filed again gets its stored verdict.
 */
import type { StatementStamps } from '../storage/statement-stamps.js';
import type { RevocationSource } from '../../core/pki/revocation.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/verify.js';
import { IDENTITY_SCHEMA, loadPartyIdentity } from '../identity/party-identity.js';
import { SqliteStore } from '../storage/sqlite.js';
import { ARBITER_DB_FILE, ARBITER_SCHEMA } from './schema.js';
import { ArbiterService } from './service.js';

export const DEFAULT_ARBITER_NAME = 'Semper Demo Arbiter';

/** What the arbiter needs from the CA (server/ca CaService). */
export interface ArbiterIssuer {
  readonly rootCertificate: string;
  issueArbiterCertificate(params: { commonName: string; publicKey: CryptoKey }): Promise<{ certificate: string }>;
}

export interface OpenArbiterOptions {
  dataDir: string;
  ca: ArbiterIssuer;
  commonName?: string;
  /** Further roots to trust besides the CA's (default none). */
  roots?: readonly string[];
  paymentIssuers?: readonly string[];
  revocation?: RevocationSource;
  webauthn?: WebAuthnStatementVerifier;
  now?: () => number;
  /** Time stamps over the verdicts (the marketplace's TSA). */
  stamps?: StatementStamps;
}

export async function openMarketplaceArbiter(options: OpenArbiterOptions): Promise<ArbiterService> {
  const store = SqliteStore.open({ dataDir: options.dataDir, fileName: ARBITER_DB_FILE, schema: [IDENTITY_SCHEMA, ARBITER_SCHEMA] });
  try {
    const commonName = options.commonName ?? DEFAULT_ARBITER_NAME;
    const identity = await loadPartyIdentity({
      store,
      role: 'arbiter',
      root: options.ca.rootCertificate,
      issue: async (publicKey) => (await options.ca.issueArbiterCertificate({ commonName, publicKey })).certificate,
      ...(options.now ? { now: options.now } : {}),
    });
    return new ArbiterService({
      store,
      signer: identity.signer,
      chain: [identity.certificate],
      roots: [options.ca.rootCertificate, ...(options.roots ?? [])],
      ...(options.paymentIssuers ? { paymentIssuers: options.paymentIssuers } : {}),
      ...(options.revocation ? { revocation: options.revocation } : {}),
      ...(options.webauthn ? { webauthn: options.webauthn } : {}),
      ...(options.now ? { clock: options.now } : {}),
      ...(options.stamps ? { stamps: options.stamps } : {}),
    });
  } catch (e) {
    store.close();
    throw e;
  }
}
