/**
 * The demo shop's two exchange uses: a document sent by certified mail (the shopper gets the
 * document, the shop a signed receipt) and an agreement both sides sign (contract signing).
 * The texts are written for this demo.
 */
import type { ExchangeCatalog, ExchangeContract, ExchangeDocument } from '../../core/commerce/exchange-deal.js';

export interface ShopDocument extends ExchangeDocument {
  id: string;
  summary: string;
}

export interface ShopContract extends ExchangeContract {
  id: string;
  summary: string;
}

export const EXCHANGE_DOCUMENTS: readonly ShopDocument[] = [
  {
    id: 'test-report',
    title: 'Test report: rub resistance of the reference ink set',
    summary: 'The laboratory test report for the reference ink set, sent against your signed receipt.',
    mediaType: 'text/plain',
    content:
      'Test report FL-1998-017: rub resistance of the reference ink set\n\n' +
      'Specimens: four process colours on gloss-coated 135 g/m2 stock, printed on the laboratory press.\n' +
      'Method: rub tester, 50 strokes at 2 N after 4 h, 24 h and 72 h drying at 23 C and 50 % RH.\n' +
      'Result: after 24 h all colours met the grade-2 criterion; black reached grade 1 only after 72 h.\n' +
      'Conclusion: the ink set is suitable for jobs finished after one day; black-heavy jobs need three.\n',
  },
];

export const EXCHANGE_CONTRACTS: readonly ShopContract[] = [
  {
    id: 'subscription-agreement',
    title: 'Subscription agreement: Fogra research reports',
    summary: 'Twelve months of every new research report, signed by both sides with Semper.',
    text:
      'Subscription agreement\n\n' +
      '1. The provider, Fogra Forschungsgesellschaft Druck e.V., delivers every research report it publishes ' +
      'during the term to the subscriber, in digital form, on the day of publication.\n' +
      '2. The term is twelve months from the day both parties have signed. It renews for twelve months unless ' +
      'either party gives notice three months before its end.\n' +
      '3. The fee is EUR 240.00 per term, invoiced at the start of each term, payable within 30 days.\n' +
      "4. Reports are for the subscriber's own research use and may not be passed on.\n" +
      '5. German law applies. Disputes may be submitted to the arbiter named in the deal.\n',
    // The facts of clauses 2 and 3, signed with the text: the trusted window shows them above it.
    keyTerms: {
      amount: { amount: 24_000, currency: 'EUR' },
      period: { count: 12, unit: 'month' },
      renewal: 'automatic',
      notice: { count: 3, unit: 'month' },
    },
  },
];

export function shopExchangeCatalog(
  documents: readonly ShopDocument[] = EXCHANGE_DOCUMENTS,
  contracts: readonly ShopContract[] = EXCHANGE_CONTRACTS,
): ExchangeCatalog {
  const docs = new Map(documents.map((d) => [d.id, d]));
  const cons = new Map(contracts.map((c) => [c.id, c]));
  return {
    document: (id) => docs.get(id),
    contract: (id) => cons.get(id),
  };
}
