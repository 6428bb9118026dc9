/**
 * The wallet in the worker: what the operations (operations/handlers/wallet.ts) and the deal code
 * ask of the purses, around the one host (worker/host.ts) that runs them (purse.ts).
 *
 * I/O lives here, never in a step: GETs of the bank's key and denomination list, the account key
 * (key store), blinding (`prepareCoins`: the platform CSPRNG, in an offscreen task), the backup's encryption. Each user
 * request becomes one event on the purse's machine; the service then waits until the state the
 * host persisted says how it ended (the host calls `onChanged` after every persisted step).
 *
 * `pay` is the function the fair purchase calls: pay a payee (key id) for a deal from the purse at
 * a bank, the spends deposited at the bank itself, resolving with the bank's proof and the money
 * item. The intent is in the purse's state: after a restart the purse finishes it, and calling
 * `pay` again with the same reference returns its outcome (never pays twice).
 *
 * `transfer` pays the same way by account transfer: the order is signed here with the account key
 * (the key store), then recorded by the purse before it leaves and re-sent as is until the bank
 * answers; the money item is the bank's proof (`accountMoneyItem`). Idempotent by reference, too.
 */
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import type { Signer } from '../../core/crypto/keys.js';
import { canonicalJson, randomId } from '../../core/encoding/index.js';
import { SemperError, type SemperErrorCode } from '../../core/errors.js';
import type { Amount, MoneyItem } from '../../core/items/schema.js';
// The cash modules one by one, not their barrel: blinding (blind.ts, @cloudflare/blindrsa-ts) is
// `prepareCoins`, an offscreen task in the worker (cash-tasks.ts), not part of its start bundle.
import { type CoinSecret, verifyCoin } from '../../core/payment/cash/coin.js';
import { type DenominationSet, denominationUsable, type VerifiedDenomination, verifyDenominationList } from '../../core/payment/cash/denominations.js';
import { balance, decompose, selectCoins, spendableCoins } from '../../core/payment/cash/wallet.js';
import { accountMoneyItem, transferOrder } from '../../core/payment/account/index.js';
import { chequePayment } from '../../core/payment/cheque/index.js';
import { cryptoRandom } from '../../core/machine.js';
import { deviceKeySigner } from '../../core/payment/signing.js';
import { nowIso, signStatement, type Statement } from '../../core/statements/index.js';
import type { DealRecord, WalletRecord } from '../deals/records.js';
import { decryptBackup, encryptBackup } from './backup.js';
import { type HistoryEntry, type PurseBackup, type PurseEvent, type PurseParams, type PurseState, purseBackup } from './purse.js';

export const ACCOUNT_OPENING_TYPE = 'semper.bank.account-opening';
/** How long an operation waits for the bank before answering "still pending" (the purse goes on). */
export const OPERATION_WAIT_MS = 30_000;
/** History entries `status` returns per purse (newest first). */
export const STATUS_HISTORY = 50;

export interface WalletServiceDeps {
  host: {
    start(kind: 'wallet', origin: string, params: PurseParams): Promise<DealRecord>;
    event(dealId: string, event: PurseEvent): Promise<DealRecord>;
  };
  /** The purses (the host's store for kind 'wallet'). */
  purses: { get(dealId: string): Promise<DealRecord | undefined>; listAll(): Promise<DealRecord[]> };
  keys: { newAccountKey(bank: string): Promise<{ keyId: string }>; accountSigner(keyId: string): Promise<Signer> };
  /** GET a bank's JSON document (`${bankUrl}${path}`): no cookies, no redirects, bounded. */
  getJson(url: string): Promise<unknown>;
  /** The user's trusted CA roots (a certified key list is shown as certified). */
  roots(): Promise<string[]>;
  now(): number;
  /** Fresh blinded coins of these denominations (core/payment/cash/blind.ts prepareCoin; the worker's is cash-tasks.ts). */
  prepareCoins(denominations: readonly VerifiedDenomination[]): Promise<CoinSecret[]>;
  waitMs?: number;
  /** PBKDF2 iterations for new backups (tests lower it; the file says how many were used). */
  backupIterations?: number;
}

export interface PurseSummary {
  purseId: string;
  bankUrl: string;
  /** The pinned bank key's id (its fingerprint). */
  bankKeyId: string;
  /** The bank's key list also verifies under a certificate (role bank) chaining to one of the user's roots. */
  certified: boolean;
  account?: string;
  phase: PurseState['phase'];
  balance: Amount | null;
  coins: { value: Amount; count: number }[];
  /** Coins whose spends left in a payment that did not complete: refreshed before they pay again. */
  exposed: number;
  pending: { kind: string; requestId: string; amount?: Amount; attempts: number; retryAt?: string; reference?: string }[];
  payments: { reference: string; payee: string; amount: Amount; phase: string; error?: { code: string; message: string } }[];
  history: (Omit<HistoryEntry, 'at'> & { at: string })[];
  error?: { code: string; message: string };
}

export interface PayRequest {
  bankUrl: string;
  /** The payee's key id (the merchant key a money description names). */
  payee: string;
  /** The deal id. */
  reference: string;
  amount: Amount;
}

export interface PayResult {
  proof: Statement;
  item: MoneyItem;
}

/** A bank's URL as a purse keeps it: its origin (http on loopback, else https). */
export function bankOrigin(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new SemperError('ERR_SCHEMA', `not a URL: ${input}`);
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new SemperError('ERR_SCHEMA', 'a bank is reached over https (http only on this computer)');
  if (url.username || url.password) throw new SemperError('ERR_SCHEMA', 'a bank URL has no user name or password');
  return url.origin;
}

const isPurse = (r: DealRecord | undefined): r is WalletRecord => r?.kind === 'wallet';

function errorOf(e: { code: string; message: string }): SemperError {
  return new SemperError(e.code as SemperErrorCode, e.message);
}

export class WalletService {
  private readonly waiters = new Set<() => void>();
  private readonly certified = new Map<string, boolean>();
  /** Choosing coins and handing the event to the purse, one request at a time per purse (the bank's answers are awaited outside). */
  private readonly choosing = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: WalletServiceDeps) {}

  /** The host persisted a change: wake whoever waits on a purse. */
  onChanged(record: DealRecord): void {
    if (record.kind !== 'wallet') return;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolve with `check(record)` once it is defined (checked now and after every persisted change), or undefined after `ms`. */
  private async until<T>(purseId: string, check: (r: WalletRecord) => T | undefined, ms = this.deps.waitMs ?? OPERATION_WAIT_MS): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      let done = false;
      const finish = (value: T | undefined, error?: unknown) => {
        if (done) return;
        done = true;
        this.waiters.delete(wake);
        clearTimeout(timer);
        if (error !== undefined) reject(error);
        else resolve(value);
      };
      const wake = () => {
        this.deps.purses.get(purseId).then(
          (r) => {
            if (!isPurse(r)) return finish(undefined, new SemperError('ERR_NOT_FOUND', `no purse ${purseId}`));
            try {
              const v = check(r);
              if (v !== undefined) finish(v);
            } catch (e) {
              finish(undefined, e);
            }
          },
          (e: unknown) => finish(undefined, e),
        );
      };
      const timer = setTimeout(() => finish(undefined), ms);
      this.waiters.add(wake);
      wake();
    });
  }

  private serial<T>(purseId: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.choosing.get(purseId) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.choosing.set(purseId, tail);
    void tail.then(() => {
      if (this.choosing.get(purseId) === tail) this.choosing.delete(purseId);
    });
    return run;
  }

  async list(): Promise<WalletRecord[]> {
    return (await this.deps.purses.listAll()).filter(isPurse);
  }

  /** The purse at `bankUrl` (open or opening). */
  async purseAt(bankUrl: string): Promise<WalletRecord | undefined> {
    const origin = bankOrigin(bankUrl);
    return (await this.list()).find((p) => p.origin === origin && !p.terminal);
  }

  private async openPurse(bankUrl: string): Promise<WalletRecord> {
    const purse = await this.purseAt(bankUrl);
    if (!purse) throw new SemperError('ERR_NOT_FOUND', `no account at ${bankOrigin(bankUrl)}: open one first`);
    if (purse.state.phase !== 'open') throw new SemperError('ERR_PROTOCOL_STATE', `the account at ${purse.origin} is not open yet (${purse.state.phase})`);
    return purse;
  }

  /** The bank's key (pinned by its id) and its denomination list, verified against it. */
  private async fetchBank(origin: string, expectedKeyId?: string): Promise<{ keyId: string; list: Statement; set: DenominationSet; certified: boolean }> {
    const info = (await this.deps.getJson(`${origin}/bank`)) as { keyId?: unknown; publicJwk?: unknown } | null;
    if (typeof info?.keyId !== 'string' || typeof info.publicJwk !== 'object' || info.publicJwk === null)
      throw new SemperError('ERR_SCHEMA', `${origin}/bank does not describe a bank`);
    const keyId = await jwkThumbprint(info.publicJwk as never);
    if (keyId !== info.keyId) throw new SemperError('ERR_KEY', `${origin}/bank names key ${info.keyId} but its key is ${keyId}`);
    if (expectedKeyId !== undefined && keyId !== expectedKeyId)
      throw new SemperError('ERR_CERT_UNTRUSTED', `the bank at ${origin} now has key ${keyId}, not the pinned ${expectedKeyId}`);
    const doc = (await this.deps.getJson(`${origin}/bank/denominations`)) as { list?: unknown; certifiedList?: unknown } | null;
    const set = await verifyDenominationList(doc?.list, { bankKeyId: keyId });
    let certified = false;
    const roots = await this.deps.roots();
    if (doc?.certifiedList && roots.length > 0) {
      certified = await verifyDenominationList(doc.certifiedList, { trust: { roots, now: new Date(this.deps.now()) } }).then(
        (c) => c.bankKeyId === keyId,
        () => false,
      );
    }
    this.certified.set(origin, certified);
    return { keyId, list: doc!.list as Statement, set, certified };
  }

  /** Bring the purse's key list up to date (best effort: the stored list still serves if the bank is not reachable). */
  private async refreshList(purse: WalletRecord): Promise<DenominationSet> {
    try {
      const fresh = await this.fetchBank(purse.origin, purse.state.bankKeyId);
      if (canonicalJson(fresh.list) !== canonicalJson(purse.state.denominations)) {
        await this.deps.host.event(purse.dealId, { type: 'denominations', now: this.deps.now(), list: fresh.list });
      }
      return fresh.set;
    } catch (e) {
      if (e instanceof SemperError && e.code === 'ERR_CERT_UNTRUSTED') throw e;
      return verifyDenominationList(purse.state.denominations, { bankKeyId: purse.state.bankKeyId });
    }
  }

  private async prepare(set: DenominationSet, ids: string[]): Promise<CoinSecret[]> {
    const out = await this.deps.prepareCoins(ids.map((id) => set.byId.get(id)!));
    if (out.length !== ids.length || out.some((s, i) => s.denominationId !== ids[i]))
      throw new SemperError('ERR_INTERNAL', 'the prepared coins are not of the denominations asked for');
    return out;
  }

  /**
   * Open an account at `bankUrl` with the bank's one-time code, bound to a new account key. The
   * bank's key is pinned (its id is the fingerprint shown); `fingerprint`, if given, must be it.
   */
  async openAccount(p: { bankUrl: string; code: string; fingerprint?: string }): Promise<PurseSummary> {
    const origin = bankOrigin(p.bankUrl);
    const existing = await this.purseAt(origin);
    if (existing) throw new SemperError('ERR_PROTOCOL_STATE', `there is already an account at ${origin}`);
    const bank = await this.fetchBank(origin);
    if (p.fingerprint !== undefined && p.fingerprint !== bank.keyId)
      throw new SemperError('ERR_CERT_UNTRUSTED', `the bank's key is ${bank.keyId}, not the fingerprint ${p.fingerprint}`);
    const key = await this.deps.keys.newAccountKey(origin);
    const now = this.deps.now();
    const opening = (await signStatement(
      { type: ACCOUNT_OPENING_TYPE, version: 1, dealId: 'account-opening', issuedAt: nowIso(now), body: { code: p.code.trim(), bank: bank.keyId } },
      await this.deps.keys.accountSigner(key.keyId),
    )) as Statement;
    const record = await this.deps.host.start('wallet', origin, { bankKeyId: bank.keyId, accountKeyId: key.keyId, denominations: bank.list, opening });
    const settled = await this.until(record.dealId, (r) => (r.state.phase === 'opening' ? undefined : r));
    const now2 = settled ?? ((await this.deps.purses.get(record.dealId)) as WalletRecord);
    if (now2.state.phase === 'failed') throw errorOf(now2.state.error ?? { code: 'ERR_INTERNAL', message: 'the account was not opened' });
    return this.summary(now2);
  }

  /** Withdraw `amount` into coins (as few as the issuing denominations allow). */
  async withdraw(p: { bankUrl: string; amount: Amount }): Promise<{ status: 'done' | 'pending'; requestId: string; purse: PurseSummary }> {
    const purse = await this.openPurse(p.bankUrl);
    if (p.amount.amount <= 0) throw new SemperError('ERR_SCHEMA', 'withdraw a positive amount');
    const requestId = await this.serial(purse.dealId, async () => {
      const set = await this.refreshList(purse);
      const prepared = await this.prepare(set, decompose(set, p.amount, this.deps.now()));
      const after = (await this.deps.host.event(purse.dealId, { type: 'withdraw', now: this.deps.now(), prepared })) as WalletRecord;
      const op = after.state.wallet.pending.find((o) => o.kind === 'withdrawal' && o.secrets[0]?.coinId === prepared[0]!.coinId);
      if (!op) throw new SemperError('ERR_INTERNAL', 'the withdrawal was not recorded');
      return op.requestId;
    });
    return this.settle(purse.dealId, requestId);
  }

  /** Wait for the operation `requestId` to leave the purse's pending list: done, failed (thrown), or still pending. */
  private async settle(purseId: string, requestId: string): Promise<{ status: 'done' | 'pending'; requestId: string; purse: PurseSummary }> {
    const ended = await this.until(purseId, (r) => (r.state.wallet.pending.some((o) => o.requestId === requestId) ? undefined : r));
    const record = ended ?? ((await this.deps.purses.get(purseId)) as WalletRecord);
    if (ended) {
      const failed = [...ended.state.history].reverse().find((h) => h.requestId === requestId && h.kind === 'failed');
      const done = ended.state.history.some((h) => h.requestId === requestId && h.kind !== 'failed');
      if (failed && !done) throw errorOf(failed.error ?? { code: 'ERR_INTERNAL', message: 'failed' });
    }
    return { status: ended ? 'done' : 'pending', requestId, purse: await this.summary(record) };
  }

  /**
   * Refresh every fresh coin into new ones (before they expire, or after a payment exposed them).
   * A coin the bank has seen spent (a restored backup's, spent elsewhere) refuses the whole refresh:
   * it is marked with the bank's proof and the others are refreshed again, until none is left over;
   * then ERR_DOUBLE_SPEND says how many were found (each in the history with its proof).
   */
  async renew(p: { bankUrl: string }): Promise<{ status: 'done' | 'pending'; requestId: string; purse: PurseSummary }> {
    let found = 0;
    for (let attempt = 0; attempt <= 64; attempt++) {
      let result: Awaited<ReturnType<WalletService['renewOnce']>>;
      try {
        result = await this.renewOnce(p);
      } catch (e) {
        if (e instanceof SemperError && e.code === 'ERR_DOUBLE_SPEND') {
          found++;
          continue;
        }
        if (found > 0 && e instanceof SemperError && e.code === 'ERR_NOT_FOUND') break;
        throw e;
      }
      if (found === 0) return result;
      break;
    }
    throw new SemperError('ERR_DOUBLE_SPEND', `${found} coin(s) had been spent before (each is in the history with the bank's proof); the others were renewed`);
  }

  private async renewOnce(p: { bankUrl: string }): Promise<{ status: 'done' | 'pending'; requestId: string; purse: PurseSummary }> {
    const purse = await this.openPurse(p.bankUrl);
    const requestId = await this.serial(purse.dealId, async () => {
      const set = await this.refreshList(purse);
      const now = this.deps.now();
      const current = ((await this.deps.purses.get(purse.dealId)) as WalletRecord).state;
      const coins = current.wallet.coins.filter((c) => {
        const d = set.byId.get(c.coin.denominationId);
        return c.status === 'fresh' && d !== undefined && denominationUsable(d, 'deposit', now);
      });
      if (coins.length === 0) throw new SemperError('ERR_NOT_FOUND', 'no coins to renew');
      const total = { amount: coins.reduce((n, c) => n + c.value.amount, 0), currency: coins[0]!.value.currency };
      const prepared = await this.prepare(set, decompose(set, total, now));
      const coinIds = coins.map((c) => c.coinId);
      const after = (await this.deps.host.event(purse.dealId, { type: 'renew', now: this.deps.now(), coinIds, prepared })) as WalletRecord;
      const op = after.state.wallet.pending.find((o) => o.kind === 'refresh' && o.secrets[0]?.coinId === prepared[0]!.coinId);
      if (!op) throw new SemperError('ERR_INTERNAL', 'the renewal was not recorded');
      return op.requestId;
    });
    return this.settle(purse.dealId, requestId);
  }

  /**
   * Pay `amount` to `payee` (key id) for deal `reference` from the purse at `bankUrl`: the spends
   * are deposited at the bank for the payee, after a refresh for change if no coins pay the amount
   * exactly. Resolves with the bank's `semper.payment.proof` and the money item for the fair
   * exchange. Idempotent by reference: the same call again (after a restart, too) gets the same
   * payment's outcome; another payee or amount for the same reference is ERR_REPLAY.
   *
   * A coin the bank has seen spent before (a restored backup's) refuses the deposit: it is marked
   * with the bank's proof, and the payment is made again from the other coins (refreshed first:
   * their spends left the wallet), until it is paid or the coins do not cover it.
   */
  async pay(p: PayRequest, options: { timeoutMs?: number } = {}): Promise<PayResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.payOnce(p, options);
      } catch (e) {
        if (e instanceof SemperError && e.code === 'ERR_DOUBLE_SPEND' && attempt < 64) continue;
        throw e;
      }
    }
  }

  private async payOnce(p: PayRequest, options: { timeoutMs?: number }): Promise<PayResult> {
    const purse = await this.openPurse(p.bankUrl);
    await this.serial(purse.dealId, async () => {
      const current = ((await this.deps.purses.get(purse.dealId)) as WalletRecord).state;
      const existing = current.payments.find((x) => x.reference === p.reference && x.phase !== 'failed');
      let change: { coinIds: string[]; prepared: CoinSecret[] } | undefined;
      if (!existing) {
        const set = await this.refreshList(purse);
        const now = this.deps.now();
        const fresh = ((await this.deps.purses.get(purse.dealId)) as WalletRecord).state;
        if (!selectCoins(fresh.wallet, set, p.amount, now)) change = await this.change(fresh, set, p.amount, now);
      }
      await this.deps.host.event(purse.dealId, {
        type: 'pay',
        now: this.deps.now(),
        payee: p.payee,
        reference: p.reference,
        amount: p.amount,
        ...(change ? { change } : {}),
      });
    });
    const outcome = await this.until(
      purse.dealId,
      (r) => {
        const intent = r.state.payments.find((x) => x.reference === p.reference);
        if (!intent) throw new SemperError('ERR_INTERNAL', `the payment for ${p.reference} was not recorded`);
        return intent.phase === 'paid' || intent.phase === 'failed' ? intent : undefined;
      },
      options.timeoutMs ?? 10 * 60_000,
    );
    if (!outcome) throw new SemperError('ERR_PROTOCOL_STATE', `the payment for ${p.reference} is still waiting for the bank; it goes on`);
    if (outcome.phase === 'failed') throw errorOf(outcome.error ?? { code: 'ERR_INTERNAL', message: 'payment failed' });
    const proof = outcome.proof!;
    return { proof, item: { kind: 'money', method: 'cash', value: outcome.amount, proof } };
  }

  /**
   * Pay a payee (key id) for a deal (reference) by account transfer from the account at `bankUrl`:
   * an order signed by the account key, recorded by the purse before it is sent (and sent again as
   * is until the bank answers: one debit whatever happens). Resolves with the money item (the
   * bank's `semper.payment.proof`). The same reference again returns the recorded outcome — the
   * proof, or the bank's refusal — never a second order; another payee or amount is ERR_REPLAY.
   */
  async transfer(p: PayRequest, options: { timeoutMs?: number } = {}): Promise<PayResult> {
    const purse = await this.openPurse(p.bankUrl);
    if (p.amount.amount <= 0) throw new SemperError('ERR_SCHEMA', 'a transfer is of a positive amount');
    await this.serial(purse.dealId, async () => {
      const current = ((await this.deps.purses.get(purse.dealId)) as WalletRecord).state;
      const existing = (current.transfers ?? []).find((x) => x.reference === p.reference);
      if (existing) {
        if (existing.payee !== p.payee || canonicalJson(existing.amount) !== canonicalJson(p.amount))
          throw new SemperError('ERR_REPLAY', `deal ${p.reference} is already being paid with another payee or amount`);
        return;
      }
      const now = this.deps.now();
      const order = await deviceKeySigner(await this.deps.keys.accountSigner(current.accountKeyId))(
        transferOrder({ requestId: randomId(16), payer: current.account!, payee: p.payee, amount: p.amount, reference: p.reference, now }),
      );
      await this.deps.host.event(purse.dealId, { type: 'transfer', now, order });
    });
    const outcome = await this.until(
      purse.dealId,
      (r) => {
        const t = (r.state.transfers ?? []).find((x) => x.reference === p.reference);
        if (!t) throw new SemperError('ERR_INTERNAL', `the transfer for ${p.reference} was not recorded`);
        return t.phase === 'sending' ? undefined : t;
      },
      options.timeoutMs ?? 10 * 60_000,
    );
    if (!outcome) throw new SemperError('ERR_PROTOCOL_STATE', `the transfer for ${p.reference} is still waiting for the bank; it goes on`);
    if (outcome.phase === 'failed') throw errorOf(outcome.error ?? { code: 'ERR_INTERNAL', message: 'transfer failed' });
    const item = accountMoneyItem(outcome.answer!);
    return { proof: outcome.answer!.proof, item };
  }

  /**
   * A cheque for a purchase paid by cheque (core/payment/cheque): drawn on the purse's account at the
   * bank, to `payee`, for the deal `reference` and `amount`, signed by the account key. Nothing is
   * recorded here and nothing leaves: the purchase records the cheque in its state before it goes
   * with the order (a cheque written and lost in a crash before that was never given to anyone).
   * The bank key the offer names must be the purse's pinned one.
   */
  async writeCheque(p: PayRequest & { bankKeyId: string }): Promise<Statement> {
    const purse = await this.openPurse(p.bankUrl);
    const state = purse.state;
    if (state.bankKeyId !== p.bankKeyId) throw new SemperError('ERR_PAYMENT_METHOD', `the bank at ${purse.origin} signs with another key than the offer names`);
    if (!state.account) throw new SemperError('ERR_PAYMENT_METHOD', `the account at ${purse.origin} is not open`);
    if (p.amount.amount <= 0) throw new SemperError('ERR_SCHEMA', 'a cheque is for a positive amount');
    const sign = deviceKeySigner(await this.deps.keys.accountSigner(state.accountKeyId));
    const api = chequePayment({ bankKeyId: state.bankKeyId, sign, random: cryptoRandom });
    const { payment } = await api.pay(
      { account: state.account, cheques: {} },
      { payee: p.payee, amount: p.amount, reference: p.reference, now: this.deps.now() },
    );
    return payment.body.cheque;
  }

  /** Coins to refresh so that `amount` can be paid exactly: the largest first until they cover it, into the amount and the rest. */
  private async change(state: PurseState, set: DenominationSet, amount: Amount, now: number): Promise<{ coinIds: string[]; prepared: CoinSecret[] }> {
    const fresh = state.wallet.coins
      .filter((c) => {
        const d = set.byId.get(c.coin.denominationId);
        return c.status === 'fresh' && c.value.currency === amount.currency && d !== undefined && denominationUsable(d, 'spend', now);
      })
      .sort((a, b) => b.value.amount - a.value.amount);
    const inputs: string[] = [];
    let have = 0;
    for (const c of fresh) {
      if (have >= amount.amount) break;
      inputs.push(c.coinId);
      have += c.value.amount;
    }
    if (have < amount.amount)
      throw new SemperError('ERR_INSUFFICIENT_FUNDS', `the purse holds ${have} ${amount.currency}, ${amount.amount} ${amount.currency} are to be paid`);
    const ids = [
      ...decompose(set, amount, now),
      ...(have > amount.amount ? decompose(set, { amount: have - amount.amount, currency: amount.currency }, now) : []),
    ];
    return { coinIds: inputs, prepared: await this.prepare(set, ids) };
  }

  /** Every purse, with balance, coins, pending operations and history. */
  async status(): Promise<{ purses: PurseSummary[] }> {
    const purses = (await this.list()).filter((p) => !p.terminal || p.updatedAt > this.deps.now() - 86_400_000);
    return { purses: await Promise.all(purses.map((p) => this.summary(p))) };
  }

  async summary(record: WalletRecord): Promise<PurseSummary> {
    const s = record.state;
    const set = await verifyDenominationList(s.denominations, { bankKeyId: s.bankKeyId }).catch(() => undefined);
    const now = this.deps.now();
    const currency = s.wallet.coins[0]?.value.currency ?? (set ? [...set.byId.values()][0]?.value.currency : undefined);
    const spendable = set && currency ? spendableCoins(s.wallet, set, now, currency) : [];
    const counts = new Map<number, number>();
    for (const c of spendable) counts.set(c.value.amount, (counts.get(c.value.amount) ?? 0) + 1);
    const coinValue = (ids: string[]) => {
      const coins = s.wallet.coins.filter((c) => ids.includes(c.coinId));
      return coins.length ? { amount: coins.reduce((n, c) => n + c.value.amount, 0), currency: coins[0]!.value.currency } : undefined;
    };
    return {
      purseId: record.dealId,
      bankUrl: record.origin,
      bankKeyId: s.bankKeyId,
      certified: this.certified.get(record.origin) ?? false,
      ...(s.account ? { account: s.account } : {}),
      phase: s.phase,
      balance: set && currency ? balance(s.wallet, set, now, currency) : null,
      coins: [...counts.entries()].sort((a, b) => b[0] - a[0]).map(([amount, count]) => ({ value: { amount, currency: currency! }, count })),
      exposed: s.wallet.coins.filter((c) => c.status === 'fresh' && c.exposed).length,
      pending: s.wallet.pending
        .map((o): PurseSummary['pending'][number] => {
          const value =
            o.kind === 'payment' ? o.value : 'secrets' in o && set ? sumSecrets(o.secrets, set) : o.kind === 'refresh' ? coinValue(o.inputs) : undefined;
          return {
            kind: o.kind,
            requestId: o.requestId,
            attempts: o.attempts,
            ...(value ? { amount: value } : {}),
            ...(o.retryAt !== null ? { retryAt: new Date(o.retryAt).toISOString() } : {}),
            ...('reference' in o ? { reference: o.reference } : {}),
          };
        })
        .concat(
          // Account transfers the bank has not answered yet (the same order goes again).
          (s.transfers ?? [])
            .filter((x) => x.phase === 'sending')
            .map((x) => ({
              kind: 'transfer',
              requestId: x.requestId,
              attempts: x.attempts,
              amount: x.amount,
              ...(x.retryAt !== null ? { retryAt: new Date(x.retryAt).toISOString() } : {}),
              reference: x.reference,
            })),
        ),
      payments: s.payments
        .filter((x) => x.phase === 'change' || x.phase === 'paying' || x.phase === 'failed')
        .map((x) => ({ reference: x.reference, payee: x.payee, amount: x.amount, phase: x.phase, ...(x.error ? { error: x.error } : {}) })),
      history: s.history
        .slice(-STATUS_HISTORY)
        .reverse()
        .map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
      ...(s.error ? { error: s.error } : {}),
    };
  }

  /** The encrypted backup file of every open purse. */
  async backup(p: { passphrase: string }): Promise<{ file: string; fileName: string; purses: number }> {
    const purses = (await this.list()).filter((r) => r.state.phase === 'open');
    if (purses.length === 0) throw new SemperError('ERR_NOT_FOUND', 'there is no purse to back up');
    const now = this.deps.now();
    const file = await encryptBackup(
      purses.map((r) => purseBackup(r.state)),
      p.passphrase,
      now,
      this.deps.backupIterations,
    );
    return { file, fileName: `semper-wallet-${new Date(now).toISOString().slice(0, 10)}.json`, purses: purses.length };
  }

  /**
   * Restore a backup: into the purse of the same bank (coins and operations it does not know are
   * added; nothing it knows changes), or as a new purse. A restored coin that was spent elsewhere
   * shows as double-spent, with the bank's proof, when it is next used.
   */
  async restore(p: { file: string; passphrase: string }): Promise<{ purses: PurseSummary[] }> {
    const backups = await decryptBackup(p.file, p.passphrase);
    const out: PurseSummary[] = [];
    for (const b of backups) {
      const origin = bankOrigin(b.bankUrl);
      const set = await verifyDenominationList(b.denominations, { bankKeyId: b.bankKeyId });
      await checkCoins(b, set);
      const local = await this.purseAt(origin);
      let record: DealRecord;
      if (local) {
        if (local.state.bankKeyId !== b.bankKeyId)
          throw new SemperError('ERR_CERT_UNTRUSTED', `the backup's bank at ${origin} has another key than this purse's`);
        record = await this.deps.host.event(local.dealId, { type: 'restore', now: this.deps.now(), backup: b });
      } else {
        record = await this.deps.host.start('wallet', origin, {
          bankKeyId: b.bankKeyId,
          accountKeyId: b.accountKeyId,
          denominations: b.denominations,
          restore: b,
        });
      }
      out.push(await this.summary(record as WalletRecord));
    }
    return { purses: out };
  }
}

function sumSecrets(secrets: CoinSecret[], set: DenominationSet): Amount | undefined {
  const values = secrets.map((x) => set.byId.get(x.denominationId)?.value).filter((v): v is Amount => v !== undefined);
  return values.length ? { amount: values.reduce((n, v) => n + v.amount, 0), currency: values[0]!.currency } : undefined;
}

/** Every unspent coin of a backup must carry the bank's signature under its denomination (a file is the user's, but check what becomes money). */
async function checkCoins(b: PurseBackup, set: DenominationSet): Promise<void> {
  for (const c of b.wallet.coins) {
    if (c.status === 'spent') continue;
    const d = set.byId.get(c.coin.denominationId);
    if (!d || !(await verifyCoin(c.coin, d, c.coinId)) || canonicalJson(c.value) !== canonicalJson(d.value))
      throw new SemperError('ERR_SIGNATURE_INVALID', `coin ${c.coinId} in the backup is not the bank's`);
  }
}
