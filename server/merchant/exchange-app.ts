/**
 * The merchant kit's exchange host: the merchant as *responder* of the generic fair exchange
 * (core/exchange) for the two commerce uses of core/commerce/exchange-deal.ts, certified mail and
 * contract signing. A thin host around the sans-IO responder machine: it validates what arrives,
 * runs one step under a per-deal lock, persists the JSON state (compare-and-set), and answers.
 *
 *   POST /semper/exchange/descriptor    DescriptorRequest     → { descriptor }          (idempotent for the same request)
 *   POST /semper/exchange/messages      { message: Statement } → { replies: Statement[] }
 *   GET  /semper/exchange/deals/:dealId                       → { dealId, use, descriptor, state, stopped } (operator)
 *   errors                                                    → { error: { code, message } }
 *
 * Timers: `tick()` delivers due timeouts (e.g. m3 never came in certified mail: complain to the
 * TTP before the deadline; contract signing: resolve with (m1, m2)); the TTP is asked at the URL
 * the merchant is configured with, never one a message names. `start()` runs tick periodically.
 *
 * Test faults (`faults`, read on every request so a test can switch them):
 *   stopAfter: 'receiving-proposal'         the merchant processes m1, then answers nothing more
 *   stopAfter: 'receiving-originator-item'  the merchant takes the shopper's item (m3), then stops
 *   descriptorOrigin                        descriptors name this origin instead of the merchant's
 * A stopped exchange answers 503 and runs no timers: the shopper must get its due from the TTP.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { SemperError, errorToJson, type SemperErrorCode } from '../../core/errors.js';
import { bytesEqual, utf8 } from '../../core/encoding/index.js';
import {
  DEFAULT_EXCHANGE_TIMING,
  DescriptorRequest,
  isRepeatedDescriptorRequest,
  makeExchangeDescriptor,
  timeoutsFrom,
  type ExchangeCatalog,
  type ExchangeTiming,
} from '../../core/commerce/exchange-deal.js';
import type { MerchantIdentity } from '../../core/commerce/merchant.js';
import { DealId } from '../../core/protocol/commerce.js';
import { EXCHANGE_TYPES, startResponder, stepExchange, type ExchangeContext, type ExchangeEvent, type ExchangeState, type Outbound } from '../../core/exchange/index.js';
import { Statement } from '../../core/statements/index.js';
import { errorResponse, handleError } from '../http/errors.js';
import { jsonBodyLimit, readJson } from '../http/json.js';
import { KeyedLock } from './keyed-lock.js';
import type { MerchantExchangeStore } from './exchange-store.js';

export interface ExchangeFaults {
  stopAfter?: 'receiving-proposal' | 'receiving-originator-item';
  descriptorOrigin?: string;
}

export interface MerchantExchangeOptions {
  identity: MerchantIdentity;
  catalog: ExchangeCatalog;
  store: MerchantExchangeStore;
  /** The TTP this merchant accepts, and where it reaches it. */
  ttp: { keyId: string; url: string; certificateChain: string[] };
  /** Roots for certified signers in exchange messages (the TTP's chain, certified items). */
  trustRoots: readonly string[];
  timing?: ExchangeTiming;
  /** How long a descriptor may be confirmed (default 10 minutes). */
  descriptorTtlMs?: number;
  terms?: string;
  now?: () => number;
  faults?: ExchangeFaults;
  operatorToken?: string;
  maxBodyBytes?: number;
  /** How the merchant POSTs to the TTP (default: global fetch). */
  fetch?: typeof fetch;
  onError?: (what: string, e: unknown) => void;
}

const MessageRequest = z.strictObject({ message: Statement });
const DEFAULT_DESCRIPTOR_TTL_MS = 10 * 60_000;
const TTP_TIMEOUT_MS = 10_000;

function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const a = utf8(presented);
  const b = utf8(token);
  return a.length === b.length && bytesEqual(a, b);
}

function asCode(code: string): SemperErrorCode {
  return /^ERR_[A-Z_]+$/.test(code) ? (code as SemperErrorCode) : 'ERR_INTERNAL';
}

export class MerchantExchangeHost {
  readonly app: Hono;
  readonly faults: ExchangeFaults;
  private readonly locks = new KeyedLock();
  private readonly now: () => number;
  private readonly timing: ExchangeTiming;
  private timer: ReturnType<typeof setInterval> | undefined;
  private ticking: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly options: MerchantExchangeOptions) {
    this.now = options.now ?? Date.now;
    this.timing = options.timing ?? DEFAULT_EXCHANGE_TIMING;
    this.faults = options.faults ?? {};
    this.app = this.createApp();
  }

  private context(): ExchangeContext {
    const { identity, ttp, trustRoots } = this.options;
    return { signer: identity.signer, signerRef: { kind: 'x509', chain: identity.chain }, trust: { roots: trustRoots, ttps: [ttp.keyId] } };
  }

  private createApp(): Hono {
    const app = new Hono();
    app.onError(handleError);
    app.use('/semper/exchange/*', async (c, next) => {
      await next();
      c.header('cache-control', 'no-store');
      c.header('x-content-type-options', 'nosniff');
    });
    const limit = jsonBodyLimit(this.options.maxBodyBytes ?? 256 * 1024);

    app.post('/semper/exchange/descriptor', limit, async (c) => {
      const request = await readJson(c, DescriptorRequest, 'exchange descriptor request');
      return c.json({ descriptor: await this.descriptor(request) });
    });

    app.post('/semper/exchange/messages', limit, async (c) => {
      const { message } = await readJson(c, MessageRequest, 'exchange message');
      const replies = await this.message(message);
      // A stopped merchant (test fault) behaves like one that crashed: no answer worth reading.
      if (replies === null) return errorResponse(c, 'ERR_INTERNAL', 'the merchant has stopped (test fault)', 503);
      return c.json({ replies });
    });

    app.get('/semper/exchange/deals/:dealId', async (c) => {
      if (this.options.operatorToken !== undefined && !tokenMatches(c.req.header('authorization'), this.options.operatorToken)) {
        c.header('www-authenticate', 'Bearer');
        return errorResponse(c, 'ERR_SIGNATURE_INVALID', 'operator token required', 401);
      }
      const parsed = DealId.safeParse(c.req.param('dealId'));
      if (!parsed.success) throw new SemperError('ERR_SCHEMA', 'deal id must be 16-64 base64url characters');
      const stored = await this.options.store.get(parsed.data);
      if (!stored) throw new SemperError('ERR_NOT_FOUND', `no exchange ${parsed.data}`);
      return c.json({ dealId: stored.dealId, use: stored.use, descriptor: stored.descriptor, state: stored.state, stopped: stored.stopped });
    });
    return app;
  }

  /** Issue (or re-issue, for the identical request) the signed descriptor and start the responder. */
  async descriptor(request: DescriptorRequest) {
    return this.locks.run(request.dealId, async () => {
      const existing = await this.options.store.get(request.dealId);
      if (existing) {
        const stillOpen = existing.state.phase === 'awaiting-m1' && Date.parse(existing.descriptor.body.expiresAt) > this.now();
        if (stillOpen && (await isRepeatedDescriptorRequest(existing.descriptor, request))) return existing.descriptor;
        throw new SemperError('ERR_REPLAY', `deal ${request.dealId} already has an exchange descriptor`);
      }
      const now = this.now();
      const identity = this.faults.descriptorOrigin ? { ...this.options.identity, origin: this.faults.descriptorOrigin } : this.options.identity;
      const descriptorTtlMs = this.options.descriptorTtlMs ?? DEFAULT_DESCRIPTOR_TTL_MS;
      const { descriptor, responder } = await makeExchangeDescriptor(request, {
        identity,
        ttp: { keyId: this.options.ttp.keyId, certificateChain: this.options.ttp.certificateChain, endpoint: this.options.ttp.url },
        catalog: this.options.catalog,
        now,
        descriptorTtlMs,
        timing: this.timing,
        ...(this.options.terms ? { terms: this.options.terms } : {}),
      });
      const timeouts = timeoutsFrom(this.timing);
      const start = await startResponder(
        {
          protocol: responder.protocol,
          dealId: request.dealId,
          originator: responder.shopperKeyId,
          gives: responder.gives,
          item: responder.item,
          expects: responder.expects,
          now,
          // The shopper may confirm until the descriptor expires; m1 may take a few retries after that.
          waitUntil: now + descriptorTtlMs + (timeouts.peerRetries + 2) * timeouts.peer,
          timeouts,
        },
        this.context(),
      );
      if (!(await this.options.store.insert(request.dealId, request.use, descriptor, start.state))) {
        throw new SemperError('ERR_REPLAY', `deal ${request.dealId} already has an exchange descriptor`);
      }
      return descriptor;
    });
  }

  /** One exchange message from the shopper; returns the merchant's replies to it (null: stopped by a test fault). */
  async message(message: Statement): Promise<Statement[] | null> {
    const dealId = message.dealId;
    const { replies, ttp } = await this.locks.run(dealId, async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const stored = await this.options.store.get(dealId);
        if (!stored) throw new SemperError('ERR_NOT_FOUND', `no exchange for deal ${dealId}`);
        if (stored.stopped) return { replies: null, ttp: [] as Outbound[] };
        const res = await stepExchange(stored.state, { type: 'message', message, now: this.now(), from: 'peer' }, this.context());
        const rejected = res.effects.find((e) => e.kind === 'rejected-message');
        if (rejected && res.state === stored.state && res.send.length === 0) {
          throw new SemperError(asCode(rejected.error.code), rejected.error.message);
        }
        const stop = this.shouldStop(stored.state, res.state, message);
        if (res.state !== stored.state || stop) {
          if (!(await this.options.store.update(dealId, stored.version, res.state, stop))) continue;
        }
        if (stop) return { replies: null, ttp: [] as Outbound[] };
        return { replies: res.send.filter((o) => o.to === 'peer').map((o) => o.statement), ttp: res.send.filter((o) => o.to === 'ttp') };
      }
      throw new SemperError('ERR_INTERNAL', `exchange ${dealId} kept changing under a concurrent writer`);
    });
    this.toTtp(dealId, ttp);
    return replies;
  }

  private shouldStop(before: ExchangeState, after: ExchangeState, message: Statement): boolean {
    switch (this.faults.stopAfter) {
      case 'receiving-proposal':
        return message.type === EXCHANGE_TYPES.propose && before.phase === 'awaiting-m1' && after.phase !== 'awaiting-m1';
      case 'receiving-originator-item':
        return before.received === null && after.received !== null;
      default:
        return false;
    }
  }

  /** Run one event under the deal's lock and persist; returns what must go to the TTP. */
  private async stepLocked(dealId: string, event: (state: ExchangeState) => ExchangeEvent | null): Promise<Outbound[]> {
    return this.locks.run(dealId, async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const stored = await this.options.store.get(dealId);
        if (!stored || stored.stopped) return [];
        const e = event(stored.state);
        if (!e) return [];
        const res = await stepExchange(stored.state, e, this.context());
        for (const effect of res.effects) if (effect.kind === 'rejected-message') this.options.onError?.(`exchange ${dealId}`, effect.error);
        if (res.state !== stored.state && !(await this.options.store.update(dealId, stored.version, res.state))) continue;
        return res.send.filter((o) => o.to === 'ttp');
      }
      return [];
    });
  }

  private toTtp(dealId: string, outbound: Outbound[]): void {
    for (const o of outbound) {
      const p = this.postTtp(dealId, o.statement).catch((e: unknown) => this.options.onError?.(`TTP request of exchange ${dealId}`, e));
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  private async postTtp(dealId: string, request: Statement): Promise<void> {
    const doFetch = this.options.fetch ?? fetch;
    let event: ExchangeEvent | null = null;
    try {
      const response = await doFetch(new URL('/ttp/requests', this.options.ttp.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ request }),
        redirect: 'error',
        signal: AbortSignal.timeout(TTP_TIMEOUT_MS),
      });
      const body = (await response.json()) as { answer?: unknown; error?: { code?: unknown; message?: unknown } };
      if (response.ok && body.answer) event = { type: 'message', message: body.answer, now: this.now(), from: 'ttp' };
      else event = { type: 'ttp-error', error: { code: String(body.error?.code ?? 'ERR_TTP'), message: String(body.error?.message ?? `TTP answered HTTP ${response.status}`) }, now: this.now() };
    } catch (e) {
      // Unreachable: the timer asks again.
      this.options.onError?.(`TTP unreachable for exchange ${dealId}`, errorToJson(e));
      return;
    }
    const more = await this.stepLocked(dealId, () => event);
    this.toTtp(dealId, more);
  }

  /** Deliver every due timeout once. */
  tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        const now = this.now();
        for (const dealId of await this.options.store.due(now)) {
          const outbound = await this.stepLocked(dealId, (state) => (state.wakeAt !== null && state.wakeAt <= this.now() ? { type: 'timeout', now: this.now() } : null));
          this.toTtp(dealId, outbound);
        }
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  /** Run `tick` every `intervalMs` (unref'd: it never keeps a process alive). */
  start(intervalMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.tick().catch((e: unknown) => this.options.onError?.('exchange timers', e));
    }, intervalMs);
    this.timer.unref?.();
  }

  /** Stop the timers and wait for TTP requests under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking?.catch(() => undefined);
    await Promise.all([...this.inflight]);
  }
}
