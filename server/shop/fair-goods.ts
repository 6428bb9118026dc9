/**
 * The demo shop's goods sold for money by fair exchange (core/commerce/fair-purchase.ts): the
 * shopper pays (cash or account) only once the shop is bound, and gets the goods' key from the shop
 * or, if the shop withholds it, from the TTP. The texts are written for this demo.
 */
import type { FairCatalog, FairGood } from '../../core/commerce/fair-purchase-merchant.js';
import { encodeBase64url, utf8 } from '../../core/encoding/index.js';

export interface ShopFairGood {
  sku: string;
  title: string;
  summary: string;
  mediaType: string;
  content: string;
  /** EUR cents */
  price: number;
}

export const FAIR_GOODS: readonly ShopFairGood[] = [
  {
    sku: 'icc-profile-guide',
    title: 'ICC profile guide for coated stock',
    summary: 'How to choose and check the output profile for gloss and matt coated paper. Paid with Semper, delivered fairly.',
    mediaType: 'text/plain',
    price: 450,
    content:
      'ICC profile guide for coated stock\n\n' +
      '1. Use the characterisation data set that matches your paper class (1 or 2) and the printing condition.\n' +
      '2. Build the output profile with total area coverage 330 % and a black start of 20 %.\n' +
      '3. Proof on a calibrated proofer; check the control strip against the tolerances of the standard.\n' +
      '4. Keep the profile name in the job ticket so the press can match it.\n',
  },
];

export function shopFairCatalog(goods: readonly ShopFairGood[] = FAIR_GOODS, currency = 'EUR'): FairCatalog {
  const bySku = new Map<string, FairGood>(
    goods.map((g) => [g.sku, { title: g.title, mediaType: g.mediaType, data: encodeBase64url(utf8(g.content)), price: { amount: g.price, currency } }]),
  );
  return { good: (sku) => bySku.get(sku) };
}
