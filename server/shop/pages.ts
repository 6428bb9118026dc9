/**
 * Server-rendered pages of the demo shop. Every interpolated value goes through `escapeHtml`;
 * the only script is same-origin `/shop.js`, the only style is the inline sheet below, allowed
 * by its hash, so the Content-Security-Policy needs neither 'unsafe-inline' nor any other host.
 */
import { createHash } from 'node:crypto';
import type { Money } from '../../core/protocol/commerce.js';
import { SHOP_TITLE, type ShopProduct } from './catalog.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

const STYLE = `
  :root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --accent: #0b5d7a; --line: #d9dee7; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 Georgia, 'Times New Roman', serif; color: var(--ink); background: #f7f6f2; }
  header { background: var(--accent); color: #fff; padding: 1rem 2rem; }
  header a { color: #fff; text-decoration: none; }
  header h1 { margin: 0; font-size: 1.6rem; letter-spacing: 0.02em; }
  header p { margin: 0.2rem 0 0; opacity: 0.85; font-size: 0.95rem; }
  main { max-width: 52rem; margin: 2rem auto; padding: 0 1.5rem; }
  ul.products { list-style: none; padding: 0; margin: 0; }
  ul.products li { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
  ul.products h2 { font-size: 1.15rem; margin: 0 0 0.3rem; }
  .meta { color: var(--muted); font-size: 0.9rem; }
  .price { font-weight: bold; white-space: nowrap; }
  div.buy { display: flex; gap: 0.75rem; align-items: center; margin: 1.5rem 0; }
  input[type=number] { width: 5rem; font: inherit; padding: 0.3rem; }
  button { font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: 0.5rem 1.1rem; cursor: pointer; }
  button:disabled { opacity: 0.6; cursor: progress; }
  #semper-result { display: block; min-height: 1.5rem; padding: 0.75rem 1rem; border-radius: 4px; }
  #semper-result[data-status=completed], #semper-result[data-status=resolved] { background: #e3f4e8; }
  #semper-result[data-status=aborted] { background: #fff4d6; }
  #semper-result[data-status=error] { background: #fbe6e4; }
  #semper-result[data-status=pending] { background: #eef1f6; }
  footer { max-width: 52rem; margin: 3rem auto 2rem; padding: 0 1.5rem; color: var(--muted); font-size: 0.85rem; }
`;

const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/** Strict CSP for shop pages: same-origin script only, the one inline style by hash, no framing. */
export const SHOP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function formatMoney(money: Money): string {
  return new Intl.NumberFormat('en-IE', { style: 'currency', currency: money.currency }).format(money.amount / 100);
}

interface Layout {
  title: string;
  body: string;
  legalName: string;
  origin: string;
  script?: boolean;
}

export function layout(p: Layout): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<style>${STYLE}</style>
${p.script ? '<script src="/shop.js" defer></script>\n' : ''}</head>
<body>
<header>
  <h1><a href="/">${escapeHtml(SHOP_TITLE)}</a></h1>
  <p>Research literature on printing technology, delivered at once and paid with Semper</p>
</header>
<main>
${p.body}
</main>
<footer>
  Operated by ${escapeHtml(p.legalName)} at ${escapeHtml(p.origin)}. Offers from this shop are signed with a certificate
  naming this origin; your Semper extension checks it before showing you anything.
</footer>
</body>
</html>
`;
}

export interface PageContext {
  legalName: string;
  origin: string;
}

export function catalogPage(products: readonly ShopProduct[], ctx: PageContext): string {
  const items = products
    .map(
      (p) => `  <li>
    <h2><a href="/product/${encodeURIComponent(p.sku)}">${escapeHtml(p.title)}</a></h2>
    <div class="meta">${escapeHtml(p.authors)}, ${escapeHtml(p.year)} &middot; <span class="price">${escapeHtml(formatMoney(p.unitPrice))}</span></div>
    <p>${escapeHtml(p.summary)}</p>
  </li>`,
    )
    .join('\n');
  return layout({
    ...ctx,
    title: SHOP_TITLE,
    body: `<h2>Catalogue</h2>\n<ul class="products">\n${items}\n</ul>\n<p><a href="/agreements">Test reports by certified mail and the subscription agreement &rarr;</a></p>\n<p><a href="/fair">Guides paid by fair exchange (e-cash or bank transfer) &rarr;</a></p>`,
  });
}

export function productPage(p: ShopProduct, ctx: PageContext): string {
  const body = `<article>
  <h2>${escapeHtml(p.title)}</h2>
  <div class="meta">${escapeHtml(p.authors)}, ${escapeHtml(p.year)} &middot; ${escapeHtml(p.good.mediaType)}</div>
  <p>${escapeHtml(p.summary)}</p>
  <p>Price per copy: <span class="price" id="unit-price" data-amount="${escapeHtml(p.unitPrice.amount)}" data-currency="${escapeHtml(p.unitPrice.currency)}">${escapeHtml(formatMoney(p.unitPrice))}</span></p>
  <div class="buy">
    <label for="quantity">Quantity</label>
    <input type="number" id="quantity" name="quantity" min="1" max="99" step="1" value="1" required>
    <button type="button" id="buy" data-semper-buy data-sku="${escapeHtml(p.sku)}">Buy with Semper</button>
  </div>
  <output id="semper-result" data-status="idle" aria-live="polite"></output>
  <p><a href="/">&larr; Back to the catalogue</a></p>
</article>`;
  return layout({ ...ctx, title: `${p.title} · ${SHOP_TITLE}`, body, script: true });
}

export function notFoundPage(ctx: PageContext): string {
  return layout({
    ...ctx,
    title: `Not found · ${SHOP_TITLE}`,
    body: '<h2>Not found</h2>\n<p>There is no such page. <a href="/">Back to the catalogue</a></p>',
  });
}
