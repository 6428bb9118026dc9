/**
 * The bank: accounts and a double-entry ledger (ledger.ts), denomination keys with rotation
 * (denominations.ts), and the four operations of cash — withdraw, deposit, refresh, refund. HTTP
 * lives in app.ts.
 *
 * Every operation checks everything it can before it writes (signatures, denominations, amounts;
 * the blind signatures and the signed answer are made then too), and then runs ONE write
 * transaction (server/storage/database.ts: BEGIN IMMEDIATE on SQLite, SERIALIZABLE with retries on
 * PostgreSQL) that re-checks what a concurrent request could have changed
 * (balance, request id, spent coins) and writes the posting, the coin rows and the answer
 * together. Nothing is half-applied: a refusal inside the transaction rolls all of it back, and
 * an answer prepared for a refused transaction is never returned.
 *
 * Exactly one deposit of a coin wins: `spent_coins.coin_id` is the primary key, the insert is in
 * the transaction, so of any number of concurrent deposits (or refreshes) of one coin — in this
 * process or another on the same database — one commits and every other gets ERR_DOUBLE_SPEND with
 * the winner's spend statement (signed by the coin's key) as proof.
 *
 * Idempotency: a withdrawal, refresh or refund is served once per request id (the same request
 * again gets the stored answer; another request under the same id ERR_REPLAY); a deposit of the
 * very same spends again gets the stored answer. A retried request never debits twice.
 */
import { createHash } from 'node:crypto';
import { type BankContext, digestSync, heldAmount, openCustomer, openCustomerOfKey, requireAvailable } from './accounts.js';
import { Cheques } from './cheques.js';
import { type AccountOpeningAnswer, type AccountOpeningCodeParams, AccountOpenings } from './opening.js';
import { Transfers } from './transfers.js';
import { type PublicJwk, PublicJwk as PublicJwkSchema, jwkThumbprint, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { canonicalJson, decodeBase64url, encodeBase64url, randomId } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import { type Amount, PAYMENT_PROOF_TYPE, type PaymentProofBody } from '../../core/items/schema.js';
import {
  type BlindedCoin,
  CASH_TYPES,
  DENOMINATIONS_TYPE,
  type DenominationListBody,
  type DenominationSet,
  type DepositAnswer,
  type DepositBody,
  DepositRequest,
  denominationUsable,
  type IssueAnswer,
  type IssueBody,
  importDenominationKey,
  outputsDigest,
  RefreshRequest,
  RefundRequestBody,
  type VerifiedDenomination,
  type VerifiedSpend,
  verifySpend,
  WithdrawalRequestBody,
} from '../../core/payment/cash/index.js';
import type { ReversalAnswer, TransferAnswer } from '../../core/payment/account/index.js';
import type { ClearingAnswer, StopAnswer } from '../../core/payment/cheque/index.js';
import { nowIso, signStatement, type Statement, verifyStatement, type WebAuthnStatementVerifier } from '../../core/statements/index.js';
import { readCertificate } from '../../core/pki/index.js';
import { sql } from 'kysely';
import type { Denomination } from '../../core/payment/cash/denominations.js';
import { Database, type Db, firstOf, isUniqueViolation, migratePostgres, rowsOf } from '../storage/database.js';
import { parseStoredJson, SqliteStore } from '../storage/sqlite.js';
import { generatePersistableEs256, importEs256Pkcs8 } from '../storage/keys.js';
import { DEFAULT_ROTATION, DenominationKeys, type RotationPolicy, type RsaKeyFactory } from './denominations.js';
import { COINS_ACCOUNT, FUNDING_ACCOUNT, Ledger } from './ledger.js';
import { BANK_POSTGRES_MIGRATIONS, BANK_SCHEMA } from './schema.js';

export const BANK_DB_FILE = 'bank.sqlite';

export interface BankServiceOptions {
  dataDir: string;
  fileName?: string;
  /** PostgreSQL (postgres://…, SEMPER_DATABASE_URL) instead of `fileName` in `dataDir`: several bank processes may share it. */
  databaseUrl?: string;
  /** The one currency of this bank (ISO 4217); default CHF. */
  currency?: string;
  rotation?: Partial<RotationPolicy>;
  clock?: () => number;
  /** RSA key maker (tests: a pool of pre-made keys). */
  keyFactory?: RsaKeyFactory;
  /** Key ids of the TTPs whose revocation orders reverse account transfers. */
  trustedTtps?: readonly string[];
  /** The longest revocation window a transfer may ask for (ms); default 30 days. */
  maxRevocationWindow?: number;
  /** Verifier for orders signed with a WebAuthn hardware token; absent: device keys only. */
  webauthn?: WebAuthnStatementVerifier;
  /**
   * The bank's ES256 key when it is kept elsewhere (the marketplace: bank-identity.sqlite, open.ts).
   * Absent: the key in this file's `bank_identity` (made on first open). A file that already holds
   * another key is refused: its statements were signed under that one.
   */
  signingKey?: CryptoKeyPair;
  /** The bank's certificate chain (leaf first, role bank, certifying the signing key): served by info() and signs the certified key list. */
  certificateChain?: readonly string[];
}

export const DEFAULT_MAX_REVOCATION_WINDOW = 30 * 86_400_000;

export interface BankInfo {
  keyId: string;
  publicJwk: PublicJwk;
  currency: string;
  /** The bank's certificate chain (leaf first, role bank), when it has one. */
  certificateChain?: string[];
}

/** The numbers of the conservation invariant (checkInvariants). */
export interface BankTotals {
  /** Money paid in from outside (−balance of the funding account). */
  funding: number;
  customers: number;
  issued: number;
  redeemed: number;
  /** Ledger balance of the coins-outstanding account. */
  coinsOutstanding: number;
}

export { digestSync };

/** The chain's leaf must be a bank certificate for this very key (whether it chains to a root is the verifier's question). */
async function checkBankChain(chain: readonly string[], signer: Signer): Promise<void> {
  const leaf = chain[0];
  if (leaf === undefined) throw new SemperError('ERR_CERT_CHAIN', 'the bank certificate chain is empty');
  const info = await readCertificate(leaf);
  const key = signer.publicJwk;
  if (info.role !== 'bank') throw new SemperError('ERR_CERT_CHAIN', `the bank certificate has role ${info.role ?? 'none'}, not bank`);
  if (info.publicJwk.kty !== 'EC' || key.kty !== 'EC' || info.publicJwk.x !== key.x || info.publicJwk.y !== key.y)
    throw new SemperError('ERR_CERT_CHAIN', 'the bank certificate does not certify the bank key');
}

export class BankService {
  readonly keyId: string;
  readonly currency: string;
  private readonly ledger: Ledger;
  private readonly keys: DenominationKeys;
  private readonly verifiedKeys = new Map<string, VerifiedDenomination>();
  private keyList: { ids: string; statement: Statement } | null = null;
  private certifiedKeyList: { ids: string; statement: Statement } | null = null;
  readonly certificateChain: readonly string[] | undefined;
  private readonly transfers: Transfers;
  private readonly cheques: Cheques;
  private readonly openings: AccountOpenings;

  private constructor(
    readonly database: Database,
    readonly signer: Signer,
    currency: string,
    rotation: RotationPolicy,
    keyFactory: RsaKeyFactory | undefined,
    private readonly clock: () => number,
    accountOptions: Pick<BankServiceOptions, 'trustedTtps' | 'maxRevocationWindow' | 'webauthn'> = {},
    certificateChain?: readonly string[],
  ) {
    this.keyId = signer.keyId;
    this.certificateChain = certificateChain ? [...certificateChain] : undefined;
    this.currency = currency;
    this.ledger = new Ledger(currency);
    this.keys = new DenominationKeys(database, currency, rotation, keyFactory);
    const ctx: BankContext = {
      database,
      ledger: this.ledger,
      signer,
      currency,
      clock,
      trustedTtps: new Set(accountOptions.trustedTtps ?? []),
      maxRevocationWindow: accountOptions.maxRevocationWindow ?? DEFAULT_MAX_REVOCATION_WINDOW,
      ...(accountOptions.webauthn ? { webauthn: accountOptions.webauthn } : {}),
    };
    this.transfers = new Transfers(ctx);
    this.cheques = new Cheques(ctx);
    this.openings = new AccountOpenings(ctx);
  }

  static async open(options: BankServiceOptions): Promise<BankService> {
    let database: Database;
    if (options.databaseUrl) {
      database = Database.postgres(options.databaseUrl);
      try {
        await migratePostgres(database, 'bank', BANK_POSTGRES_MIGRATIONS);
      } catch (e) {
        await database.close();
        throw e;
      }
    } else {
      const store = SqliteStore.open({ dataDir: options.dataDir, fileName: options.fileName ?? BANK_DB_FILE, schema: [BANK_SCHEMA] });
      database = Database.sqlite(store.db);
    }
    const where = options.databaseUrl ? 'the bank database' : (options.fileName ?? BANK_DB_FILE);
    try {
      const clock = options.clock ?? Date.now;
      const row = await firstOf(database.db, sql<{ pkcs8: Buffer }>`SELECT pkcs8 FROM bank_identity WHERE id = 1`);
      let keys: CryptoKeyPair;
      if (options.signingKey) {
        keys = options.signingKey;
        if (row) {
          const stored = await signerFromKeyPair('ES256', await importEs256Pkcs8(new Uint8Array(row.pkcs8)));
          const given = await signerFromKeyPair('ES256', keys);
          if (stored.keyId !== given.keyId) throw new SemperError('ERR_KEY', `${where} holds another bank key (${stored.keyId})`);
        }
      } else if (row) keys = await importEs256Pkcs8(new Uint8Array(row.pkcs8));
      else {
        const made = await generatePersistableEs256();
        // Several processes opening a new database at once: the first key stored is the bank's key.
        await database.write((tx) =>
          sql`INSERT INTO bank_identity (id, pkcs8, created_at) VALUES (1, ${Buffer.from(made.pkcs8)}, ${clock()}) ON CONFLICT DO NOTHING`.execute(tx),
        );
        const stored = await firstOf(database.db, sql<{ pkcs8: Buffer }>`SELECT pkcs8 FROM bank_identity WHERE id = 1`);
        keys = await importEs256Pkcs8(new Uint8Array(stored!.pkcs8));
      }
      const signer = await signerFromKeyPair('ES256', keys);
      if (options.certificateChain) await checkBankChain(options.certificateChain, signer);
      const bank = new BankService(
        database,
        signer,
        options.currency ?? 'CHF',
        { ...DEFAULT_ROTATION, ...options.rotation },
        options.keyFactory,
        clock,
        {
          ...(options.trustedTtps ? { trustedTtps: options.trustedTtps } : {}),
          ...(options.maxRevocationWindow !== undefined ? { maxRevocationWindow: options.maxRevocationWindow } : {}),
          ...(options.webauthn ? { webauthn: options.webauthn } : {}),
        },
        options.certificateChain,
      );
      await database.write((tx) => bank.ledger.ensureSystemAccounts(tx, clock()));
      await bank.keys.ensure(clock());
      return bank;
    } catch (e) {
      await database.close();
      throw e;
    }
  }

  /** Close the database (SQLite: the file; PostgreSQL: the pool). */
  async close(): Promise<void> {
    await this.database.close();
  }

  private get pool(): Db {
    return this.database.db;
  }

  info(): BankInfo {
    return {
      keyId: this.keyId,
      publicJwk: this.signer.publicJwk,
      currency: this.currency,
      ...(this.certificateChain ? { certificateChain: [...this.certificateChain] } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Accounts (operator side: opening and funding are not HTTP routes in this slice)

  /** Open a customer account for the holder of `publicJwk` (one account per key). */
  async openAccount(publicJwk: PublicJwk): Promise<string> {
    const jwk = PublicJwkSchema.parse(publicJwk);
    const keyId = await jwkThumbprint(jwk);
    const id = randomId(16);
    try {
      await this.database.write((tx) =>
        sql`INSERT INTO accounts (id, kind, key_id, public_jwk, currency, opened_at)
          VALUES (${id}, 'customer', ${keyId}, ${canonicalJson(jwk)}, ${this.currency}, ${this.clock()})`.execute(tx),
      );
    } catch (e) {
      if (isUniqueViolation(e)) throw new SemperError('ERR_REPLAY', 'this key already has an account');
      throw e;
    }
    return id;
  }

  /** Money paid in from outside (a transfer, cash at the counter): one posting, funding → account. */
  async fund(account: string, amount: number): Promise<void> {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new SemperError('ERR_SCHEMA', 'funding is a positive integer');
    await this.database.write(async (tx) => {
      if (!(await openCustomer(tx, account))) throw new SemperError('ERR_NOT_FOUND', 'no such open account');
      await this.ledger.post(
        tx,
        randomId(16),
        'funding',
        null,
        [
          { account: FUNDING_ACCOUNT, amount: -amount },
          { account, amount },
        ],
        this.clock(),
      );
    });
  }

  /**
   * Everything the bank stored about one deal (the payments' `reference`), as the JSON it keeps:
   * deposits' answers and the spends they redeemed, transfers (order and answer) and their reversals,
   * cheque clearings (cheque, presentment, answer) and bounces. For the evidence export (app.ts):
   * the statements in it are what the bank signed or was handed, each for this deal.
   */
  async recordsOfDeal(reference: string): Promise<unknown[]> {
    const q = this.pool;
    const texts: string[] = [];
    const add = (rows: Record<string, string>[]) => {
      for (const row of rows) texts.push(...Object.values(row));
    };
    add(await rowsOf(q, sql<Record<string, string>>`SELECT answer FROM deposits WHERE reference = ${reference}`));
    add(await rowsOf(q, sql<Record<string, string>>`SELECT spend FROM spent_coins WHERE ${this.database.jsonField('spend', 'dealId')} = ${reference}`));
    add(await rowsOf(q, sql<Record<string, string>>`SELECT request, answer FROM transfers WHERE reference = ${reference}`));
    add(
      await rowsOf(
        q,
        sql<
          Record<string, string>
        >`SELECT r.request, r.answer FROM reversals r JOIN transfers t ON t.request_id = r.transfer_request_id WHERE t.reference = ${reference}`,
      ),
    );
    add(await rowsOf(q, sql<Record<string, string>>`SELECT cheque, presentment, answer FROM cheque_clearings WHERE reference = ${reference}`));
    add(await rowsOf(q, sql<Record<string, string>>`SELECT answer FROM cheque_bounces WHERE ${this.database.jsonField('answer', 'dealId')} = ${reference}`));
    return texts.map((text) => parseStoredJson(text, 'bank record'));
  }

  balance(account: string): Promise<number> {
    return this.ledger.balance(this.pool, account);
  }

  /** The open account of a key. */
  async accountOfKey(keyId: string): Promise<string | undefined> {
    return (await openCustomerOfKey(this.pool, keyId))?.id;
  }

  /** What the account may spend now: its balance less incoming revocable transfers still in their window. */
  available(account: string): Promise<number> {
    return this.database.read(async (q) => (await this.ledger.balance(q, account)) - (await heldAmount(q, account, this.clock())));
  }

  /** Close an account (operator): only when it holds nothing; a closed account is never debited or credited again. */
  async closeAccount(account: string): Promise<void> {
    await this.database.write(async (tx) => {
      if (!(await openCustomer(tx, account))) throw new SemperError('ERR_NOT_FOUND', 'no such open account');
      const balance = await this.ledger.balance(tx, account);
      if (balance !== 0) throw new SemperError('ERR_FORBIDDEN', `account ${account} still holds ${balance}`);
      // A reversal owed to it would credit a closed account.
      const revocable = (await firstOf(
        tx,
        sql<{ n: number }>`SELECT COUNT(*) AS n FROM transfers t WHERE t.payer_account = ${account} AND t.revocable_until >= ${this.clock()}
             AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.transfer_request_id = t.request_id)`,
      ))!.n;
      if (revocable > 0) throw new SemperError('ERR_FORBIDDEN', `account ${account} has ${revocable} transfers still revocable`);
      await sql`INSERT INTO account_closures (account_id, at) VALUES (${account}, ${this.clock()})`.execute(tx);
    });
  }

  /**
   * A one-time account-opening code for `name` (operator), paying in `amount` on opening; older
   * unused codes for the same name are withdrawn. Returned once; only its SHA-256 is stored.
   */
  createAccountOpeningCode(params: AccountOpeningCodeParams): Promise<string> {
    return this.openings.createCode(params);
  }

  /** The account a code for `name` opened, if one did. */
  accountOpenedFor(name: string): Promise<string | undefined> {
    return this.openings.openedFor(name);
  }

  /** The stored hash of an issued account-opening code (the HTTP limit counts attempts per code), else undefined. */
  accountOpeningCodeKey(code: string): Promise<string | undefined> {
    return this.openings.codeKey(code);
  }

  /** A holder's `semper.bank.account-opening` with a code → the account, opened, funded and bound to the signer's key (opening.ts). */
  openAccountWithCode(request: unknown): Promise<AccountOpeningAnswer> {
    return this.openings.open(request);
  }

  // ---------------------------------------------------------------------------------------------
  // Account transfers and cheques (transfers.ts, cheques.ts)

  /** A transfer order signed by the payer account's key → { receipt, proof }. */
  transfer(order: unknown): Promise<TransferAnswer> {
    return this.transfers.transfer(order);
  }

  /** { requestId, order }: a trusted TTP's revocation order (in the window) or the payee's refund → the reversal. */
  revoke(request: unknown): Promise<ReversalAnswer> {
    return this.transfers.revoke(request);
  }

  /** A payee's signed presentment of a cheque → { receipt, proof }, or a typed refusal. */
  presentCheque(presentment: unknown): Promise<ClearingAnswer> {
    return this.cheques.present(presentment);
  }

  /** The drawer's stop order for one cheque serial. */
  stopCheque(stop: unknown): Promise<StopAnswer> {
    return this.cheques.stop(stop);
  }

  // ---------------------------------------------------------------------------------------------
  // Denominations

  /** The signed key list (`semper.bank.denominations`), re-signed when the listed keys change. */
  async denominationList(): Promise<Statement> {
    const now = this.clock();
    await this.keys.ensure(now);
    const denominations = this.keys.listed(now);
    const ids = denominations.map((d) => d.id).join(',');
    if (this.keyList?.ids === ids) return this.keyList.statement;
    const body: DenominationListBody = { bankKeyId: this.keyId, denominations };
    const statement = (await signStatement(
      { type: DENOMINATIONS_TYPE, version: 1, dealId: 'denominations', issuedAt: nowIso(now), body },
      this.signer,
    )) as Statement;
    this.keyList = { ids, statement };
    return statement;
  }

  /**
   * The same key list signed under the bank's certificate (signer x509, the chain of info()), for
   * wallets that trust the bank through a CA root rather than a pinned key id
   * (verifyDenominationList with `trust`). Undefined for a bank without a certificate.
   */
  async certifiedDenominationList(): Promise<Statement | undefined> {
    const chain = this.certificateChain;
    if (!chain) return undefined;
    const now = this.clock();
    await this.keys.ensure(now);
    const denominations = this.keys.listed(now);
    const ids = denominations.map((d) => d.id).join(',');
    if (this.certifiedKeyList?.ids === ids) return this.certifiedKeyList.statement;
    const body: DenominationListBody = { bankKeyId: this.keyId, denominations };
    const statement = (await signStatement({ type: DENOMINATIONS_TYPE, version: 1, dealId: 'denominations', issuedAt: nowIso(now), body }, this.signer, {
      signerRef: { kind: 'x509', chain: [...chain] },
    })) as Statement;
    this.certifiedKeyList = { ids, statement };
    return statement;
  }

  /** Rotation now (also done on every key list request). */
  rotate(): Promise<boolean> {
    return this.keys.ensure(this.clock());
  }

  /** Add a key with chosen times (tests of expiry and rotation). */
  addDenomination(value: number, times: { validFrom: number; withdrawUntil?: number; spendUntil?: number; depositUntil?: number }) {
    const { validFrom, ...rest } = times;
    return this.keys.add(value, validFrom, this.clock(), rest) as Promise<Denomination>;
  }

  /** Every key the bank ever made, as core's verifiers take them (times are checked per use). */
  private async denominationSet(ids: readonly string[] = []): Promise<DenominationSet> {
    await this.keys.know(ids);
    for (const k of this.keys.all()) {
      const d = k.denomination;
      if (!this.verifiedKeys.has(d.id)) this.verifiedKeys.set(d.id, { ...d, publicKey: await importDenominationKey(d.rsaPublicKey) });
    }
    return { bankKeyId: this.keyId, byId: this.verifiedKeys };
  }

  /** The value of the asked coins: each of a denomination issuing at `now`, in this bank's currency (before any signing). */
  private priceOf(coins: readonly BlindedCoin[], now: number): number {
    let value = 0;
    for (const c of coins) {
      const key = this.keys.get(c.denominationId);
      if (!key) throw new SemperError('ERR_DENOMINATION', `unknown denomination ${c.denominationId}`);
      if (!denominationUsable(key.denomination, 'withdraw', now))
        throw new SemperError('ERR_DENOMINATION', `denomination ${c.denominationId} does not issue now`);
      value += key.denomination.value.amount;
    }
    return value;
  }

  /** Blind-sign every asked coin (priced by priceOf first). */
  private blindSignAll(coins: readonly BlindedCoin[]): string[] {
    return coins.map((c) => encodeBase64url(this.keys.get(c.denominationId)!.blindSign(decodeBase64url(c.blindedMsg))));
  }

  private amount(value: number): Amount {
    return { amount: value, currency: this.currency };
  }

  // ---------------------------------------------------------------------------------------------
  // Issuing: withdrawal, refund, refresh

  /** The stored answer of a request id already served (same request), ERR_REPLAY (another), or undefined. */
  private async served(q: Db, requestId: string, requestDigest: string): Promise<IssueAnswer | undefined> {
    const row = await firstOf(q, sql<{ request_digest: string; answer: string }>`SELECT request_digest, answer FROM issues WHERE request_id = ${requestId}`);
    if (!row) return undefined;
    if (row.request_digest !== requestDigest) throw new SemperError('ERR_REPLAY', `request id ${requestId} was used for another request`);
    return JSON.parse(row.answer) as IssueAnswer;
  }

  private async signIssue(body: IssueBody, dealId: string, now: number): Promise<IssueAnswer> {
    const receipt = (await signStatement({ type: CASH_TYPES.issue, version: 1, dealId, issuedAt: nowIso(now), body }, this.signer)) as Statement;
    return { receipt };
  }

  /** Withdrawal: the account holder's signed request debits the account for blind-signed coins. */
  withdraw(request: unknown): Promise<IssueAnswer> {
    return this.issueFromAccount('withdrawal', request);
  }

  /** Refund: the merchant's signed request debits its account for coins blinded by the shopper. */
  refund(request: unknown): Promise<IssueAnswer> {
    return this.issueFromAccount('refund', request);
  }

  private async issueFromAccount(kind: 'withdrawal' | 'refund', input: unknown): Promise<IssueAnswer> {
    const type = kind === 'withdrawal' ? CASH_TYPES.withdrawalRequest : CASH_TYPES.refundRequest;
    const verified = await verifyStatement(input, { types: [type] });
    const parsed = (kind === 'withdrawal' ? WithdrawalRequestBody : RefundRequestBody).safeParse(verified.statement.body);
    if (!parsed.success)
      throw new SemperError('ERR_SCHEMA', `${type}: ${parsed.error.issues[0]?.path.join('.') ?? '$'}: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
    const body = parsed.data;
    const reference = kind === 'refund' ? (body as RefundRequestBody).reference : undefined;
    if (verified.statement.dealId !== (reference ?? body.requestId))
      throw new SemperError('ERR_SCHEMA', `${type}: dealId must be the ${reference ? 'reference' : 'request id'}`);
    // A missing account and a stranger's key get the same answer: account ids are not probed this way.
    const account = await openCustomer(this.pool, body.account);
    if (!account || account.keyId !== (await jwkThumbprint(verified.signerJwk))) {
      throw new SemperError('ERR_FORBIDDEN', `${type} is not signed by the account's registered key`);
    }
    const requestDigest = digestSync(verified.statement);
    const done = await this.served(this.pool, body.requestId, requestDigest);
    if (done) return done;
    const now = this.clock();
    await this.keys.know(body.coins.map((c) => c.denominationId));
    const value = this.priceOf(body.coins, now);
    // Before signing anything: most refusals need no transaction (the transaction checks again).
    await requireAvailable(this.pool, this.ledger, account.id, value, now);
    const signatures = this.blindSignAll(body.coins);
    const answer = await this.signIssue(
      {
        requestId: body.requestId,
        kind,
        account: account.id,
        ...(reference ? { reference } : {}),
        value: this.amount(value),
        request: requestDigest,
        blindSignatures: signatures,
      },
      reference ?? body.requestId,
      now,
    );
    return this.database.write(async (tx) => {
      const again = await this.served(tx, body.requestId, requestDigest);
      if (again) return again;
      await requireAvailable(tx, this.ledger, account.id, value, now);
      const postingId = randomId(16);
      await this.ledger.post(
        tx,
        postingId,
        kind,
        reference ?? null,
        [
          { account: account.id, amount: -value },
          { account: COINS_ACCOUNT, amount: value },
        ],
        now,
      );
      await this.insertIssue(tx, body.requestId, kind, account.id, requestDigest, verified.statement, postingId, value, answer, now);
      return answer;
    });
  }

  private async insertIssue(
    q: Db,
    requestId: string,
    kind: string,
    account: string | null,
    digest: string,
    request: unknown,
    postingId: string,
    value: number,
    answer: IssueAnswer,
    now: number,
  ): Promise<void> {
    await sql`INSERT INTO issues (request_id, kind, account_id, request_digest, request, posting_id, value, answer, at)
      VALUES (${requestId}, ${kind}, ${account}, ${digest}, ${canonicalJson(request)}, ${postingId}, ${value}, ${canonicalJson(answer)}, ${now})`.execute(q);
  }

  /** Record coins as spent, inside the caller's transaction; a coin seen before is ERR_DOUBLE_SPEND with the first spend. */
  private async spendCoins(
    q: Db,
    spends: readonly VerifiedSpend[],
    digests: readonly string[],
    kind: 'deposit' | 'refresh',
    redemptionId: string,
    now: number,
  ): Promise<void> {
    for (const [i, s] of spends.entries()) {
      // ON CONFLICT DO NOTHING rather than catching the violation: PostgreSQL aborts a transaction at
      // its first error, and the first spend is read in this same transaction.
      const inserted = await rowsOf(
        q,
        sql<{ coin_id: string }>`INSERT INTO spent_coins (coin_id, denomination_id, value, spend_digest, spend, kind, redemption_id, at)
          VALUES (${s.coinId}, ${s.denomination.id}, ${s.denomination.value.amount}, ${digests[i]!}, ${canonicalJson(s.statement)}, ${kind}, ${redemptionId}, ${now})
          ON CONFLICT (coin_id) DO NOTHING RETURNING coin_id`,
      );
      if (inserted.length === 1) continue;
      const first = await firstOf(q, sql<{ spend: string }>`SELECT spend FROM spent_coins WHERE coin_id = ${s.coinId}`);
      throw new SemperError('ERR_DOUBLE_SPEND', `coin ${s.coinId} was spent before`, {
        coinId: s.coinId,
        proof: first ? (JSON.parse(first.spend) as unknown) : null,
      });
    }
  }

  /** Check every spend of a request; one coin once. */
  private async verifySpends(
    spends: readonly unknown[],
    expect: { payee?: string; reference?: string; outputs?: string },
    now: number,
  ): Promise<VerifiedSpend[]> {
    const denominations = await this.denominationSet(spends.map(denominationIdOf).filter(Boolean));
    const out: VerifiedSpend[] = [];
    for (const s of spends) {
      const first = out[0]?.body;
      const v = await verifySpend(s, {
        denominations,
        now,
        use: 'deposit',
        ...(expect.outputs ? { outputs: expect.outputs } : {}),
        ...((expect.payee ?? first?.payee) ? { payee: (expect.payee ?? first?.payee)! } : {}),
        ...((expect.reference ?? first?.reference) ? { reference: (expect.reference ?? first?.reference)! } : {}),
      });
      if (v.body.value.currency !== this.currency) throw new SemperError('ERR_DENOMINATION', `this bank keeps ${this.currency}`);
      if (out.some((o) => o.coinId === v.coinId)) throw new SemperError('ERR_SCHEMA', `coin ${v.coinId} twice in one request`);
      out.push(v);
    }
    return out;
  }

  /** Refresh: old coins (spent to the bank, bound to the outputs) for new blind-signed coins of the same total. */
  async refresh(input: unknown): Promise<IssueAnswer> {
    const parsed = RefreshRequest.safeParse(input);
    if (!parsed.success)
      throw new SemperError('ERR_SCHEMA', `refresh: ${parsed.error.issues[0]?.path.join('.') ?? '$'}: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
    const req = parsed.data;
    const requestDigest = digestSync(req);
    const done = await this.served(this.pool, req.requestId, requestDigest);
    if (done) return done;
    const now = this.clock();
    await this.keys.know(req.outputs.map((c) => c.denominationId));
    const spends = await this.verifySpends(req.spends, { payee: this.keyId, reference: req.requestId, outputs: await outputsDigest(req.outputs) }, now);
    const inValue = spends.reduce((n, s) => n + s.denomination.value.amount, 0);
    const value = this.priceOf(req.outputs, now);
    if (value !== inValue) throw new SemperError('ERR_DENOMINATION', `refresh of ${inValue} into ${value}: totals differ`);
    const signatures = this.blindSignAll(req.outputs);
    const digests = spends.map((s) => digestSync(s.statement));
    const answer = await this.signIssue(
      { requestId: req.requestId, kind: 'refresh', value: this.amount(value), request: requestDigest, blindSignatures: signatures },
      req.requestId,
      now,
    );
    return this.database.write(async (tx) => {
      const again = await this.served(tx, req.requestId, requestDigest);
      if (again) return again;
      await this.spendCoins(tx, spends, digests, 'refresh', req.requestId, now);
      const postingId = randomId(16);
      await this.ledger.post(
        tx,
        postingId,
        'refresh',
        req.requestId,
        [
          { account: COINS_ACCOUNT, amount: -value },
          { account: COINS_ACCOUNT, amount: value },
        ],
        now,
      );
      await this.insertIssue(tx, req.requestId, 'refresh', null, requestDigest, req, postingId, value, answer, now);
      return answer;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Deposit

  /** Deposit spends of one payee for one reference: the payee's account is credited, all or nothing. */
  async deposit(input: unknown): Promise<DepositAnswer> {
    const parsed = DepositRequest.safeParse(input);
    if (!parsed.success)
      throw new SemperError('ERR_SCHEMA', `deposit: ${parsed.error.issues[0]?.path.join('.') ?? '$'}: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
    const now = this.clock();
    const spends = await this.verifySpends(parsed.data.spends, {}, now);
    if (spends.some((s) => s.body.outputs !== undefined)) throw new SemperError('ERR_ITEM_MISMATCH', 'a refresh spend is not deposited');
    const { payee, reference } = spends[0]!.body;
    const account = await this.accountOfKey(payee);
    if (!account) throw new SemperError('ERR_NOT_FOUND', `no account for payee ${payee}`);
    const digests = spends.map((s) => digestSync(s.statement));
    const batchDigest = createHash('sha256')
      .update([...digests].sort().join(','))
      .digest('base64url');
    const stored = await this.storedDeposit(this.pool, batchDigest);
    if (stored) return stored;
    const value = spends.reduce((n, s) => n + s.denomination.value.amount, 0);
    const depositId = randomId(16);
    const proofBody: PaymentProofBody = { method: 'cash', value: this.amount(value), payee, reference };
    const proof = (await signStatement(
      { type: PAYMENT_PROOF_TYPE, version: 1, dealId: reference, issuedAt: nowIso(now), body: proofBody },
      this.signer,
    )) as Statement;
    const receiptBody: DepositBody = { depositId, account, payee, reference, value: this.amount(value), spends: digests, proof: digestSync(proof) };
    const receipt = (await signStatement(
      { type: CASH_TYPES.deposit, version: 1, dealId: reference, issuedAt: nowIso(now), body: receiptBody },
      this.signer,
    )) as Statement;
    const answer: DepositAnswer = { receipt, proof };
    // READ COMMITTED on PostgreSQL: the spent-coin primary key alone decides which deposit of a coin
    // wins (an insert that meets a concurrent one waits for it, then does nothing), and a deposit
    // checks no balance; under SERIALIZABLE concurrent deposits of different coins abort each other.
    return this.database.write(
      async (tx) => {
        try {
          await this.spendCoins(tx, spends, digests, 'deposit', depositId, now);
        } catch (e) {
          // The very same spends deposited after the check above (a retry, another process): the other
          // deposit committed first; its answer. Its spent coins decide, so no re-check comes first.
          const stored = await this.storedDeposit(tx, batchDigest);
          if (stored) return stored;
          throw e;
        }
        const postingId = randomId(16);
        await this.ledger.post(
          tx,
          postingId,
          'deposit',
          reference,
          [
            { account: COINS_ACCOUNT, amount: -value },
            { account, amount: value },
          ],
          now,
        );
        await sql`INSERT INTO deposits (id, batch_digest, account_id, payee, reference, value, posting_id, answer, at)
        VALUES (${depositId}, ${batchDigest}, ${account}, ${payee}, ${reference}, ${value}, ${postingId}, ${canonicalJson(answer)}, ${now})`.execute(tx);
        return answer;
      },
      { isolation: 'read committed' },
    );
  }

  private async storedDeposit(q: Db, batchDigest: string): Promise<DepositAnswer | undefined> {
    const row = await firstOf(q, sql<{ answer: string }>`SELECT answer FROM deposits WHERE batch_digest = ${batchDigest}`);
    return row ? (JSON.parse(row.answer) as DepositAnswer) : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants

  /**
   * Money is conserved: customers' balances + the value of coins outstanding (issued − redeemed,
   * from the coin tables) = the money paid in; the coins account of the ledger agrees with the
   * coin tables; every posting balances. Throws ERR_INTERNAL naming the first broken rule.
   */
  /**
   * Money between customers moves only by a recorded order, and exactly as the order says: every
   * transfer, reversal and cheque clearing has a posting of two entries, its amount out of the
   * debited account and into the credited one; every such posting belongs to one row; a reversal
   * gives back exactly its transfer's amount; no account's balance is below what it holds for
   * revocable transfers still in their window (so every reversal the bank owes is covered).
   */
  private async checkCustomerMovements(q: Db): Promise<void> {
    // Table and column names are this method's constants, never input.
    const moved = (table: string, debit: string, credit: string, amount: string, join = '') =>
      rowsOf(
        q,
        sql.raw<{ posting_id: string }>(
          `SELECT x.posting_id FROM ${table} x ${join}
           WHERE (SELECT COUNT(*) FROM entries e WHERE e.posting_id = x.posting_id) <> 2
              OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.posting_id = x.posting_id AND e.account_id = ${debit} AND e.amount = -${amount})
              OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.posting_id = x.posting_id AND e.account_id = ${credit} AND e.amount = ${amount})`,
        ),
      );
    const wrong = [
      ...(await moved('transfers', 'x.payer_account', 'x.payee_account', 'x.amount')),
      ...(await moved('reversals', 't.payee_account', 't.payer_account', 't.amount', 'JOIN transfers t ON t.request_id = x.transfer_request_id')),
      ...(await moved('cheque_clearings', 'x.drawer_account', 'x.payee_account', 'x.amount')),
    ];
    if (wrong.length) throw new SemperError('ERR_INTERNAL', `postings that do not move what their order says: ${wrong.map((w) => w.posting_id).join(', ')}`);
    const orphans = await rowsOf(
      q,
      sql<{ id: string }>`SELECT p.id FROM postings p WHERE p.kind IN ('transfer', 'reversal', 'cheque')
           AND (SELECT COUNT(*) FROM transfers WHERE posting_id = p.id) + (SELECT COUNT(*) FROM reversals WHERE posting_id = p.id)
             + (SELECT COUNT(*) FROM cheque_clearings WHERE posting_id = p.id) <> 1`,
    );
    if (orphans.length) throw new SemperError('ERR_INTERNAL', `customer postings without exactly one order: ${orphans.map((o) => o.id).join(', ')}`);
    const badReversal = await rowsOf(
      q,
      sql<{ id: string }>`SELECT r.id FROM reversals r JOIN transfers t ON t.request_id = r.transfer_request_id WHERE r.amount <> t.amount`,
    );
    if (badReversal.length) throw new SemperError('ERR_INTERNAL', `reversals of another amount: ${badReversal.map((r) => r.id).join(', ')}`);
    const now = this.clock();
    const accounts = await rowsOf(q, sql<{ id: string }>`SELECT id FROM accounts WHERE kind = 'customer'`);
    for (const a of accounts) {
      const held = await heldAmount(q, a.id, now);
      if (held > 0 && (await this.ledger.balance(q, a.id)) < held)
        throw new SemperError('ERR_INTERNAL', `account ${a.id} holds less than its revocable incoming transfers`);
    }
  }

  checkInvariants(): Promise<BankTotals> {
    return this.database.read(async (q) => {
      const unbalanced = await this.ledger.unbalancedPostings(q);
      if (unbalanced.length) throw new SemperError('ERR_INTERNAL', `postings do not balance: ${unbalanced.map((u) => u.posting_id).join(', ')}`);
      const issued = (await firstOf(q, sql<{ v: number }>`SELECT COALESCE(SUM(value), 0) AS v FROM issues`))!.v;
      const redeemed = (await firstOf(q, sql<{ v: number }>`SELECT COALESCE(SUM(value), 0) AS v FROM spent_coins`))!.v;
      const totals: BankTotals = {
        funding: -(await this.ledger.balance(q, FUNDING_ACCOUNT)),
        customers: await this.ledger.customerTotal(q),
        issued,
        redeemed,
        coinsOutstanding: await this.ledger.balance(q, COINS_ACCOUNT),
      };
      if (totals.coinsOutstanding !== issued - redeemed) {
        throw new SemperError('ERR_INTERNAL', `coins account ${totals.coinsOutstanding} ≠ issued ${issued} − redeemed ${redeemed}`);
      }
      if (totals.customers + issued - redeemed !== totals.funding) {
        throw new SemperError('ERR_INTERNAL', `customers ${totals.customers} + outstanding ${issued - redeemed} ≠ funding ${totals.funding}`);
      }
      const negative = await rowsOf(
        q,
        sql<{
          id: string;
        }>`SELECT a.id FROM accounts a JOIN entries e ON e.account_id = a.id WHERE a.kind IN ('customer', 'coins') GROUP BY a.id HAVING SUM(e.amount) < 0`,
      );
      if (negative.length) throw new SemperError('ERR_INTERNAL', `negative balance: ${negative.map((n) => n.id).join(', ')}`);
      await this.checkCustomerMovements(q);
      return totals;
    });
  }
}

/** The denomination a spend names (to load keys another process made before verifying it); '' if it names none. */
function denominationIdOf(spend: unknown): string {
  const body = typeof spend === 'object' && spend !== null ? (spend as { body?: unknown }).body : undefined;
  const coin = typeof body === 'object' && body !== null ? (body as { coin?: unknown }).coin : undefined;
  const id = typeof coin === 'object' && coin !== null ? (coin as { denominationId?: unknown }).denominationId : undefined;
  return typeof id === 'string' ? id : '';
}
