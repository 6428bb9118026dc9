/**
 * A certified merchant whose signed words are hostile (the text-spoofing attacks, test/attacks/
 * text-spoofing.test.ts): a real origin on 127.0.0.1 running the real merchant kit, certified for
 * its origin by a test CA the extension trusts, with a catalogue and terms the test chooses — an
 * unbreakable 200-character title, bidi overrides in titles and terms, a legal name that mixes
 * scripts. Every offer it signs is correct in every other respect: it must reach the window.
 */
import { Hono } from 'hono';
import type { CatalogItem } from '../../core/commerce/merchant.js';
import { listen, type RunningServer } from '../../server/http/listen.js';
import { MemoryMerchantDealStore } from '../../server/merchant/deals.js';
import { catalogFromItems, createMerchantKit } from '../../server/merchant/kit.js';
import type { TestCa } from '../helpers/pki.js';

export interface TextMerchantOptions {
  ca: TestCa;
  /** The certified legal name (CN and O): whatever the test CA will sign. */
  legalName: string;
  items: { sku: string; title: string; amount: number }[];
  terms: string;
}

export interface TextMerchant {
  url: string;
  close(): Promise<void>;
}

export async function startTextMerchant(options: TextMerchantOptions): Promise<TextMerchant> {
  let kit: ReturnType<typeof createMerchantKit> | undefined;
  const app = new Hono();
  app.get('/', (c) => c.html('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body><h1>Shop</h1></body></html>'));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.all('/semper/*', (c) => (kit ? kit.app.fetch(c.req.raw) : c.text('starting', 503)));
  const server: RunningServer = await listen({ host: '127.0.0.1', port: 0, fetch: (req) => app.fetch(req) });
  const issued = await options.ca.issue({ commonName: options.legalName, role: 'merchant', origins: [server.url] });
  const items: CatalogItem[] = options.items.map((i) => ({
    sku: i.sku,
    title: i.title,
    unitPrice: { amount: i.amount, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: `${i.sku}\n` },
  }));
  kit = createMerchantKit({
    identity: { signer: issued.signer, chain: issued.chain, origin: server.url },
    deals: new MemoryMerchantDealStore(),
    purchases: { catalog: catalogFromItems(items, options.terms), offerTtlMs: 600_000 },
  });
  return { url: server.url, close: () => server.close() };
}
