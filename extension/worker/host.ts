/**
 * The worker's one host for every kind of deal: it runs the shopper-side machines of core/ (the
 * purchase, the exchange deal, and whatever kind registers next) on the one machine contract
 * (core/machine.ts), with all I/O factored out so the same host runs in the service worker and in
 * Node tests.
 *
 * Rules it keeps, for every kind:
 * - steps of one deal are serialised (a lock per deal); starting deals is serialised per origin,
 *   so the per-origin caps cannot be raced;
 * - revocation status for every certificate chain an event carries is prepared before the step
 *   (the step itself never fetches);
 * - the new state is persisted together with the statements the step archived, BEFORE anything
 *   is sent, shown or settled;
 * - a request in flight is not sent twice; its answer comes back to the machine as a `reply`
 *   event, and the machine decides whether it still matters (late and duplicate answers move
 *   nothing);
 * - the machine's timer is an alarm at `wakeAt(state)`; after a restart `resume()` delivers due
 *   timeouts, re-sends `pendingSends(state)` and re-announces deals awaiting the user.
 *
 * A kind of deal is a core machine plus one `DealKindRegistration` (extension/deals/).
 */
import { SemperError, isSemperError } from '../../core/errors.js';
import type { Machine, TransportReply } from '../../core/machine.js';
import { certificateChainsIn, type RevocationSource } from '../../core/pki/revocation.js';
import { statementDigest, type Statement } from '../../core/statements/index.js';
import type { ErrorInfo } from '../../core/commerce/shopper.js';
import type { PaymentRequest } from '../../core/commerce/fair-purchase-shopper.js';
import type { UnblindCoin } from '../../core/payment/cash/wallet.js';
import type { ArchiveEntry, DealKind, DealRecord, DealStore } from '../deals/records.js';

/**
 * What a shopper-side machine sends: an HTTP POST to the page's origin, to a TTP the user
 * configured, or (a purse, extension/wallet/purse.ts) to its bank — the purse record's origin is
 * the bank's URL the user opened the account at; or a payment the worker's payment service makes
 * (a fair purchase's `pay`: it answers with the money item, or a refusal — all or nothing — and is
 * idempotent by the deal it pays for).
 */
export type HttpOutbound =
  | { kind: 'http'; to: 'merchant'; path: string; body: unknown }
  | { kind: 'http'; to: 'ttp'; url: string; path: string; body: unknown }
  | { kind: 'http'; to: 'bank'; path: string; body: unknown };
/**
 * A purse's coins to unblind (core/payment/cash/wallet.ts `unblind`, each with its denomination's
 * key): work the worker does itself, through an offscreen task (extension/wallet/cash-tasks.ts).
 */
export type UnblindOutbound = { kind: 'unblind'; coins: (UnblindCoin & { rsaPublicKey: string })[] };
export type HostOutbound = HttpOutbound | { kind: 'pay'; request: PaymentRequest } | UnblindOutbound;

/** The effects every shopper-side machine speaks (each kind uses the ones it needs). */
export type HostEffect =
  | { kind: 'archive'; statement: Statement<unknown>; direction: 'sent' | 'received' }
  | { kind: 'show-offer'; view: unknown }
  | { kind: 'finished'; outcome: unknown }
  | { kind: 'failed'; error: ErrorInfo }
  | { kind: 'rejected' }
  | { kind: 'problem'; error: ErrorInfo };

/** Events the host itself makes; every registered machine takes them. */
export type HostEvent = { type: 'reply'; sent: HostOutbound; reply: TransportReply; now: number } | { type: 'timeout'; now: number };

export interface StateShape {
  phase: string;
  dealId: string;
}

/** The events the host delivers; every registered machine takes HostEvent, and its kind's user events. */
export interface EventShape {
  type: string;
  now: number;
}

/** One kind of deal in the host: its core machine and what the host needs to know about it. */
export interface DealKindRegistration<S extends StateShape, E extends EventShape, C, P> {
  kind: DealKind;
  /** Started with the kind's parameters plus the origin (from the browser) and the time. */
  machine: Machine<S, E | HostEvent, C, HostOutbound, HostEffect, P & { origin: string; now: number }>;
  /** The step's context, read fresh (keys, trust settings, the revocation check): the host's I/O before a step. */
  context(deal: { origin: string; state?: S }, event?: E | HostEvent): Promise<C>;
  /** The roots the step validates chains against (what revocation is prepared for). */
  roots(ctx: C, state?: S): readonly string[];
  /** Does this state keep the trusted window open (awaiting the user, or showing progress)? */
  holdsWindow(state: S): boolean;
  /** At most this many unfinished deals of this kind per origin: a page cannot queue windows without end. */
  maxActivePerOrigin: number;
  /** At most this many deals of this kind per origin started within `rateWindowMs`, finished or not. */
  maxPerOriginPerWindow: number;
  rateWindowMs: number;
  /** "purchases", "exchanges": for refusals. */
  noun: string;
}

// biome-ignore lint/suspicious/noExplicitAny: the host holds registrations of every kind; each is typed where it is made.
export type AnyDealKind = DealKindRegistration<StateShape, EventShape, any, any>;

export interface HostDeps {
  store: DealStore;
  kinds: readonly AnyDealKind[];
  /** POST `outbound.body` to the merchant (`${origin}${path}`) or the TTP (`${url}${path}`); never throws. */
  transport(origin: string, outbound: HostOutbound): Promise<TransportReply>;
  /** Deliver `timeout(dealId)` at `when` (chrome.alarms in the worker). */
  alarms: { set(dealId: string, when: number): void | Promise<void>; clear(dealId: string): void | Promise<void> };
  revocation?: RevocationSource;
  now(): number;
  /** A deal has a verified offer and waits for the user. */
  onAwaitingUser(record: DealRecord): void;
  /** A deal stopped holding the trusted window without ending (the user decided; it runs on). */
  onReleased?(record: DealRecord): void;
  /** A deal ended: settle the page's request, close its window. */
  onSettled(record: DealRecord): void;
  /** Any persisted change (created, stepped): the toolbar badge counts deals awaiting the user. */
  onChanged?(record: DealRecord): void;
  onError?(dealId: string, error: unknown): void;
}

/**
 * Nothing for `resume()` to do for this state: no timer, no send to redo, no offer awaiting the
 * user (the same three things resume looks at). Stored on the record as `idle`, so the service
 * worker's start script can tell, without the machines, whether a start must load the host
 * (extension/worker/main-script.ts `startWorker`): a purse between operations is the usual case.
 */
export function idleAtStart<S extends StateShape>(
  machine: Pick<Machine<S, never, never, HostOutbound, HostEffect, never>, 'isTerminal' | 'wakeAt' | 'pendingSends'>,
  state: S,
): boolean {
  if (machine.isTerminal(state)) return true;
  return machine.wakeAt(state) === null && machine.pendingSends(state).length === 0 && state.phase !== 'awaiting-confirmation';
}

export class MachineHost {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inflight = new Set<string>();
  private readonly kinds: Map<DealKind, AnyDealKind>;

  constructor(private readonly deps: HostDeps) {
    this.kinds = new Map(deps.kinds.map((k) => [k.kind, k]));
  }

  private registration(kind: DealKind): AnyDealKind {
    const r = this.kinds.get(kind);
    if (!r) throw new SemperError('ERR_INTERNAL', `no deal kind ${kind} is registered`);
    return r;
  }

  /**
   * Start a deal of `kind` for `origin` (from the browser, never from the page). `pageRequest`: the
   * random key of the page request asking for it; the same request again (its content script
   * re-sends it after a worker restart) gets the deal it already started: one request, one deal.
   */
  start<P>(kind: DealKind, origin: string, params: P, options: { pageRequest?: string } = {}): Promise<DealRecord> {
    // Check the caps and create the deal under one per-origin lock: concurrent requests would
    // otherwise all read the same count and all pass (test/attacks/flood.test.ts).
    return this.serial(`origin:${origin}`, async () => {
      const reg = this.registration(kind);
      // Indexed reads only: a long history must not slow every page request (bench/archive.ts).
      const { pageRequest } = options;
      const found = pageRequest === undefined ? undefined : await this.deps.store.findByPageRequest(pageRequest);
      const started = found?.origin === origin ? found : undefined;
      if (started) {
        if (started.kind !== kind) throw new SemperError('ERR_REPLAY', `page request ${pageRequest} started a deal of another kind`);
        return started;
      }
      const ours = (d: DealRecord) => d.origin === origin && d.kind === kind;
      if ((await this.deps.store.listActive()).filter(ours).length >= reg.maxActivePerOrigin) {
        throw new SemperError('ERR_PROTOCOL_STATE', `${origin} already has ${reg.maxActivePerOrigin} ${reg.noun} in progress`);
      }
      const now = this.deps.now();
      const recent = (await this.deps.store.listCreatedSince(now - reg.rateWindowMs)).filter(ours);
      if (recent.length >= reg.maxPerOriginPerWindow) {
        throw new SemperError('ERR_RATE_LIMITED', `${origin} started ${recent.length} ${reg.noun} in the last minute; try again later`);
      }
      const ctx = await reg.context({ origin });
      const first = await reg.machine.start({ ...(params as object), origin, now }, ctx);
      const record = {
        kind,
        dealId: first.state.dealId,
        origin,
        createdAt: now,
        updatedAt: now,
        state: first.state,
        status: first.state.phase,
        terminal: reg.machine.isTerminal(first.state),
        idle: idleAtStart(reg.machine, first.state),
        ...(pageRequest === undefined ? {} : { pageRequest }),
      } as DealRecord;
      await this.deps.store.create(record);
      this.deps.onChanged?.(record);
      return this.after(reg, record, record, first);
    });
  }

  /** An event from the user (confirm, decline, a token-signed order): the machine decides whether it is welcome now. */
  event(dealId: string, event: EventShape): Promise<DealRecord> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      if (!record) throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
      if (record.terminal) throw new SemperError('ERR_PROTOCOL_STATE', `deal ${dealId} is ${record.status}`);
      return this.step(record, event);
    });
  }

  /** The alarm for `wakeAt(state)` fired (or a restart found it due). */
  timeout(dealId: string): Promise<DealRecord | undefined> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      if (!record || record.terminal) return record;
      const reg = this.registration(record.kind);
      const due = reg.machine.wakeAt(record.state);
      if (due === null) return record;
      // Early (or duplicate) alarm: wait for the machine's time again.
      if (due > this.deps.now()) {
        await this.deps.alarms.set(dealId, due);
        return record;
      }
      return this.step(record, { type: 'timeout', now: this.deps.now() });
    });
  }

  /**
   * Worker start: deliver due timeouts, re-send what live deals wait for, re-arm their alarms and
   * re-announce the deals awaiting the user. A deal whose offer expired meanwhile is ended instead
   * of being shown again.
   */
  async resume(): Promise<DealRecord[]> {
    const active = await this.deps.store.listActive();
    for (const record of active) {
      const reg = this.kinds.get(record.kind);
      if (!reg) continue;
      const due = reg.machine.wakeAt(record.state);
      if (due !== null && due <= this.deps.now()) {
        await this.timeout(record.dealId).catch((e: unknown) => this.deps.onError?.(record.dealId, e));
        continue;
      }
      if (due !== null) await this.deps.alarms.set(record.dealId, due);
      for (const outbound of reg.machine.pendingSends(record.state)) this.transmit(record, outbound);
      if (record.status === 'awaiting-confirmation') this.deps.onAwaitingUser(record);
    }
    return active;
  }

  /** Does this deal keep the trusted window open now? (its kind says, from its state) */
  holdsWindow(record: DealRecord): boolean {
    const reg = this.kinds.get(record.kind);
    return !record.terminal && reg !== undefined && reg.holdsWindow(record.state);
  }

  /** Wait until every step queued so far has run and no request is in flight (tests). */
  async idle(): Promise<void> {
    while (this.chains.size > 0 || this.inflight.size > 0) {
      await Promise.all([...this.chains.values()].map((p) => p.catch(() => undefined)));
      await new Promise((r) => setTimeout(r, 1));
    }
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

  /** One machine step; persisted before anything is sent or shown. The caller holds the deal's lock. */
  private async step(record: DealRecord, event: EventShape | HostEvent): Promise<DealRecord> {
    const reg = this.registration(record.kind);
    const ctx = await reg.context(record, event);
    if (this.deps.revocation) await this.deps.revocation.prepare(certificateChainsIn(event), reg.roots(ctx, record.state), event.now);
    const result = await reg.machine.step(record.state, event, ctx);
    if (result.state === record.state && result.send.length === 0 && result.effects.length === 0) return record;
    const now = this.deps.now();
    const next = {
      ...record,
      updatedAt: now,
      state: result.state,
      status: result.state.phase,
      terminal: reg.machine.isTerminal(result.state),
      idle: idleAtStart(reg.machine, result.state),
    } as DealRecord;
    const archive: ArchiveEntry[] = [];
    for (const effect of result.effects) {
      switch (effect.kind) {
        case 'archive':
          archive.push({
            dealId: record.dealId,
            direction: effect.direction,
            type: effect.statement.type,
            statement: effect.statement,
            digest: await statementDigest(effect.statement),
            archivedAt: now,
          });
          break;
        case 'show-offer':
          next.view = effect.view as never;
          break;
        case 'finished':
          next.result = { kind: 'finished', outcome: effect.outcome } as DealRecord['result'];
          break;
        case 'failed':
          next.result = { kind: 'failed', error: effect.error };
          break;
        case 'rejected':
          next.result = { kind: 'rejected' };
          break;
        case 'problem':
          next.problem = effect.error;
          break;
      }
    }
    await this.deps.store.commit(next, archive);
    this.deps.onChanged?.(next);
    return this.after(reg, record, next, result);
  }

  /** After a persisted start or step: the timer, the window, the page, then the sends. */
  private async after(reg: AnyDealKind, before: DealRecord, record: DealRecord, result: { send: HostOutbound[]; effects: HostEffect[] }): Promise<DealRecord> {
    const wake = reg.machine.wakeAt(record.state);
    if (record.terminal || wake === null) await this.deps.alarms.clear(record.dealId);
    else await this.deps.alarms.set(record.dealId, wake);
    if (result.effects.some((e) => e.kind === 'show-offer')) this.deps.onAwaitingUser(record);
    if (record.terminal) this.deps.onSettled(record);
    else if (before !== record && reg.holdsWindow(before.state) && !reg.holdsWindow(record.state)) this.deps.onReleased?.(record);
    for (const outbound of result.send) this.transmit(record, outbound);
    return record;
  }

  private transmit(record: DealRecord, outbound: HostOutbound): void {
    const key = `${record.dealId} ${JSON.stringify(outbound)}`;
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    void this.deps
      .transport(record.origin, outbound)
      .then((reply) => {
        this.inflight.delete(key);
        return this.onReply(record.dealId, outbound, reply);
      })
      .catch((e: unknown) => {
        this.inflight.delete(key);
        this.deps.onError?.(record.dealId, e);
      });
  }

  private onReply(dealId: string, sent: HostOutbound, reply: TransportReply): Promise<DealRecord | undefined> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      if (!record || record.terminal) return undefined;
      try {
        return await this.step(record, { type: 'reply', sent, reply, now: this.deps.now() });
      } catch (e) {
        if (isSemperError(e)) {
          if (e.code !== 'ERR_PROTOCOL_STATE') this.deps.onError?.(dealId, e);
          return undefined;
        }
        // The host failed (storage, key store): tell the machine the request failed rather than leave it hanging.
        this.deps.onError?.(dealId, e);
        const error = { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
        return this.step(record, { type: 'reply', sent, reply: { kind: 'error', error }, now: this.deps.now() });
      }
    });
  }
}
