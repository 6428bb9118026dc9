/**
 * Helpers for the attack suite (test/attacks/*.test.ts). The browser side comes from the e2e
 * harness (test/e2e/harness.ts); this file adds the hostile parties the attacks need:
 *
 * - `startAttackServer`: a real HTTP origin on 127.0.0.1 that serves whatever pages a test puts
 *   in `pages` (a hostile page, a frame of another origin, a look-alike trusted window), logs
 *   every request it receives with its body, and answers `POST /semper/offer` either with the
 *   real merchant kit (server/merchant, a correct offer certified for this origin by a test CA)
 *   or with a hostile network behaviour: a redirect to another origin, a huge body, a hang, a
 *   body that drips forever.
 * - small page-side utilities (typed provider calls, a recorder of every message a page sees).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { catalogFromItems, createMerchantKit } from '../../server/merchant/kit.js';
import { MemoryMerchantDealStore } from '../../server/merchant/deals.js';
import { SHOP_SCRIPT } from '../../server/shop/shop-script.js';
import { makeTestCa, type TestCa } from '../helpers/pki.js';
import type { ExtensionHarness } from '../e2e/harness.js';
import { MAX_RESPONSE_BYTES } from '../../extension/worker/http.js';

export const ATTACK_SKU = 'widget';
export const ATTACK_LEGAL_NAME = 'Attack Test Merchant GmbH';

/** How the server answers `POST /semper/offer`. */
export type OfferMode =
  /** The real merchant kit: a correct, certified offer (the control case). */
  | 'merchant'
  /** 302 to the same path on `redirectTo` (another origin). */
  | 'redirect'
  /** 200 with `Content-Length` of HUGE_BYTES and that many bytes, streamed with backpressure and a pause (see HUGE_PAUSE_MS). */
  | 'huge-declared'
  /** 200, chunked (no Content-Length), HUGE_BYTES streamed with backpressure and a pause (see HUGE_PAUSE_MS). */
  | 'huge-chunked'
  /** Never answers (no status line). */
  | 'hang'
  /** 200 and the start of a JSON body, then one byte every 500 ms, never finishing. */
  | 'drip';

export const HUGE_BYTES = 64 * 1024 * 1024;
/** A huge body is written in pieces of this size (after a short JSON head). */
export const HUGE_PIECE_BYTES = 64 * 1024;
/**
 * A huge body is sent in two parts: first just over the worker's bound for merchant replies (the
 * first piece that takes the body past MAX_RESPONSE_BYTES), then nothing for HUGE_PAUSE_MS, then
 * the rest. A worker that stops at its bound has everything it needs to give up before the pause
 * and closes the connection during it; a worker that reads on waits through the pause and is then
 * sent the rest. The pause makes "how much did the worker want" observable on the server:
 * without it, the count of bytes written before the connection closed measures how far Chromium
 * reads ahead of the worker (Chromium 156 in this harness fetches the whole body into its own
 * buffers whether or not the worker reads: measured, all 64 MiB within 0.1 to 2 s with a worker
 * that reads nothing) times how long the worker took to reach its bound (40 ms to 1 s, longer
 * under load): 2 to 26 MiB were sent on the same machine.
 */
export const HUGE_PAUSE_AFTER_BYTES = MAX_RESPONSE_BYTES;
/** Shorter than the worker's request timeout, so that a worker that reads on cannot hide behind it. */
export const HUGE_PAUSE_MS = 10_000;

export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface StreamStats {
  /** Bytes of the body handed to the socket. */
  bytesSent: number;
  /** The client went away before the whole body was sent. */
  clientClosed: boolean;
  /** The whole body was sent. */
  finished: boolean;
  /** Huge bodies: bytes sent when the pause began (undefined: the client went away before it). */
  pausedAt?: number;
  /** Huge bodies: the pause ended with the client still connected, and the rest was sent. */
  resumed?: boolean;
}

export interface AttackServer {
  url: string;
  /** Every request received, oldest first (bodies up to 1 MiB). */
  requests: LoggedRequest[];
  /** path → HTML served with GET (no CSP, no frame restrictions: the page is the attacker's). */
  pages: Map<string, string>;
  offerMode: OfferMode;
  /** Target of the 'redirect' mode. */
  redirectTo: string;
  /** What the last huge/drip response did on the wire. */
  lastStream: StreamStats | undefined;
  /** Offer requests currently held open by 'hang'/'drip'. */
  readonly openHolds: number;
  close(): Promise<void>;
}

/** The default shop page: a "Buy with Semper" button driven by the demo shop's own /shop.js. */
export const SHOP_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Attack shop</title><script src="/shop.js" defer></script></head>
<body><h1>Widgets</h1>
<input type="number" id="quantity" value="1">
<button type="button" id="buy" data-semper-buy data-sku="${ATTACK_SKU}">Buy with Semper</button>
<output id="semper-result" data-status="idle"></output>
</body></html>`;

const MAX_LOGGED_BODY = 1024 * 1024;

/**
 * A hostile (or, in 'merchant' mode, correct) merchant origin on 127.0.0.1. `ca` is the test CA
 * that certifies it; pass the same CA to several servers so one trusted root covers them all.
 */
export async function startAttackServer(options: { ca?: TestCa; legalName?: string } = {}): Promise<AttackServer> {
  const ca = options.ca ?? (await makeTestCa('Attack Test Root'));
  const holds = new Set<ServerResponse>();
  let merchantApp: ReturnType<typeof createMerchantKit>['app'] | undefined;

  const state: AttackServer = {
    url: '',
    requests: [],
    pages: new Map([['/', SHOP_PAGE]]),
    offerMode: 'merchant',
    redirectTo: '',
    lastStream: undefined,
    get openHolds() {
      return holds.size;
    },
    close: async () => undefined,
  };

  async function toMerchant(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    if (!merchantApp) throw new Error('merchant app not ready');
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const response = await merchantApp.fetch(
      new Request(`${state.url}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: new Uint8Array(body) }),
      }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  }

  /**
   * Stream `total` bytes of a JSON-looking body, only as fast as the socket takes them, pausing
   * HUGE_PAUSE_MS once more than HUGE_PAUSE_AFTER_BYTES have been sent.
   */
  function streamHuge(res: ServerResponse, total: number, declareLength: boolean): void {
    const stats: StreamStats = { bytesSent: 0, clientClosed: false, finished: false, resumed: false };
    state.lastStream = stats;
    res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(total) } : {}) });
    const chunk = Buffer.alloc(HUGE_PIECE_BYTES, 0x61); // 'aaaa…' inside a JSON string
    const head = Buffer.from('{"offer":"');
    const tail = Buffer.from('"}');
    let pause: ReturnType<typeof setTimeout> | undefined;
    res.on('close', () => {
      clearTimeout(pause);
      if (!stats.finished) stats.clientClosed = true;
    });
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        if (res.destroyed) return;
        if (sent > HUGE_PAUSE_AFTER_BYTES && stats.pausedAt === undefined) {
          stats.pausedAt = sent;
          pause = setTimeout(() => {
            stats.resumed = true;
            pump();
          }, HUGE_PAUSE_MS);
          return;
        }
        const piece =
          sent === 0
            ? head
            : total - sent <= tail.length
              ? tail.subarray(0, total - sent)
              : chunk.subarray(0, Math.min(chunk.length, total - sent - tail.length));
        sent += piece.length;
        stats.bytesSent = sent;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      stats.finished = true;
      res.end();
    };
    pump();
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_LOGGED_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '/').split('?')[0]!;
      state.requests.push({ method: req.method ?? '', path, headers: { ...req.headers }, body: body.toString('utf8') });
      void handle(req, res, path, body).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<void> {
    if (req.method === 'GET') {
      if (path === '/shop.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(SHOP_SCRIPT);
        return;
      }
      if (path === '/favicon.ico') {
        res.writeHead(204);
        res.end();
        return;
      }
      const page = state.pages.get(path);
      if (page !== undefined) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(page);
        return;
      }
    }
    if (req.method === 'POST' && path === '/semper/offer') {
      switch (state.offerMode) {
        case 'merchant':
          break;
        case 'redirect':
          res.writeHead(302, { location: `${state.redirectTo}/semper/offer` });
          res.end();
          return;
        case 'huge-declared':
          streamHuge(res, HUGE_BYTES, true);
          return;
        case 'huge-chunked':
          streamHuge(res, HUGE_BYTES, false);
          return;
        case 'hang':
          holds.add(res);
          res.on('close', () => holds.delete(res));
          return;
        case 'drip': {
          holds.add(res);
          const stats: StreamStats = { bytesSent: 0, clientClosed: false, finished: false };
          state.lastStream = stats;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"offer":"');
          const timer = setInterval(() => {
            res.write('a');
            stats.bytesSent++;
          }, 500);
          res.on('close', () => {
            clearInterval(timer);
            holds.delete(res);
            stats.clientClosed = true;
          });
          return;
        }
      }
    }
    if (path.startsWith('/semper/')) {
      await toMerchant(req, body, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  const issued = await ca.issue({ commonName: options.legalName ?? ATTACK_LEGAL_NAME, role: 'merchant', origins: [state.url] });
  merchantApp = createMerchantKit({
    identity: { signer: issued.signer, chain: issued.chain, origin: state.url },
    deals: new MemoryMerchantDealStore(),
    purchases: {
      catalog: catalogFromItems(
        [
          {
            sku: ATTACK_SKU,
            title: 'Widget',
            unitPrice: { amount: 999, currency: 'EUR' },
            kind: 'digital',
            good: { mediaType: 'text/plain', content: 'one widget\n' },
          },
        ],
        'No refunds.',
      ),
      offerTtlMs: 600_000,
    },
  }).app;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const h of holds) h.destroy();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

/** The result of a provider call made in a page: the value, or the error's code and reason. */
export type ProviderOutcome = { ok: true; value: unknown } | { ok: false; code: unknown; reason: unknown; message: unknown };

/** `window.semper.request(args)` in `page`, settled into a ProviderOutcome. */
export function providerRequest(page: Page, args: unknown): Promise<ProviderOutcome> {
  return page.evaluate(
    (a) =>
      (window as unknown as { semper: { request(x: unknown): Promise<unknown> } }).semper.request(a).then(
        (value) => ({ ok: true as const, value }),
        (e: { code?: unknown; data?: { reason?: unknown }; message?: unknown }) => ({
          ok: false as const,
          code: e?.code,
          reason: e?.data?.reason,
          message: e?.message,
        }),
      ),
    args,
  );
}

/**
 * Record, in the page, every `message` event the page's window receives (data as JSON, and whether
 * it came from the page's own window). Read back with `recordedMessages`.
 */
export async function recordMessages(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __seen?: { fromSelf: boolean; origin: string; json: string }[] };
    if (w.__seen) return;
    const seen: { fromSelf: boolean; origin: string; json: string }[] = [];
    w.__seen = seen;
    window.addEventListener('message', (e: MessageEvent) => {
      let json: string;
      try {
        json = JSON.stringify(e.data);
      } catch {
        json = String(e.data);
      }
      seen.push({ fromSelf: e.source === window, origin: e.origin, json });
    });
  });
}

export async function recordedMessages(page: Page): Promise<{ fromSelf: boolean; origin: string; json: string }[]> {
  return page.evaluate(() => (window as unknown as { __seen?: { fromSelf: boolean; origin: string; json: string }[] }).__seen ?? []);
}

/** Every deal the worker holds (through the operation API, as the popup sees them). */
export async function dealsOf(harness: ExtensionHarness) {
  return (await harness.operation('listDeals', {})).deals;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The extension's running service worker (fresh: the handle changes when Chrome restarts it). */
export function serviceWorkerOf(harness: ExtensionHarness) {
  const w = harness.context.serviceWorkers().find((s) => s.url().startsWith(harness.url('')));
  if (!w) throw new Error('the extension service worker is not running');
  return w;
}

/**
 * An operation by name, untyped (for operations other engineers may not have wired yet): the raw
 * `{ ok, response | error }` from the worker, called from the harness's extension page.
 */
export async function rawOperation(
  harness: ExtensionHarness,
  op: string,
  request: unknown,
): Promise<{ ok: boolean; response?: unknown; error?: { code: string; message: string } }> {
  return (await harness.opsPage.evaluate(([o, r]) => chrome.runtime.sendMessage({ op: o, request: r }), [op, request] as const)) as {
    ok: boolean;
    response?: unknown;
    error?: { code: string; message: string };
  };
}

/** Every trusted-window page open now whose deal is `dealId` (or any, without one). */
export function trustedWindowFor(harness: ExtensionHarness, dealId?: string): Page | undefined {
  const prefix = harness.url('trusted-window/index.html');
  return harness.context
    .pages()
    .find(
      (p) =>
        !p.isClosed() &&
        p.url().startsWith(prefix) &&
        new URL(p.url()).searchParams.get('screen') !== 'result' &&
        (dealId === undefined || new URL(p.url()).searchParams.get('deal') === dealId),
    );
}
