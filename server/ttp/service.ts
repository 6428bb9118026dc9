/**
 * The TTP as a service: its signing key and certificate, and the host of its machine
 * (`ttpMachine`, core/exchange/ttp.ts) through the one host step (server/host/step.ts) over its
 * record store (store.ts). One key per exchange: a request names its exchange; the host locks
 * it, reads its record (none: undecided), steps, and stores a new decision only if the exchange
 * still has none. HTTP lives in app.ts.
 */
import { SemperError } from '../../core/errors.js';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { generateSealingKeyPair, sealingPublicJwk } from '../../core/crypto/seal.js';
import { signSealingKey } from '../../core/exchange/sealing.js';
import type { PublicJwk } from '../../core/crypto/jwk.js';
import { readCertificate } from '../../core/pki/index.js';
import type { RevocationSource } from '../../core/pki/revocation.js';
import type { Statement } from '../../core/statements/index.js';
import {
  PROTOCOLS,
  checkTtpRequest,
  ttpMachine,
  ttpRequestKey,
  type TtpContext,
  type TtpEvent,
  type TtpOutbound,
  type TtpRecord,
  type TtpState,
} from '../../core/exchange/index.js';
import { MachineHost } from '../host/step.js';
import { openTtpStore, type PostgresTtpStore, type SqliteTtpStore, type TtpRecordStore, type TtpStoreLocation } from './store.js';

/** What the TTP asks a CA for (server/ca, or a test CA built with core/pki issueCertificate). */
export interface TtpCertificateRequest {
  subjectPublicKey: CryptoKey;
  publicJwk: PublicJwk;
  commonName: string;
  role: 'ttp';
}

/** The CA as a TTP without a stored identity needs it (tests, benchmarks): issue a certificate (base64 DER) and name its root. */
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
  /** SQLite file (or ':memory:'), a PostgreSQL URL, or any store with insert-if-absent. */
  store: TtpRecordStore | TtpStoreLocation;
  clock?: () => number;
  /** Revocation status of certificates in requests (prepared before each step). */
  revocation?: RevocationSource;
  /**
   * The sealing key (ECDH P-256, server/ttp/sealing.ts) givers seal secrets to, which the TTP opens
   * for an affidavit. Without one the TTP announces none, and sealed fields are reported unsealable.
   */
  sealing?: { keyId: string; keys: CryptoKeyPair; jwk: PublicJwk };
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
  private readonly ownsStore: SqliteTtpStore | PostgresTtpStore | null;
  private readonly sealing: TtpServiceOptions['sealing'] | null;
  private sealingStatement: Promise<Statement> | null = null;
  private readonly clock: () => number;
  private readonly context: () => TtpContext;
  private readonly host: MachineHost<TtpState, TtpEvent, TtpContext, TtpOutbound, never, { exchangeId: string }>;
  /** The store bound to this TTP's key (TtpRecordStore.claim): nothing is decided before, or if it failed. */
  private readonly claimed: Promise<void>;

  constructor(options: TtpServiceOptions) {
    if (options.certificateChain.length === 0) throw new SemperError('ERR_CERT_CHAIN', 'the TTP needs a certificate chain');
    this.signer = options.signer;
    this.certificateChain = [...options.certificateChain];
    this.ownsStore = 'path' in options.store || 'url' in options.store ? openTtpStore(options.store) : null;
    this.store = this.ownsStore ?? (options.store as TtpRecordStore);
    this.clock = options.clock ?? Date.now;
    const { trustRoots, revocation } = options;
    this.sealing = options.sealing ?? null;
    const context: TtpContext = {
      signer: this.signer,
      signerRef: { kind: 'x509', chain: this.certificateChain },
      trust: { roots: trustRoots, ...(revocation ? { isRevoked: revocation.isRevoked } : {}) },
      ...(options.sealing ? { sealing: { keyId: options.sealing.keyId, keys: options.sealing.keys } } : {}),
    };
    this.context = () => context;
    this.claimed = this.store.claim ? this.store.claim(this.signer.keyId) : Promise.resolve();
    // Reported by opened() and by every request (handle waits for it).
    this.claimed.catch(() => undefined);
    this.host = new MachineHost({
      machine: ttpMachine,
      store: this.store,
      startParams: (exchangeId) => ({ exchangeId }),
      context: this.context,
      ...(revocation ? { revocation: { source: revocation, roots: trustRoots } } : {}),
    });
  }

  /**
   * A TTP with a fresh key (non-extractable ES256 unless `keys` is given) certified by `ca`.
   * A host that restarts must hand the same key back (`keys`), or exchanges naming the old
   * key are refused: m1 pins the TTP's key. The marketplace keeps its TTP's key with the one
   * identity loader instead (open.ts).
   */
  static async create(params: {
    ca: CertificateAuthorityLike;
    dbPath: string;
    /** PostgreSQL instead of the SQLite file at dbPath. */
    databaseUrl?: string;
    commonName?: string;
    keys?: CryptoKeyPair;
    trustRoots?: readonly string[];
    clock?: () => number;
  }): Promise<TtpService> {
    const keys = params.keys ?? (await generateKeyPair('ES256'));
    const signer = await signerFromKeyPair('ES256', keys);
    const leaf = await params.ca.issue({
      subjectPublicKey: keys.publicKey,
      publicJwk: signer.publicJwk,
      commonName: params.commonName ?? 'Semper TTP',
      role: 'ttp',
    });
    const info = await readCertificate(leaf);
    if (info.publicJwk.x !== signer.publicJwk.x) throw new SemperError('ERR_CERT_CHAIN', 'the CA certified another key than the TTP asked for');
    const sealingKeys = await generateSealingKeyPair();
    const sealing = await sealingPublicJwk(sealingKeys.publicKey);
    const service = new TtpService({
      signer,
      certificateChain: [leaf],
      sealing: { keyId: sealing.keyId, jwk: sealing.jwk, keys: sealingKeys },
      trustRoots: params.trustRoots ?? [params.ca.rootCertificate],
      store: params.databaseUrl ? { url: params.databaseUrl } : { path: params.dbPath },
      ...(params.clock ? { clock: params.clock } : {}),
    });
    return service.opened();
  }

  /** This service once its store is bound to its key; closed, and the store's refusal thrown, if it is another TTP's. */
  async opened(): Promise<this> {
    try {
      await this.claimed;
    } catch (e) {
      await this.close();
      throw e;
    }
    return this;
  }

  get keyId(): string {
    return this.signer.keyId;
  }

  /** What a merchant needs to seal to this TTP: the signed announcement, the key id and the public key. */
  async sealingAnnouncement(): Promise<{ sealingKey: Statement; sealingKeyId: string; sealingJwk: PublicJwk }> {
    const statement = this.sealingKey();
    if (!statement || !this.sealing) throw new SemperError('ERR_NOT_FOUND', 'this TTP has no sealing key');
    return { sealingKey: await statement, sealingKeyId: this.sealing.keyId, sealingJwk: this.sealing.jwk };
  }

  /** The TTP's signed announcement of its sealing key (core/exchange/sealing.ts), or null without one. */
  sealingKey(): Promise<Statement> | null {
    if (!this.sealing) return null;
    this.sealingStatement ??= signSealingKey(this.sealing.jwk, this.signer, this.certificateChain, this.clock()) as Promise<Statement>;
    return this.sealingStatement;
  }

  info(): TtpInfo {
    return { keyId: this.keyId, certificateChain: this.certificateChain, protocols: PROTOCOLS };
  }

  /** Handle one request statement. Throws a SemperError for requests that decide nothing. */
  async handle(request: unknown): Promise<{ answer: Statement; decided: boolean; exchangeId: string }> {
    await this.claimed;
    const now = this.clock();
    let exchangeId: string;
    try {
      exchangeId = ttpRequestKey(request);
    } catch (e) {
      // No well-formed exchange id, so no record to look at: the checker names what is wrong
      // with the request in its usual order (its type first); it cannot pass without an id.
      await checkTtpRequest(request, this.context(), now);
      throw e;
    }
    const step = await this.host.step(exchangeId, { type: 'request', request, now });
    const reply = step.kind === 'stepped' ? step.send[0] : undefined;
    if (!reply) throw new SemperError('ERR_INTERNAL', `the TTP had no answer for exchange ${exchangeId}`);
    return { answer: reply.answer, decided: reply.decided, exchangeId };
  }

  async record(exchangeId: string): Promise<TtpRecord | null> {
    return (await this.store.get(exchangeId))?.state.record ?? null;
  }

  /** Close the store this service opened (a PostgreSQL pool ends asynchronously). */
  async close(): Promise<void> {
    await this.ownsStore?.close();
  }
}
