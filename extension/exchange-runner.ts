/**
 * Hosts exchange deals (certified mail, contract signing) in the worker: the shopper is the
 * *originator* of the generic fair exchange (core/exchange/parties.ts), the merchant the
 * responder, the TTP steps in only when the protocol says so. I/O is factored out (transport,
 * alarms, store), so the same runner drives exchanges in the service worker and in Node tests.
 *
 *   start     POST the descriptor request (page origin only) → verify (verifyExchangeDescriptor)
 *             → awaiting-confirmation: the trusted window shows the verified view
 *   confirm   sign the shopper's item (the receipt / the contract signature) → startOriginator
 *             → exchanging: m1 to the merchant, replies fed back, TTP requests to the TTP URL
 *             the user configured; timeouts from `wakeAt(state)` through alarms (not sleeps)
 *   end       completed | resolved | aborted (the page's answer) or failed (typed error)
 *
 * Rules it keeps (as the purchase runner does): steps of one deal are serialised; the state is
 * persisted after EVERY step together with the statements the step archived (both directions),
 * before anything is sent; after a worker restart `resume()` re-sends the machine's outbox
 * (`{type:'resume'}`) and re-arms the alarm.
 */
import { SemperError, errorToJson, isSemperError } from '../core/errors.js';
import type { Signer } from '../core/crypto/keys.js';
import { statementDigest, type Statement } from '../core/statements/index.js';
import {
  signFixedStatement,
  ttpStillTrusted,
  verifyExchangeDescriptor,
  type ExchangeUse,
  type TrustedTtpEntry,
} from '../core/commerce/exchange-deal.js';
import {
  isTerminal,
  startOriginator,
  stepExchange,
  wakeAt,
  type ExchangeContext,
  type ExchangeEvent,
  type ExchangeOutcome,
  type Outbound,
  type StepResult,
} from '../core/exchange/index.js';
import type { ArchiveEntry } from './deal-store.js';
import type { RevocationCheck } from '../core/pki/index.js';
import { DEAL_RATE_WINDOW_MS, MAX_DEALS_PER_ORIGIN_PER_WINDOW } from './deal-runner.js';
import type { ExchangeTransport, ExchangeHttpReply } from './exchange-http.js';
import type { ExchangeDealRecord, ExchangeResult, ExchangeStatus, ExchangeStore } from './exchange-store.js';

export interface ExchangeRunnerContext {
  /** Trusted CA roots (a setting, read fresh). */
  roots: string[];
  /** The identity key's signer. */
  signer: Signer;
  /** Trusted TTPs (a setting, read fresh). */
  ttps: TrustedTtpEntry[];
  /** Revocation of the merchant's and the TTP's certificates (extension/revocation.ts). */
  isRevoked?: RevocationCheck;
}

export interface ExchangeRunnerDeps {
  store: ExchangeStore;
  context(): Promise<ExchangeRunnerContext>;
  transport: ExchangeTransport;
  /** Deliver `timeout(dealId)` at `when` (chrome.alarms in the worker). */
  alarms: { set(dealId: string, when: number): void | Promise<void>; clear(dealId: string): void | Promise<void> };
  now(): number;
  randomId(bytes: number): string;
  /** A verified descriptor waits for the user. */
  onAwaitingUser(record: ExchangeDealRecord): void;
  /** The user decided (the exchange runs on without the window). */
  onDecided?(record: ExchangeDealRecord): void;
  /** The deal ended: settle the page's request. */
  onSettled(record: ExchangeDealRecord): void;
  onChanged?(record: ExchangeDealRecord): void;
  onError?(dealId: string, error: unknown): void;
}

/** At most this many unfinished exchanges per origin: a page cannot queue windows without end. */
export const MAX_ACTIVE_EXCHANGES_PER_ORIGIN = 3;

const ALARM_PREFIX = 'semper-exchange:';
export const exchangeAlarmName = (dealId: string): string => `${ALARM_PREFIX}${dealId}`;
export function dealOfAlarm(name: string): string | undefined {
  return name.startsWith(ALARM_PREFIX) ? name.slice(ALARM_PREFIX.length) : undefined;
}

function failedResult(error: { code: string; message: string }): ExchangeResult {
  return { kind: 'failed', error };
}

export class ExchangeRunner {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inflight = new Set<string>();

  constructor(private readonly deps: ExchangeRunnerDeps) {}

  /** Start an exchange for `origin` (from the browser, never from the page). */
  start(origin: string, use: ExchangeUse, documentId: string): Promise<ExchangeDealRecord> {
    return this.serial(`origin:${origin}`, async () => {
      const active = await this.deps.store.listActive();
      if (active.filter((d) => d.origin === origin).length >= MAX_ACTIVE_EXCHANGES_PER_ORIGIN) {
        throw new SemperError('ERR_PROTOCOL_STATE', `${origin} already has ${MAX_ACTIVE_EXCHANGES_PER_ORIGIN} exchanges in progress`);
      }
      const { signer } = await this.deps.context();
      const now = this.deps.now();
      // Finished ones count too: a page whose exchanges fail at once must not fill the archive (test/attacks/flood.test.ts).
      const recent = (await this.deps.store.listAll()).filter((d) => d.origin === origin && d.createdAt > now - DEAL_RATE_WINDOW_MS);
      if (recent.length >= MAX_DEALS_PER_ORIGIN_PER_WINDOW) {
        throw new SemperError('ERR_RATE_LIMITED', `${origin} started ${recent.length} exchanges in the last minute; try again later`);
      }
      const record: ExchangeDealRecord = {
        kind: 'exchange',
        dealId: this.deps.randomId(24),
        origin,
        use,
        documentId,
        nonce: this.deps.randomId(32),
        shopperKeyId: signer.keyId,
        createdAt: now,
        updatedAt: now,
        status: 'requesting-descriptor',
        terminal: false,
      };
      await this.deps.store.create(record);
      this.deps.onChanged?.(record);
      this.requestDescriptor(record, signer);
      return record;
    });
  }

  confirm(dealId: string): Promise<ExchangeDealRecord> {
    return this.serial(dealId, async () => {
      const record = await this.require(dealId);
      if (record.status !== 'awaiting-confirmation' || !record.agreement || !record.view) {
        throw new SemperError('ERR_PROTOCOL_STATE', `exchange ${dealId} is ${record.status}, not awaiting confirmation`);
      }
      const now = this.deps.now();
      const a = record.agreement;
      const ctx = await this.deps.context();
      try {
        // The user may take longer than the descriptor lives, or change settings meanwhile.
        if (now >= a.expiresAt) throw new SemperError('ERR_OFFER_EXPIRED', `the merchant's proposal expired at ${new Date(a.expiresAt).toISOString()}`);
        if (!ttpStillTrusted(record.view, ctx.ttps)) throw new SemperError('ERR_TTP', `the TTP "${record.view.ttp.name}" is no longer among the TTPs you trust`);
        if (ctx.signer.keyId !== record.shopperKeyId) throw new SemperError('ERR_KEY', 'the identity key changed since the exchange was proposed');
        const item = await signFixedStatement(a.shopperGives, dealId, ctx.signer, now);
        const res = await startOriginator(
          {
            protocol: a.protocol,
            dealId,
            responder: { keyId: a.merchantKeyId },
            ttp: { keyId: a.ttp.keyId, endpoint: a.ttp.url },
            gives: a.shopperGives,
            item,
            expects: a.merchantGives,
            now,
            timeouts: a.timeouts,
            ...(record.view.contract ? { terms: record.view.contract.title } : {}),
          },
          this.exchangeContext(record, ctx),
        );
        const next = await this.apply({ ...record, status: 'exchanging' }, res);
        this.deps.onDecided?.(next);
        return next;
      } catch (e) {
        if (!isSemperError(e)) throw e;
        return this.finishFailed(record, errorToJson(e));
      }
    });
  }

  reject(dealId: string): Promise<ExchangeDealRecord> {
    return this.serial(dealId, async () => {
      const record = await this.require(dealId);
      if (record.status !== 'awaiting-confirmation' && record.status !== 'requesting-descriptor') {
        throw new SemperError('ERR_PROTOCOL_STATE', `exchange ${dealId} is ${record.status}, not awaiting confirmation`);
      }
      return this.end(record, 'rejected', { kind: 'rejected' }, []);
    });
  }

  /** The alarm for `wakeAt(state)` fired. */
  timeout(dealId: string): Promise<ExchangeDealRecord | undefined> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      if (!record || record.status !== 'exchanging' || !record.exchange) return undefined;
      const next = await this.step(record, { type: 'timeout', now: this.deps.now() });
      // Early (or duplicate) alarm: nothing changed, so wait for the machine's time again.
      if (next === record && record.exchange.wakeAt !== null) await this.deps.alarms.set(dealId, record.exchange.wakeAt);
      return next;
    });
  }

  /** Worker start: re-send what live exchanges wait for, re-arm their alarms, re-announce those awaiting the user. */
  async resume(): Promise<ExchangeDealRecord[]> {
    const active = await this.deps.store.listActive();
    for (const record of active) {
      switch (record.status) {
        case 'requesting-descriptor':
          this.deps
            .context()
            .then(({ signer }) => this.requestDescriptor(record, signer))
            .catch((e: unknown) => this.deps.onError?.(record.dealId, e));
          break;
        case 'awaiting-confirmation':
          this.deps.onAwaitingUser(record);
          break;
        case 'exchanging':
          void this.serial(record.dealId, async () => {
            const latest = await this.deps.store.get(record.dealId);
            if (latest?.status === 'exchanging') await this.step(latest, { type: 'resume', now: this.deps.now() });
          }).catch((e: unknown) => this.deps.onError?.(record.dealId, e));
          break;
        default:
          break;
      }
    }
    return active;
  }

  /** Wait until every step queued so far has run (tests). */
  async idle(): Promise<void> {
    while (this.chains.size > 0 || this.inflight.size > 0) {
      await Promise.all([...this.chains.values()].map((p) => p.catch(() => undefined)));
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  // -------------------------------------------------------------------------------------------

  private async require(dealId: string): Promise<ExchangeDealRecord> {
    const record = await this.deps.store.get(dealId);
    if (!record) throw new SemperError('ERR_NOT_FOUND', `no exchange ${dealId}`);
    return record;
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  private exchangeContext(record: ExchangeDealRecord, ctx: ExchangeRunnerContext): ExchangeContext {
    const a = record.agreement!;
    // The roots the exchange was agreed under stay valid for it, whatever the settings say later.
    const roots = [...new Set([...a.roots, ...ctx.roots])];
    return { signer: ctx.signer, trust: { roots, ttps: [a.ttp.keyId], ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) } };
  }

  private requestDescriptor(record: ExchangeDealRecord, signer: Signer): void {
    const key = `${record.dealId} descriptor`;
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    const body = { dealId: record.dealId, nonce: record.nonce, use: record.use, documentId: record.documentId, shopper: { jwk: signer.publicJwk } };
    void this.deps.transport
      .descriptor(record.origin, body)
      .then((reply) => {
        this.inflight.delete(key);
        return this.onDescriptor(record.dealId, reply);
      })
      .catch((e: unknown) => {
        this.inflight.delete(key);
        this.deps.onError?.(record.dealId, e);
      });
  }

  private onDescriptor(dealId: string, reply: ExchangeHttpReply): Promise<ExchangeDealRecord | undefined> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      if (!record || record.status !== 'requesting-descriptor') return undefined;
      if (reply.kind === 'error') {
        const code = /^ERR_[A-Z_]+$/.test(reply.error.code) && reply.error.code !== 'ERR_INTERNAL' ? 'ERR_OFFER_UNKNOWN' : 'ERR_INTERNAL';
        return this.finishFailed(record, { code, message: `merchant refused or unreachable: ${reply.error.code} ${reply.error.message}` });
      }
      const now = this.deps.now();
      const ctx = await this.deps.context();
      let verified;
      try {
        verified = await verifyExchangeDescriptor(
          reply.body,
          { dealId, nonce: record.nonce, origin: record.origin, use: record.use, documentId: record.documentId, shopperKeyId: record.shopperKeyId },
          now,
          { roots: ctx.roots, ttps: ctx.ttps, ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
        );
      } catch (e) {
        if (!isSemperError(e)) throw e;
        return this.finishFailed(record, errorToJson(e));
      }
      const next: ExchangeDealRecord = {
        ...record,
        updatedAt: now,
        status: 'awaiting-confirmation',
        descriptor: verified.descriptor,
        view: verified.view,
        agreement: verified.agreement,
      };
      await this.deps.store.commit(next, [await this.entry(dealId, verified.descriptor, 'received', now)]);
      this.deps.onChanged?.(next);
      this.deps.onAwaitingUser(next);
      return next;
    });
  }

  private async entry(dealId: string, statement: Statement, direction: 'sent' | 'received', now: number): Promise<ArchiveEntry> {
    return { dealId, direction, type: statement.type, statement, digest: await statementDigest(statement), archivedAt: now };
  }

  private async finishFailed(record: ExchangeDealRecord, error: { code: string; message: string }): Promise<ExchangeDealRecord> {
    return this.end(record, 'failed', failedResult(error), []);
  }

  private async end(record: ExchangeDealRecord, status: ExchangeStatus, result: ExchangeResult, archive: ArchiveEntry[]): Promise<ExchangeDealRecord> {
    const next: ExchangeDealRecord = { ...record, updatedAt: this.deps.now(), status, terminal: true, result };
    await this.deps.store.commit(next, archive);
    await this.deps.alarms.clear(record.dealId);
    this.deps.onChanged?.(next);
    this.deps.onSettled(next);
    return next;
  }

  /** One machine step on a deal that is exchanging. Caller holds the deal's lock. */
  private async step(record: ExchangeDealRecord, event: ExchangeEvent): Promise<ExchangeDealRecord> {
    const ctx = await this.deps.context();
    if (ctx.signer.keyId !== record.shopperKeyId) {
      // The exchange must still finish: its messages need the key that signed m1.
      throw new SemperError('ERR_KEY', 'the identity key of this exchange is no longer available');
    }
    const res = await stepExchange(record.exchange!, event, this.exchangeContext(record, ctx));
    return this.apply(record, res);
  }

  /** Persist a machine step (state + archive), arm the timer, settle, then send. */
  private async apply(record: ExchangeDealRecord, res: StepResult): Promise<ExchangeDealRecord> {
    const now = this.deps.now();
    const archive: ArchiveEntry[] = [];
    let outcome: ExchangeOutcome | undefined;
    let problem: { code: string; message: string } | undefined;
    for (const effect of res.effects) {
      if (effect.kind === 'archive') archive.push(await this.entry(record.dealId, effect.statement, effect.direction, now));
      else if (effect.kind === 'rejected-message') problem = effect.error;
      else outcome = effect.outcome;
    }
    // The TTP's affidavit is evidence in its own right: archive it beside the resolution.
    if (outcome?.status === 'resolved' && outcome.replacement) archive.push(await this.entry(record.dealId, outcome.replacement, 'received', now));
    if (res.state === record.exchange && archive.length === 0 && !problem && res.send.length === 0) return record;
    let next: ExchangeDealRecord = { ...record, updatedAt: now, exchange: res.state, ...(problem ? { lastProblem: problem } : {}) };
    if (outcome) {
      const status: ExchangeStatus = outcome.status;
      const result: ExchangeResult =
        outcome.status === 'failed'
          ? failedResult({ code: 'ERR_TTP', message: outcome.reason })
          : { kind: 'finished', outcome: { dealId: record.dealId, status: outcome.status, use: record.use, exchangeId: res.state.exchangeId!, title: record.agreement!.title } };
      next = { ...next, status, terminal: true, result };
    }
    await this.deps.store.commit(next, archive);
    const wake = wakeAt(res.state);
    if (isTerminal(res.state) || wake === null) await this.deps.alarms.clear(record.dealId);
    else await this.deps.alarms.set(record.dealId, wake);
    this.deps.onChanged?.(next);
    if (next.terminal) this.deps.onSettled(next);
    this.dispatch(next, res.send);
    return next;
  }

  private dispatch(record: ExchangeDealRecord, send: Outbound[]): void {
    for (const outbound of send) {
      const key = `${record.dealId} ${outbound.to} ${outbound.statement.signature.value}`;
      if (this.inflight.has(key)) continue;
      this.inflight.add(key);
      const request = outbound.to === 'peer' ? this.deps.transport.peer(record.origin, outbound.statement) : this.deps.transport.ttp(record.agreement!.ttp.url, outbound.statement);
      void request
        .then(async (reply) => {
          this.inflight.delete(key);
          await this.onReply(record.dealId, outbound, reply);
        })
        .catch((e: unknown) => {
          this.inflight.delete(key);
          this.deps.onError?.(record.dealId, e);
        });
    }
  }

  private async onReply(dealId: string, outbound: Outbound, reply: ExchangeHttpReply): Promise<void> {
    const events: ExchangeEvent[] = [];
    const now = this.deps.now();
    if (outbound.to === 'peer') {
      if (reply.kind === 'error') {
        // The merchant refused or is down: the machine's timers decide what happens next.
        this.deps.onError?.(dealId, reply.error);
        return;
      }
      const replies = (reply.body as { replies?: unknown } | null)?.replies;
      if (!Array.isArray(replies)) return;
      for (const message of replies.slice(0, 8)) events.push({ type: 'message', message, now, from: 'peer' });
    } else if (reply.kind === 'response') {
      events.push({ type: 'message', message: (reply.body as { answer?: unknown } | null)?.answer, now, from: 'ttp' });
    } else {
      events.push({ type: 'ttp-error', error: reply.error, now });
    }
    for (const event of events) {
      await this.serial(dealId, async () => {
        const record = await this.deps.store.get(dealId);
        if (!record || record.terminal || record.status !== 'exchanging' || !record.exchange) return;
        await this.step(record, event);
      }).catch((e: unknown) => this.deps.onError?.(dealId, e));
    }
  }
}
