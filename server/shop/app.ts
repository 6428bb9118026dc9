/**
 * The demo shop: server-rendered catalogue and product pages, `/shop.js`, and the merchant kit
 * mounted on the same origin (so the page's origin is the origin its offers are signed for).
 */
import { Hono, type Context } from 'hono';
import { Sku } from '../../core/protocol/commerce.js';
import { errorResponse } from '../http/errors.js';
import { SHOP_CSP, catalogPage, notFoundPage, productPage, type PageContext } from './pages.js';
import type { ShopProduct } from './catalog.js';
import { SHOP_SCRIPT } from './shop-script.js';
import { agreementsPage, fairGoodsPage } from './exchange-pages.js';
import type { ShopFairGood } from './fair-goods.js';
import { EXCHANGE_CONTRACTS, EXCHANGE_DOCUMENTS } from './exchange-uses.js';

export interface ShopAppOptions {
  /** The merchant kit's app (server/merchant/kit.ts), mounted at /semper/*. */
  merchant: Hono;
  /** The kit runs exchange deals: show the agreements page. */
  exchanges: boolean;
  /** Goods the kit sells by fair purchase: shown on /fair (none: no page). */
  fairGoods?: readonly ShopFairGood[];
  /** The origin the shop's offers are signed for (shown on the pages). */
  origin: string;
  legalName: string;
  products: readonly ShopProduct[];
}

function pageHeaders(c: Context): void {
  c.header('content-security-policy', SHOP_CSP);
  c.header('x-frame-options', 'DENY');
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', 'no-cache');
}

export function createShopApp(options: ShopAppOptions): Hono {
  const { products } = options;
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const pageContext: PageContext = { legalName: options.legalName, origin: options.origin };

  const app = new Hono();
  app.onError((err, c) => {
    console.error(`[shop] ${c.req.method} ${c.req.path}: unexpected error`, err);
    return errorResponse(c, 'ERR_INTERNAL', 'internal error', 500);
  });
  app.notFound((c) => {
    if (c.req.path.startsWith('/semper/')) return errorResponse(c, 'ERR_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`);
    pageHeaders(c);
    return c.html(notFoundPage(pageContext), 404);
  });

  app.get('/', (c) => {
    pageHeaders(c);
    return c.html(catalogPage(products, pageContext));
  });

  app.get('/product/:sku', (c) => {
    const sku = Sku.safeParse(c.req.param('sku'));
    const product = sku.success ? bySku.get(sku.data) : undefined;
    pageHeaders(c);
    if (!product) return c.html(notFoundPage(pageContext), 404);
    return c.html(productPage(product, pageContext));
  });

  app.get('/shop.js', (c) => {
    c.header('content-type', 'text/javascript; charset=utf-8');
    c.header('x-content-type-options', 'nosniff');
    c.header('cache-control', 'no-cache');
    return c.body(SHOP_SCRIPT);
  });

  if (options.exchanges) {
    app.get('/agreements', (c) => {
      pageHeaders(c);
      return c.html(agreementsPage(EXCHANGE_DOCUMENTS, EXCHANGE_CONTRACTS, pageContext));
    });
  }

  const fairGoods = options.fairGoods ?? [];
  if (fairGoods.length > 0) {
    app.get('/fair', (c) => {
      pageHeaders(c);
      return c.html(fairGoodsPage(fairGoods, pageContext));
    });
  }

  // Browsers ask for it on every page; answer without a 404 page.
  app.get('/favicon.ico', (c) => c.body(null, 204));

  app.route('/', options.merchant);
  return app;
}
