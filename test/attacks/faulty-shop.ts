/**
 * A shop for the purchase attack suites (lost-order, worker-stop, wrong-delivery): a real HTTP
 * origin on 127.0.0.1 with the demo shop's own `/shop.js`, the real merchant kit behind
 * `/semper/*` (certified for this origin by a test CA), and faults a test switches on:
 *
 * - `cutOrderAnswers`: that many orders reach the kit, which stores them and answers, but the
 *   connection is destroyed before the answer is written (the shopper sees no answer at all);
 * - `goods`: the content of each SKU's good, which a test may change after the offer (a merchant
 *   delivering something other than it offered: the kit signs whatever its catalogue says).
 *
 * Every request is logged; the kit's deals are in `deals` (what the merchant holds).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { catalogFromItems, createMerchantKit } from '../../server/merchant/kit.js';
import { MemoryMerchantDealStore } from '../../server/merchant/deals.js';
import { SHOP_SCRIPT } from '../../server/shop/shop-script.js';
import type { CatalogItem } from '../../core/commerce/merchant.js';
import { makeTestCa, type TestCa } from '../helpers/pki.js';

export const FAULTY_SKU = 'field-notes';
export const FAULTY_TITLE = 'Field notes on electronic ordering';
export const FAULTY_CONTENT = 'Field notes: every offer signed, every order signed, both sides keep them.\n';

export interface FaultyShop {
  url: string;
  /** The test root that certifies this shop (add it to the extension's trusted roots). */
  root: string;
  /** Every request, oldest first: method, path, body. */
  requests: { method: string; path: string; body: string }[];
  faults: { cutOrderAnswers: number };
  /** The content the catalogue delivers for FAULTY_SKU (offers commit to it when they are made). */
  goods: { content: string };
  deals: MemoryMerchantDealStore;
  /** POST /semper/order requests received. */
  orders(): { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Field notes shop</title><script src="/shop.js" defer></script></head>
<body><h1>Field notes</h1>
<input type="number" id="quantity" value="1">
<button type="button" id="buy" data-semper-buy data-sku="${FAULTY_SKU}">Buy with Semper</button>
<output id="semper-result" data-status="idle"></output>
</body></html>`;

export async function startFaultyShop(options: { ca?: TestCa; legalName?: string } = {}): Promise<FaultyShop> {
  const ca = options.ca ?? (await makeTestCa('Purchase Attack Root'));
  const deals = new MemoryMerchantDealStore();
  const goods = { content: FAULTY_CONTENT };
  const item: CatalogItem = {
    sku: FAULTY_SKU,
    title: FAULTY_TITLE,
    unitPrice: { amount: 490, currency: 'EUR' },
    kind: 'digital',
    // A getter: the kit reads the catalogue at offer time (the commitment) and again at order time (the delivery).
    good: {
      mediaType: 'text/plain',
      get content() {
        return goods.content;
      },
    },
  };
  let app: ReturnType<typeof createMerchantKit>['app'] | undefined;
  const state: FaultyShop = {
    url: '',
    root: ca.root,
    requests: [],
    faults: { cutOrderAnswers: 0 },
    goods,
    deals,
    orders: () => state.requests.filter((r) => r.method === 'POST' && r.path === '/semper/order'),
    close: async () => undefined,
  };

  async function toKit(req: IncomingMessage, body: Buffer, res: ServerResponse, cut: boolean): Promise<void> {
    if (!app) throw new Error('merchant kit not ready');
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const response = await app.fetch(
      new Request(`${state.url}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: new Uint8Array(body) }),
      }),
    );
    const bytes = Buffer.from(await response.arrayBuffer());
    if (cut) {
      // The kit has stored the order and answered; the answer never reaches the shopper.
      res.socket?.destroy();
      return;
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(bytes);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '/').split('?')[0]!;
      state.requests.push({ method: req.method ?? '', path, body: body.toString('utf8') });
      void handle(req, res, path, body).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<void> {
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
      return;
    }
    if (req.method === 'GET' && path === '/shop.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(SHOP_SCRIPT);
      return;
    }
    if (path.startsWith('/semper/')) {
      const cut = req.method === 'POST' && path === '/semper/order' && state.faults.cutOrderAnswers > 0;
      if (cut) state.faults.cutOrderAnswers--;
      await toKit(req, body, res, cut);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issued = await ca.issue({ commonName: options.legalName ?? 'Field Notes Test Merchant GmbH', role: 'merchant', origins: [state.url] });
  app = createMerchantKit({
    identity: { signer: issued.signer, chain: issued.chain, origin: state.url },
    deals,
    purchases: { catalog: catalogFromItems([item], 'Digital field notes, no returns.'), offerTtlMs: 600_000 },
  }).app;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

/** What the merchant holds for a deal (the kit's stored state), or undefined. */
export async function merchantDeal(shop: FaultyShop, dealId: string): Promise<{ phase: string; state: Record<string, unknown> } | undefined> {
  const stored = await shop.deals.get(dealId);
  return stored ? { phase: (stored.state as { phase: string }).phase, state: stored.state as Record<string, unknown> } : undefined;
}

/** The deal id a shop page's result names, or the trusted window's. */
export function dealOfWindow(page: Page): string {
  return new URL(page.url()).searchParams.get('deal') ?? '';
}
