/**
 * Per-client limits (sliding window), in memory, per process: enough for one demo party; a
 * deployment behind several processes would keep the counters in shared storage. Two policies:
 *
 *   - attempts at a guessable secret (the CA's one-time registration codes): the CA's own limiter;
 *   - signed statements (`SigningBudget`): every endpoint whose answer the party signs and
 *     stores (offers, orders, exchange descriptors and messages, TTP requests) shares one budget
 *     per party. Signing and storing cost the party CPU and disk; a client that may ask without
 *     bound gets both for free.
 *
 * Both count a request only after it passed the content-type, size, nesting and schema checks
 * (http/json.ts): a web page of any other site can send no-cors POSTs from the shopper's own
 * address, but never one that passes, so it cannot spend the shopper's budget. And a request is
 * counted against what it proves where it proves something — the deal it continues, the
 * registration code it names — and against its socket address only where it proves nothing
 * (issue 8, item 11): someone else at the shopper's address (a NAT, a proxy, another program)
 * spending that address's budget does not stop the shopper's order or registration.
 */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { errorResponse } from './errors.js';

export interface RateLimiterOptions {
  /** Attempts allowed per key within `windowMs`. */
  limit: number;
  windowMs: number;
  now?: () => number;
  /** Bound on remembered keys; the oldest idle ones are dropped first (default 10 000). */
  maxKeys?: number;
}

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimiterOptions) {
    if (!(options.limit >= 1) || !(options.windowMs > 0)) throw new Error('rate limit needs limit >= 1 and windowMs > 0');
    this.now = options.now ?? Date.now;
  }

  /** Count one attempt for `key`. Returns 0 if allowed, else the milliseconds until the next one would be. */
  attempt(key: string): number {
    const t = this.now();
    const since = t - this.options.windowMs;
    // The key's attempts in time order, so those the window dropped are a prefix: each attempt costs
    // what expired since the last, not a copy of the whole window (at a high limit, thousands).
    const recent = this.hits.get(key) ?? [];
    let expired = 0;
    while (expired < recent.length && recent[expired]! <= since) expired++;
    if (expired > 0) recent.splice(0, expired);
    if (recent.length >= this.options.limit) {
      this.hits.set(key, recent);
      return Math.max(1, recent[0]! + this.options.windowMs - t);
    }
    // In order even if the clock went back: then before the later attempts already counted.
    let at = recent.length;
    while (at > 0 && recent[at - 1]! > t) at--;
    if (at === recent.length) recent.push(t);
    else recent.splice(at, 0, t);
    // Re-insert so Map order is least-recently-used first.
    this.hits.delete(key);
    this.hits.set(key, recent);
    const max = this.options.maxKeys ?? 10_000;
    while (this.hits.size > max) this.hits.delete(this.hits.keys().next().value!);
    return 0;
  }
}

/**
 * The peer's IP address as the socket reports it. Forwarding headers (X-Forwarded-For) are
 * deliberately ignored: the demo parties listen on loopback with no proxy in front, and a header
 * is whatever the client wants it to be. Without a socket (app.request in tests) all callers
 * share one key.
 */
export function peerAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The answer once a limit is reached: 429 ERR_RATE_LIMITED with Retry-After. */
export function rateLimited(c: Context, waitMs: number, who = 'this client'): Response {
  c.header('retry-after', String(Math.ceil(waitMs / 1000)));
  return errorResponse(c, 'ERR_RATE_LIMITED', `too many attempts from ${who}; try again in ${Math.ceil(waitMs / 1000)} s`, 429);
}

/**
 * Signed statements each client address may obtain from one party per minute, by default: far
 * above what a shopper needs (a purchase is two requests, an exchange three or four), low enough
 * that one client cannot make a party sign and store without bound. A party under load tests or
 * benchmarks configures its own.
 */
export const DEFAULT_SIGNED_STATEMENTS_PER_MINUTE = 300;

/** Signed statements per minute about one deal (or exchange) by default: a purchase needs two, an exchange a handful, repeats included. */
export const DEFAULT_SIGNED_STATEMENTS_PER_DEAL_PER_MINUTE = 30;

export interface SigningLimitOptions {
  /** Requests per client address and minute that prove nothing else (they open a deal). Default DEFAULT_SIGNED_STATEMENTS_PER_MINUTE. */
  perMinute?: number;
  /** Requests per minute about one deal that exists. Default DEFAULT_SIGNED_STATEMENTS_PER_DEAL_PER_MINUTE. */
  perDealPerMinute?: number;
  now?: () => number;
}

/**
 * The one policy for endpoints that issue signed statements, one per party. `charge` is called by
 * the route once the request passed every check of its shape (never before): a request about a
 * deal the party already holds counts against that deal, any other against the client's address.
 */
export class SigningBudget {
  private readonly clients: RateLimiter;
  private readonly deals: RateLimiter;

  constructor(options: SigningLimitOptions = {}) {
    const now = options.now ? { now: options.now } : {};
    this.clients = new RateLimiter({ limit: options.perMinute ?? DEFAULT_SIGNED_STATEMENTS_PER_MINUTE, windowMs: 60_000, ...now });
    this.deals = new RateLimiter({ limit: options.perDealPerMinute ?? DEFAULT_SIGNED_STATEMENTS_PER_DEAL_PER_MINUTE, windowMs: 60_000, ...now });
  }

  /** Count one request; the 429 to answer if over the limit, else undefined. `knownDeal`: the id of the existing deal it continues. */
  charge(c: Context, knownDeal?: string): Response | undefined {
    if (knownDeal !== undefined) {
      const waitMs = this.deals.attempt(knownDeal);
      return waitMs > 0 ? rateLimited(c, waitMs, 'this deal') : undefined;
    }
    const waitMs = this.clients.attempt(peerAddress(c));
    return waitMs > 0 ? rateLimited(c, waitMs) : undefined;
  }
}
