/**
 * The TTP as a service: its own signing key and certificate, the record store, and the core
 * decision logic (core/exchange/ttp.ts). HTTP lives in app.ts; this class does no I/O besides
 * the store.
 */
import { SemperError } from '../../core/errors.js';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import type { PublicJwk } from '../../core/crypto/jwk.js';
import { readCertificate, type CertificateInfo } from '../../core/pki/index.js';
import type { Statement } from '../../core/statements/index.js';
import { PROTOCOLS, processTtpRequest, type TtpContext, type TtpRecord, type TtpRecordStore } from '../../core/exchange/index.js';
import { SqliteTtpStore } from './store.js';

/** What the TTP asks a CA for (server/ca, or a test CA built with core/pki issueCertificate). */
export interface TtpCertificateRequest {
  subjectPublicKey: CryptoKey;
  publicJwk: PublicJwk;
  commonName: string;
  role: 'ttp';
}

/** The CA as the TTP needs it: issue a certificate (base64 DER) and name its root. */
export interface CertificateAuthorityLike {
  issue(params: TtpCertificateRequest): Promise<string>;
  rootCertificate: string;
}

export interface TtpServiceOptions {
  signer: Signer;
  /** The TTP's certificate chain, leaf first (base64 DER). */
  certificateChain: string[];
  /** Trust anchors for certified parties and credentials in exchanged items. */
  trustRoots: readonly string[];
  /** SQLite file (or ':memory:'), or any atomic store. */
  store: TtpRecordStore | { path: string };
  clock?: () => number;
  isRevoked?: (cert: CertificateInfo) => Promise<boolean>;
}

export interface TtpInfo {
  keyId: string;
  certificateChain: string[];
  protocols: readonly string[];
}

export class TtpService {
  readonly signer: Signer;
  readonly certificateChain: string[];
  readonly store: TtpRecordStore;
  private readonly ownsStore: SqliteTtpStore | null;
  private readonly trustRoots: readonly string[];
  private readonly clock: () => number;
  private readonly isRevoked: TtpServiceOptions['isRevoked'];

  constructor(options: TtpServiceOptions) {
    if (options.certificateChain.length === 0) throw new SemperError('ERR_CERT_CHAIN', 'the TTP needs a certificate chain');
    this.signer = options.signer;
    this.certificateChain = [...options.certificateChain];
    if ('path' in options.store) {
      this.ownsStore = new SqliteTtpStore(options.store.path);
      this.store = this.ownsStore;
    } else {
      this.ownsStore = null;
      this.store = options.store;
    }
    this.trustRoots = options.trustRoots;
    this.clock = options.clock ?? Date.now;
    this.isRevoked = options.isRevoked;
  }

  /**
   * A TTP with a fresh key (non-extractable ES256 unless `keys` is given) certified by `ca`.
   * A host that restarts must hand the same key back (`keys`), or exchanges naming the old
   * key are refused: m1 pins the TTP's key.
   */
  static async create(params: {
    ca: CertificateAuthorityLike;
    dbPath: string;
    commonName?: string;
    keys?: CryptoKeyPair;
    trustRoots?: readonly string[];
    clock?: () => number;
  }): Promise<TtpService> {
    const keys = params.keys ?? (await generateKeyPair('ES256'));
    const signer = await signerFromKeyPair('ES256', keys);
    const leaf = await params.ca.issue({ subjectPublicKey: keys.publicKey, publicJwk: signer.publicJwk, commonName: params.commonName ?? 'Semper TTP', role: 'ttp' });
    const info = await readCertificate(leaf);
    if (info.publicJwk.x !== signer.publicJwk.x) throw new SemperError('ERR_CERT_CHAIN', 'the CA certified another key than the TTP asked for');
    return new TtpService({
      signer,
      certificateChain: [leaf],
      trustRoots: params.trustRoots ?? [params.ca.rootCertificate],
      store: { path: params.dbPath },
      ...(params.clock ? { clock: params.clock } : {}),
    });
  }

  get keyId(): string {
    return this.signer.keyId;
  }

  info(): TtpInfo {
    return { keyId: this.keyId, certificateChain: this.certificateChain, protocols: PROTOCOLS };
  }

  context(): TtpContext {
    return {
      signer: this.signer,
      signerRef: { kind: 'x509', chain: this.certificateChain },
      trust: { roots: this.trustRoots, ...(this.isRevoked ? { isRevoked: this.isRevoked } : {}) },
      now: this.clock(),
    };
  }

  /** Handle one request statement. Throws a SemperError for requests that decide nothing. */
  async handle(request: unknown): Promise<{ answer: Statement; decided: boolean; exchangeId: string }> {
    const r = await processTtpRequest(request, this.store, this.context());
    return { answer: r.answer, decided: r.decided, exchangeId: r.record.exchangeId };
  }

  async record(exchangeId: string): Promise<TtpRecord | null> {
    return this.store.get(exchangeId);
  }

  close(): void {
    this.ownsStore?.close();
  }
}
