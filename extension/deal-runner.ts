/**
 * Hosts the shopper state machine (core/commerce/shopper.ts) with its I/O factored out, so the
 * same runner drives deals in the service worker and in Node unit tests.
 *
 * Rules it keeps:
 * - steps of one deal are serialised; the state is persisted after EVERY step, together with the
 *   statements the step archived, before any message is sent or any effect is shown;
 * - a response is applied only while the state still expects it (pendingSends), so a duplicate
 *   or late response after a restart cannot move a deal;
 * - after a restart, `resume()` re-sends what each live deal is waiting for and re-announces the
 *   deals awaiting the user's confirmation.
 */
import { SemperError } from '../core/errors.js';
import { statementDigest } from '../core/statements/index.js';
import {
  isTerminal,
  pendingSends,
  wakeAt,
  startPurchase,
  stepShopper,
  type Outbound,
  type ShopperContext,
  type ShopperEvent,
  type ShopperStep,
} from '../core/commerce/shopper.js';
import type { RequestedItem } from '../core/protocol/commerce.js';
import type { ArchiveEntry, DealRecord, DealStatus, DealStore } from './deal-store.js';

export type { HttpReply } from './http.js';
import type { HttpReply } from './http.js';

export interface DealRunnerDeps {
  store: DealStore;
  /** Trusted roots and the device signer, read fresh for each step (roots are settings). */
  context(): Promise<ShopperContext>;
  /** POST the outbound message to `${origin}${path}`; never throws. */
  http(origin: string, outbound: Outbound): Promise<HttpReply>;
  now(): number;
  /** base64url of `bytes` fresh random bytes */
  randomId(bytes: number): string;
  /** A deal has a verified offer and waits for the user. */
  onAwaitingUser(record: DealRecord): void;
  /** A deal reached its end: settle the page's request, close its window. */
  onSettled(record: DealRecord): void;
  /** Any persisted change of a deal (created, stepped): the toolbar badge counts deals awaiting the user. */
  onChanged?(record: DealRecord): void;
  onError?(dealId: string, error: unknown): void;
}

/** At most this many unfinished deals per origin: a page cannot queue windows without end. */
export const MAX_ACTIVE_DEALS_PER_ORIGIN = 3;
/**
 * At most this many deals per origin started within DEAL_RATE_WINDOW_MS, finished or not: a page
 * whose offers fail at once must not fill the shopper's archive without end (test/attacks/flood.test.ts).
 */
export const MAX_DEALS_PER_ORIGIN_PER_WINDOW = 20;
export const DEAL_RATE_WINDOW_MS = 60_000;

export class DealRunner {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inflight = new Set<string>();

  constructor(private readonly deps: DealRunnerDeps) {}

  /** Start a purchase for `origin` (from the browser, never from the page). */
  start(origin: string, items: RequestedItem[]): Promise<DealRecord> {
    // Check the bound and create the deal under one per-origin lock: concurrent requests would
    // otherwise all read the same count and all pass (test/attacks/flood.test.ts).
    return this.serial(`origin:${origin}`, () => this.startLocked(origin, items));
  }

  private async startLocked(origin: string, items: RequestedItem[]): Promise<DealRecord> {
    const active = await this.deps.store.listActive();
    if (active.filter((d) => d.origin === origin).length >= MAX_ACTIVE_DEALS_PER_ORIGIN) {
      throw new SemperError('ERR_PROTOCOL_STATE', `${origin} already has ${MAX_ACTIVE_DEALS_PER_ORIGIN} purchases in progress`);
    }
    const now = this.deps.now();
    const recent = (await this.deps.store.listAll()).filter((d) => d.origin === origin && d.createdAt > now - DEAL_RATE_WINDOW_MS);
    if (recent.length >= MAX_DEALS_PER_ORIGIN_PER_WINDOW) {
      throw new SemperError('ERR_RATE_LIMITED', `${origin} started ${recent.length} purchases in the last minute; try again later`);
    }
    const dealId = this.deps.randomId(24);
    const nonce = this.deps.randomId(32);
    const step = startPurchase({ dealId, nonce, origin, items, now });
    const record: DealRecord = {
      dealId,
      origin,
      createdAt: now,
      updatedAt: now,
      state: step.state,
      status: step.state.phase,
      terminal: isTerminal(step.state),
    };
    await this.deps.store.create(record);
    this.deps.onChanged?.(record);
    this.perform(record, step);
    return record;
  }

  /** Confirmed in the trusted window; `ctx` overrides the context for this step (e.g. the signer: a pseudonym). */
  confirm(dealId: string, ctx?: Partial<ShopperContext>): Promise<DealRecord> {
    return this.userDecision(dealId, { type: 'user-confirmed', now: this.deps.now() }, ctx);
  }

  /** An order signed in the trusted window (hardware token); the machine verifies it, a refusal leaves the deal open. */
  submitSignedOrder(dealId: string, order: unknown): Promise<DealRecord> {
    return this.userDecision(dealId, { type: 'order-signed', order, now: this.deps.now() });
  }

  reject(dealId: string): Promise<DealRecord> {
    return this.userDecision(dealId, { type: 'user-rejected', now: this.deps.now() });
  }

  private userDecision(dealId: string, event: ShopperEvent, ctx?: Partial<ShopperContext>): Promise<DealRecord> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      if (!record) throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
      if (record.status !== 'awaiting-confirmation') {
        throw new SemperError('ERR_PROTOCOL_STATE', `deal ${dealId} is ${record.status}, not awaiting confirmation`);
      }
      return this.step(record, event, ctx);
    });
  }

  /**
   * Re-send what live deals wait for and re-announce the ones awaiting the user (worker start).
   * A deal whose offer expired meanwhile is ended (ERR_OFFER_EXPIRED) instead of shown again.
   */
  async resume(): Promise<DealRecord[]> {
    const active = await this.deps.store.listActive();
    for (const record of active) {
      const due = wakeAt(record.state);
      if (due !== null && due <= this.deps.now()) {
        await this.expire(record.dealId);
        continue;
      }
      for (const outbound of pendingSends(record.state)) this.transmit(record, outbound);
      if (record.status === 'awaiting-confirmation') this.deps.onAwaitingUser(record);
    }
    return active;
  }

  /** Deliver the machine's timeout: ends a deal whose offer expired before the user decided. */
  expire(dealId: string): Promise<DealRecord | undefined> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      const due = record ? wakeAt(record.state) : null;
      if (!record || due === null || due > this.deps.now()) return record;
      return this.step(record, { type: 'timeout', now: this.deps.now() });
    });
  }

  /** Wait until every step queued so far has run (tests). */
  async idle(): Promise<void> {
    while (this.chains.size > 0 || this.inflight.size > 0) {
      await Promise.all([...this.chains.values()].map((p) => p.catch(() => undefined)));
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  private serial<T>(dealId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(dealId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(dealId, tail);
    void tail.then(() => {
      if (this.chains.get(dealId) === tail) this.chains.delete(dealId);
    });
    return run;
  }

  /** One machine step, persisted before anything is sent or shown. Caller holds the deal's lock. */
  private async step(record: DealRecord, event: ShopperEvent, overrides?: Partial<ShopperContext>): Promise<DealRecord> {
    const ctx = { ...(await this.deps.context()), ...overrides };
    const step = await stepShopper(record.state, event, ctx);
    const now = this.deps.now();
    const next: DealRecord = {
      ...record,
      updatedAt: now,
      state: step.state,
      status: step.state.phase as DealStatus,
      terminal: isTerminal(step.state),
    };
    const archive: ArchiveEntry[] = [];
    for (const effect of step.effects) {
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
          next.view = effect.view;
          break;
        case 'finished':
          next.result = { kind: 'finished', outcome: effect.outcome };
          break;
        case 'failed':
          next.result = { kind: 'failed', error: effect.error };
          break;
        case 'rejected':
          next.result = { kind: 'rejected' };
          break;
      }
    }
    await this.deps.store.commit(next, archive);
    this.deps.onChanged?.(next);
    this.perform(next, step);
    return next;
  }

  private perform(record: DealRecord, step: ShopperStep): void {
    for (const effect of step.effects) {
      if (effect.kind === 'show-offer') this.deps.onAwaitingUser(record);
    }
    if (record.terminal) this.deps.onSettled(record);
    for (const outbound of step.send) this.transmit(record, outbound);
  }

  private transmit(record: DealRecord, outbound: Outbound): void {
    const key = `${record.dealId} ${outbound.path}`;
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    void this.deps
      .http(record.origin, outbound)
      .then((reply) => {
        this.inflight.delete(key);
        return this.onReply(record.dealId, outbound, reply);
      })
      .catch((e: unknown) => {
        this.inflight.delete(key);
        this.deps.onError?.(record.dealId, e);
      });
  }

  private onReply(dealId: string, outbound: Outbound, reply: HttpReply): Promise<DealRecord | undefined> {
    return this.serial(dealId, async () => {
      const record = await this.deps.store.get(dealId);
      if (!record || record.terminal) return undefined;
      // Apply only what the current state still waits for: drop late and duplicate responses.
      if (!pendingSends(record.state).some((o) => o.path === outbound.path)) return undefined;
      const now = this.deps.now();
      const event: ShopperEvent =
        reply.kind === 'error'
          ? { type: 'transport-error', error: reply.error, now }
          : outbound.path === '/semper/offer'
            ? { type: 'offer-response', response: reply.body, now }
            : { type: 'order-response', response: reply.body, now };
      try {
        return await this.step(record, event);
      } catch (e) {
        if (e instanceof SemperError && e.code === 'ERR_PROTOCOL_STATE') return undefined;
        // The host failed (storage, key store): end the deal with a typed error rather than leave it hanging.
        this.deps.onError?.(dealId, e);
        const error = { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
        return this.step(record, { type: 'transport-error', error, now: this.deps.now() });
      }
    });
  }
}
