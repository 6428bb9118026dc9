/**
 * The demo shop's page for the two exchange uses. Like the product pages, it is the "business
 * application": its buttons only name a use and a document id (data attributes read by
 * /shop.js); what the shopper is shown comes from the merchant's signed descriptor, verified by
 * the extension.
 */
import { escapeHtml, layout, type PageContext } from './pages.js';
import { SHOP_TITLE } from './catalog.js';
import type { ShopContract, ShopDocument } from './exchange-uses.js';
import type { ShopFairGood } from './fair-goods.js';

export function agreementsPage(documents: readonly ShopDocument[], contracts: readonly ShopContract[], ctx: PageContext): string {
  const docs = documents
    .map(
      (d) => `  <li>
    <h2>${escapeHtml(d.title)}</h2>
    <p>${escapeHtml(d.summary)}</p>
    <div class="buy"><button type="button" id="receive-${escapeHtml(d.id)}" data-semper-exchange="certified-mail" data-document="${escapeHtml(d.id)}">Receive by certified mail with Semper</button></div>
  </li>`,
    )
    .join('\n');
  const cons = contracts
    .map(
      (c) => `  <li>
    <h2>${escapeHtml(c.title)}</h2>
    <p>${escapeHtml(c.summary)}</p>
    <div class="buy"><button type="button" id="sign-${escapeHtml(c.id)}" data-semper-exchange="contract-signing" data-document="${escapeHtml(c.id)}">Sign with Semper</button></div>
  </li>`,
    )
    .join('\n');
  const body = `<h2>Documents and agreements</h2>
<p>Certified mail: you receive the document and the service receives your signed receipt, or neither does.
Contract signing: both sides sign the same agreement, or neither is bound. A third party your Semper extension trusts steps in only if something goes wrong.</p>
<ul class="products">
${docs}
${cons}
</ul>
<output id="semper-result" data-status="idle" aria-live="polite"></output>
<p><a href="/">&larr; Back to the catalogue</a></p>`;
  return layout({ ...ctx, title: `Documents and agreements · ${SHOP_TITLE}`, body, script: true });
}

/** The shop's goods sold for money by fair exchange: the button names only the sku (the extension shows the signed offer). */
export function fairGoodsPage(goods: readonly ShopFairGood[], ctx: PageContext): string {
  const items = goods
    .map(
      (g) => `  <li>
    <h2>${escapeHtml(g.title)}</h2>
    <p>${escapeHtml(g.summary)}</p>
    <p class="price">EUR ${(g.price / 100).toFixed(2)}</p>
    <div class="buy"><button type="button" id="fair-${escapeHtml(g.sku)}" data-semper-fair="${escapeHtml(g.sku)}">Pay and receive with Semper</button></div>
  </li>`,
    )
    .join('\n');
  const body = `<h2>Guides, paid by fair exchange</h2>
<p>You pay with Semper (e-cash or a bank transfer) only once the shop is bound to deliver; you hold the encrypted guide already,
and receive its key from the shop or, if the shop fails to send it, from the third party your extension trusts.</p>
<ul class="products">
${items}
</ul>
<output id="semper-result" data-status="idle" aria-live="polite"></output>
<p><a href="/">&larr; Back to the catalogue</a></p>`;
  return layout({ ...ctx, title: `Guides · ${SHOP_TITLE}`, body, script: true });
}
