/**
 * The demo shop's catalogue: short digital documents in the spirit of the literature service
 * Fogra ran in the SEMPER trials (1998). Prices are integer euro cents. The texts are written
 * for this demo.
 */
import type { CatalogItem } from '../../core/commerce/merchant.js';
import type { OfferedItem, OrderSignatureDemand } from '../../core/protocol/commerce.js';
import { catalogFromItems, type MerchantCatalog } from '../merchant/purchases.js';

export interface ShopProduct extends CatalogItem {
  /** One or two sentences for the catalogue page (the good itself is only delivered after the order). */
  summary: string;
  authors: string;
  year: number;
  /** How an order for this product must be signed (signed into the offer); absent: any shopper key. */
  orderSignature?: OrderSignatureDemand;
}

export const SHOP_LEGAL_NAME = 'Fogra Forschungsgesellschaft Druck e.V.';
export const SHOP_TITLE = 'Fogra Literature Service';

export const SHOP_TERMS =
  'Digital documents are delivered immediately after the order is confirmed and are for the ' +
  "buyer's personal research use. Payment by invoice within 30 days. Governed by German law; " +
  'disputes may be submitted to the arbiter named in the deal.';

export const PRODUCTS: readonly ShopProduct[] = [
  {
    sku: 'colour-management-abstract',
    title: 'Abstract: Colour Management Across Offset Presses',
    authors: 'Fogra working group Colour',
    year: 1997,
    summary: 'How ICC profiles and a shared characterisation data set let two presses print the same proof.',
    unitPrice: { amount: 250, currency: 'EUR' },
    kind: 'digital',
    good: {
      mediaType: 'text/plain',
      content:
        'Colour Management Across Offset Presses (abstract)\n\n' +
        'Two sheet-fed offset presses printing the same job rarely match without help. We characterised both presses ' +
        'with the same test form, built ICC output profiles from the measurements, and converted the job through a common ' +
        'reference space. The mean colour difference between the two runs fell from 6.1 to 1.8 delta E, within the ' +
        'tolerance proof-makers work to. The shared characterisation data set, not the profiling software, made the difference.\n',
    },
  },
  {
    sku: 'ink-drying-report',
    title: 'Report: Drying Behaviour of Oxidative Offset Inks',
    authors: 'Fogra department Materials',
    year: 1998,
    summary: 'Laboratory series on how paper coating, humidity and drier content change the drying time of sheet-fed inks.',
    unitPrice: { amount: 1200, currency: 'EUR' },
    kind: 'digital',
    good: {
      mediaType: 'text/plain',
      content:
        'Drying Behaviour of Oxidative Offset Inks (research report, summary edition)\n\n' +
        '1. Aim. Quantify the factors that delay the oxidative drying of sheet-fed offset inks on coated papers.\n' +
        '2. Method. Forty ink and paper combinations were printed on a laboratory press and tested for set-off and ' +
        'rub resistance at fixed intervals, at 40 % and 70 % relative humidity.\n' +
        '3. Results. Humidity dominated: at 70 % drying times rose by a factor of 1.6 on average. Cobalt-free drier ' +
        'systems reached comparable end hardness but needed 20 % more time. Strongly absorbing coatings shortened setting ' +
        'but not oxidation.\n' +
        '4. Recommendation. Control pressroom humidity before adjusting drier content.\n',
    },
  },
  {
    sku: 'fm-screening-abstract',
    title: 'Abstract: Frequency-Modulated Screening in Practice',
    authors: 'Fogra department Prepress',
    year: 1996,
    summary: 'What changes in plate making and dot gain when a printer moves from conventional to FM screening.',
    unitPrice: { amount: 250, currency: 'EUR' },
    kind: 'digital',
    good: {
      mediaType: 'text/plain',
      content:
        'Frequency-Modulated Screening in Practice (abstract)\n\n' +
        'FM screening replaces dots of varying size by micro-dots of fixed size and varying density. It removes moire and ' +
        'rosettes but is unforgiving in plate making: with 20 micrometre dots, exposure errors that a conventional screen ' +
        'would hide show up as tone shifts. In six print shops the move succeeded where plate exposure was calibrated ' +
        'weekly and dot gain curves were rebuilt for the new screen.\n',
    },
  },
  {
    sku: 'electronic-ordering-notes',
    title: 'Field Notes: Ordering Research Literature Electronically',
    authors: 'Fogra information service',
    year: 1998,
    summary: 'Notes from a trial in which member firms ordered and paid for reports online, with signed offers and receipts.',
    unitPrice: { amount: 490, currency: 'EUR' },
    kind: 'digital',
    good: {
      mediaType: 'text/plain',
      content:
        'Ordering Research Literature Electronically: field notes\n\n' +
        'During the trial, member firms bought reports from the literature service online. Every offer was signed by the ' +
        'service and every order by the buyer, and both sides kept the signed documents. Buyers valued two things most: ' +
        'seeing who they were dealing with before paying, and holding a receipt that would settle a dispute without ' +
        'phone calls. The service valued that an order could not later be denied.\n',
    },
  },
  {
    sku: 'standards-archive',
    title: 'Complete Standards Archive',
    authors: 'Fogra standards office',
    year: 1998,
    summary:
      'Every process standard, test form description and tolerance table of the service in one archive. ' +
      'Because of its price, the order must be signed with a hardware security key that verifies you (PIN or fingerprint).',
    unitPrice: { amount: 14900, currency: 'EUR' },
    kind: 'digital',
    orderSignature: { hardwareToken: true, userVerification: true },
    good: {
      mediaType: 'text/plain',
      content:
        'Complete Standards Archive (index edition)\n\n' +
        'Part 1. Process standards for sheet-fed and web offset: paper types, tone value increase, tolerances.\n' +
        'Part 2. Test forms: layout and measurement of the media wedge, grey balance patches and slur targets.\n' +
        'Part 3. Proofing: substrate, colorimetric conditions and the acceptance of contract proofs.\n' +
        'Part 4. Data exchange: characterisation data sets and how a printer names the one it prints to.\n' +
        'Each part lists the measurement conditions first, because without them no tolerance means anything.\n',
    },
  },
];

/**
 * The shop's hardware-token policy for `requireHardwareToken`: an offer demands what its most
 * demanding product demands (here the expensive archive: a security key with user verification).
 */
export function signatureDemandOf(products: readonly ShopProduct[]): (items: OfferedItem[]) => OrderSignatureDemand | undefined {
  const bySku = new Map(products.map((p) => [p.sku, p]));
  return (items) => {
    let hardwareToken = false;
    let userVerification = false;
    for (const item of items) {
      const demand = bySku.get(item.sku)?.orderSignature;
      hardwareToken ||= demand?.hardwareToken === true;
      userVerification ||= demand?.userVerification === true;
    }
    return hardwareToken || userVerification ? { hardwareToken, userVerification } : undefined;
  };
}

export function shopCatalog(products: readonly ShopProduct[] = PRODUCTS): MerchantCatalog {
  return catalogFromItems(products, SHOP_TERMS);
}
