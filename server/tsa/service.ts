/**
 * The time-stamping authority (RFC 3161): reads a TimeStampReq, stamps its SHA-256 imprint with
 * the current time under the TSA's policy, signs the token with its non-extractable ES256 key and
 * keeps every token it issued (tsa.sqlite, append-only). It never sees the evidence, only its
 * digest.
 *
 * Token facts (docs/timestamps.md): policy TSA_POLICY_OID unless configured; serials 1, 2, 3, …
 * from a persisted counter (positive, unique, never reused after a restart); genTime in UTC with
 * milliseconds; accuracy ±1 s (the host clock, NTP-disciplined, is the time source); the nonce
 * echoed byte for byte; the certificate in the token only when the request set certReq.
 */
import { SemperError } from '../../core/errors.js';
import { certificateToPem } from '../../core/pki/index.js';
import {
  createTimeStampToken,
  grantedResponse,
  parseTimeStampRequest,
  rejectionResponse,
  type TimeStampAccuracy,
  TimeStampRequestError,
} from '../../core/timestamp/index.js';
import { SqliteStore } from '../storage/sqlite.js';
import { TSA_SCHEMA } from './schema.js';

export const TSA_DB_FILE = 'tsa.sqlite';

/**
 * The demo TSA's policy: an OID under the UUID arc 2.25 (ITU-T X.667 / ISO/IEC 9834-8), which
 * anyone may mint without registration, so Semper claims no number in somebody else's arc.
 * Minted once (UUID cfe4edee-4b6a-4ce9-93ac-313a4094f465) for "Semper demo TSA policy v1"; docs/timestamps.md says what it promises.
 */
export const TSA_POLICY_OID = '2.25.276338864621942155313260869663178683493';

/** ±1 s: genTime is the host's clock, which NTP keeps well within that. */
export const DEFAULT_ACCURACY: TimeStampAccuracy = { seconds: 1 };

export interface TsaServiceOptions {
  dataDir: string;
  /** The TSA's key pair; the private key may (should) be non-extractable. */
  keys: CryptoKeyPair;
  /** The TSA's certificate, DER base64: role tsa, EKU id-kp-timeStamping critical. */
  certificate: string;
  /** The rest of the chain up to (and including) the root, DER base64, for GET /tsa/certificate. */
  chain?: readonly string[];
  policy?: string;
  accuracy?: TimeStampAccuracy;
  clock?: () => number;
}

export interface StampOptions {
  /** The nonce to echo. */
  nonce?: bigint;
  /** Put the TSA certificate in the token (default true). */
  certReq?: boolean;
}

export interface IssuedToken {
  serialNumber: bigint;
  genTime: Date;
  token: Uint8Array<ArrayBuffer>;
}

export interface IssuedRecord {
  serialNumber: bigint;
  genTime: string;
  /** Hex SHA-256 imprint. */
  imprint: string;
  nonce: string | null;
  certificateIncluded: boolean;
  token: Uint8Array;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export class TsaService {
  readonly certificate: string;
  /** TSA certificate first, then its issuers. */
  readonly certificateChain: readonly string[];
  readonly policy: string;
  readonly accuracy: TimeStampAccuracy;
  private readonly store: SqliteStore;
  private readonly keys: CryptoKeyPair;
  private readonly clock: () => number;

  private constructor(options: TsaServiceOptions, store: SqliteStore) {
    this.store = store;
    this.keys = options.keys;
    this.certificate = options.certificate;
    this.certificateChain = [options.certificate, ...(options.chain ?? [])];
    this.policy = options.policy ?? TSA_POLICY_OID;
    this.accuracy = options.accuracy ?? DEFAULT_ACCURACY;
    this.clock = options.clock ?? Date.now;
  }

  static open(options: TsaServiceOptions): TsaService {
    if (options.keys.privateKey.algorithm.name !== 'ECDSA') throw new SemperError('ERR_KEY', 'the TSA signs with an ECDSA P-256 key');
    const store = SqliteStore.open({ dataDir: options.dataDir, fileName: TSA_DB_FILE, schema: [TSA_SCHEMA] });
    return new TsaService(options, store);
  }

  /** The tsa.sqlite file. */
  get path(): string {
    return this.store.path;
  }

  /** The chain as PEM (TSA certificate first): for `openssl ts -verify -untrusted` and for people. */
  chainPem(): string {
    return this.certificateChain.map((c) => `${certificateToPem(c).trim()}\n`).join('');
  }

  /** Reserve the next serial: committed before signing, so it is never handed out twice. */
  private reserveSerial(at: number): bigint {
    return this.store.immediate(() => {
      const row = this.store.db.prepare<[number], { serial: number | bigint }>('INSERT INTO tsa_serials (reserved_at) VALUES (?) RETURNING serial').get(at);
      if (!row) throw new SemperError('ERR_INTERNAL', 'no serial reserved');
      return BigInt(row.serial);
    });
  }

  /** Stamp a SHA-256 digest: the in-process path (no request parsing), used by the Timestamper. */
  async stamp(digest: Uint8Array, options: StampOptions = {}): Promise<IssuedToken> {
    if (!(digest instanceof Uint8Array) || digest.length !== 32)
      throw new SemperError('ERR_SCHEMA', 'RFC 3161 §2.4.1: the imprint is a SHA-256 digest of 32 bytes');
    const now = this.clock();
    const serialNumber = this.reserveSerial(now);
    const genTime = new Date(now);
    const certReq = options.certReq ?? true;
    const token = await createTimeStampToken({
      digest,
      serialNumber,
      genTime,
      policy: this.policy,
      accuracy: this.accuracy,
      ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
      certificate: this.certificate,
      includeCertificate: certReq,
      privateKey: this.keys.privateKey,
    });
    this.store.immediate(() => {
      this.store.db
        .prepare('INSERT INTO tsa_tokens (serial, gen_time, imprint, nonce, certificate_included, token) VALUES (?, ?, ?, ?, ?, ?)')
        .run(serialNumber, genTime.toISOString(), hex(digest), options.nonce?.toString() ?? null, certReq ? 1 : 0, Buffer.from(token));
    });
    return { serialNumber, genTime, token };
  }

  /**
   * Answer a DER TimeStampReq with a DER TimeStampResp (RFC 3161 §2.4.2): granted with a token,
   * or a rejection naming the PKIFailureInfo. Never throws for a bad request.
   */
  async respond(request: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    let parsed: ReturnType<typeof parseTimeStampRequest>;
    try {
      parsed = parseTimeStampRequest(request);
    } catch (e) {
      if (e instanceof TimeStampRequestError) return rejectionResponse(e.failure, e.message);
      return rejectionResponse('badRequest', 'RFC 3161 §2.4.1: not a TimeStampReq');
    }
    if (parsed.policy !== undefined && parsed.policy !== this.policy) {
      return rejectionResponse('unacceptedPolicy', `RFC 3161 §2.4.1: this TSA issues tokens under ${this.policy} only`);
    }
    try {
      const issued = await this.stamp(parsed.digest, { ...(parsed.nonce !== undefined ? { nonce: parsed.nonce } : {}), certReq: parsed.certReq });
      return grantedResponse(issued.token);
    } catch (e) {
      console.error('[semper] tsa: stamping failed', e);
      return rejectionResponse('systemFailure', 'the TSA could not issue a token');
    }
  }

  /** A token issued before, by serial. */
  issued(serialNumber: bigint): IssuedRecord | undefined {
    const row = this.store.db
      .prepare<[bigint], { serial: number | bigint; gen_time: string; imprint: string; nonce: string | null; certificate_included: number; token: Buffer }>(
        'SELECT serial, gen_time, imprint, nonce, certificate_included, token FROM tsa_tokens WHERE serial = ?',
      )
      .get(serialNumber);
    if (!row) return undefined;
    return {
      serialNumber: BigInt(row.serial),
      genTime: row.gen_time,
      imprint: row.imprint,
      nonce: row.nonce,
      certificateIncluded: row.certificate_included === 1,
      token: new Uint8Array(row.token),
    };
  }

  /** How many tokens were issued. */
  issuedCount(): number {
    return this.store.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tsa_tokens').get()!.n;
  }

  close(): void {
    this.store.close();
  }
}
