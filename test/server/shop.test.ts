/**
 * The demo shop's pages and its one script, over real HTTP. The script's behaviour is run in a
 * minimal fake DOM (node:vm) with a stub `window.semper`, so the attributes e2e tests wait on
 * are pinned here too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { PRODUCTS, type ShopProduct } from '../../server/shop/catalog.js';
import { productPage } from '../../server/shop/pages.js';
import { tempDataDir } from './helpers.js';

const tmp = tempDataDir('shop');
let market: Marketplace;

beforeAll(async () => {
  market = await startMarketplace({ dataDir: tmp.dir, caPort: 0, shopPort: 0 });
});
afterAll(async () => {
  await market?.close();
  tmp.remove();
});

function cspOf(res: Response): Map<string, string> {
  const header = res.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => [d.split(' ')[0]!, d.slice(d.indexOf(' ') + 1)] as [string, string]),
  );
}

function expectNoInlineScript(html: string): void {
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\son[a-z]+\s*=/i);
}

describe('shop pages', () => {
  it('the catalogue lists every product with its price and link, under a strict CSP', async () => {
    const res = await fetch(`${market.shopUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = cspOf(res);
    expect(csp.get('script-src')).toBe("'self'");
    expect(csp.get('default-src')).toBe("'none'");
    expect(csp.get('frame-ancestors')).toBe("'none'");
    const html = await res.text();
    expect(html).toContain('Fogra Literature Service');
    expect(html).toContain('<html lang="en">');
    for (const p of PRODUCTS) {
      expect(html).toContain(`href="/product/${p.sku}"`);
      expect(html).toContain(`€${(p.unitPrice.amount / 100).toFixed(2)}`);
    }
    expect(PRODUCTS.length).toBe(5);
    expectNoInlineScript(html);
    // The inline stylesheet is allowed by its hash, nothing else is.
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
    expect(style).toBeDefined();
    const hash = createHash('sha256').update(style!, 'utf8').digest('base64');
    expect(csp.get('style-src')).toBe(`'sha256-${hash}'`);
  });

  it('a product page has the quantity field, the Semper button, the result element and only /shop.js', async () => {
    const product = PRODUCTS[1]!;
    const res = await fetch(`${market.shopUrl}/product/${product.sku}`);
    expect(res.status).toBe(200);
    expect(cspOf(res).get('script-src')).toBe("'self'");
    const html = await res.text();
    expect(html).toContain('<input type="number" id="quantity" name="quantity" min="1" max="99"');
    expect(html).toContain(`data-semper-buy data-sku="${product.sku}">Buy with Semper</button>`);
    expect(html).toContain('id="semper-result" data-status="idle"');
    expect(html).toContain('<script src="/shop.js" defer></script>');
    expect(html).toContain(`data-amount="${product.unitPrice.amount}"`);
    expectNoInlineScript(html);
  });

  it('unknown and malformed product paths get a 404 page', async () => {
    for (const path of ['/product/no-such-thing', '/product/..%2F..%2Fetc', '/nowhere']) {
      const res = await fetch(`${market.shopUrl}${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(cspOf(res).get('script-src')).toBe("'self'");
    }
    const api = await fetch(`${market.shopUrl}/semper/nowhere`);
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: 'ERR_NOT_FOUND' } });
  });

  it('escapes every value it renders', () => {
    const hostile: ShopProduct = {
      ...PRODUCTS[0]!,
      title: '<script>alert(1)</script>',
      summary: '"><img src=x onerror=alert(2)>',
      authors: "O'Brien & Co",
    };
    const html = productPage(hostile, { legalName: 'Shop <b>', origin: 'http://127.0.0.1:1' });
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('O&#39;Brien &amp; Co');
    expect(html).toContain('Shop &lt;b&gt;');
  });
});

// ---- /shop.js in a fake DOM ----

class FakeElement {
  readonly attributes = new Map<string, string>();
  textContent = '';
  disabled = false;
  value = '';
  private readonly listeners: (() => void)[] = [];
  constructor(attrs: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(attrs)) this.attributes.set(k, v);
  }
  getAttribute(name: string) {
    return this.attributes.get(name) ?? null;
  }
  setAttribute(name: string, value: string) {
    this.attributes.set(name, String(value));
  }
  removeAttribute(name: string) {
    this.attributes.delete(name);
  }
  addEventListener(type: string, fn: () => void) {
    if (type === 'click') this.listeners.push(fn);
  }
  click() {
    for (const fn of this.listeners) fn();
  }
}

async function runShopScript(semper: unknown, quantity = '3') {
  const res = await fetch(`${market.shopUrl}/shop.js`);
  expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  const source = await res.text();
  const result = new FakeElement({ 'data-status': 'idle' });
  const field = Object.assign(new FakeElement(), { value: quantity });
  const button = new FakeElement({ 'data-sku': 'ink-drying-report', 'data-semper-buy': '' });
  const document = {
    getElementById: (id: string) => ({ 'semper-result': result, quantity: field })[id] ?? null,
    querySelectorAll: (selector: string) => (selector === 'button[data-semper-buy]' ? [button] : []),
  };
  runInNewContext(source, { window: semper === undefined ? {} : { semper }, document });
  button.click();
  await new Promise((r) => setTimeout(r, 10));
  return { result, button };
}

describe('/shop.js', () => {
  it('says the extension is missing when window.semper is absent', async () => {
    const { result } = await runShopScript(undefined);
    expect(result.getAttribute('data-status')).toBe('error');
    expect(result.getAttribute('data-reason')).toBe('extension-missing');
    expect(result.getAttribute('data-code')).toBeNull();
    expect(result.textContent).toMatch(/not installed/);
  });

  it('asks for semper_purchase with the SKU and quantity and shows the outcome', async () => {
    const requests: unknown[] = [];
    const semper = {
      request: async (req: unknown) => {
        requests.push(req);
        return { dealId: 'deal-1234567890abcdef', status: 'completed', orderId: 'o1', delivered: [{ sku: 'ink-drying-report', title: 'Report: Drying' }] };
      },
    };
    const { result, button } = await runShopScript(semper, '3');
    expect(JSON.parse(JSON.stringify(requests))).toEqual([{ method: 'semper_purchase', params: { items: [{ sku: 'ink-drying-report', quantity: 3 }] } }]);
    expect(result.getAttribute('data-status')).toBe('completed');
    expect(result.getAttribute('data-deal-id')).toBe('deal-1234567890abcdef');
    expect(result.textContent).toContain('deal-1234567890abcdef');
    expect(result.textContent).toContain('Report: Drying');
    expect(button.disabled).toBe(false);
  });

  it('shows a provider error with its numeric code and reason', async () => {
    const semper = {
      request: async () => {
        throw Object.assign(new Error('the offer is not signed for this origin'), { code: 4100, data: { reason: 'ERR_CERT_ORIGIN' } });
      },
    };
    const { result } = await runShopScript(semper);
    expect(result.getAttribute('data-status')).toBe('error');
    expect(result.getAttribute('data-code')).toBe('4100');
    expect(result.getAttribute('data-reason')).toBe('ERR_CERT_ORIGIN');
    expect(result.textContent).toContain('the offer is not signed for this origin');
  });
});
