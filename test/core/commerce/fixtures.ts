/** The purchase tests' world: a test CA, the demo shop's catalogue and merchant context, a shopper's device key. */
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../../core/crypto/index.js';
import type { CatalogItem, MerchantContext } from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';

export const ORIGIN = 'http://127.0.0.1:8451';

export const catalog: CatalogItem[] = [
  {
    sku: 'colour-report',
    title: 'Colour management report',
    unitPrice: { amount: 1250, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'ISO 12647 in practice…' },
  },
  {
    sku: 'ink-abstract',
    title: 'Ink abstract',
    unitPrice: { amount: 300, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'Abstract.' },
  },
];

export interface PurchaseWorld {
  ca: TestCa;
  merchant: MerchantContext;
  shopperSigner: Signer;
}

export async function makePurchaseWorld(): Promise<PurchaseWorld> {
  const ca = await makeTestCa();
  const m = await ca.issue({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: [ORIGIN] });
  const merchant: MerchantContext = {
    identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
    lookup: (sku) => catalog.find((c) => c.sku === sku),
    offerTtlMs: 600_000,
    terms: 'Digital goods, no returns.',
    random: cryptoRandom,
  };
  return { ca, merchant, shopperSigner: await signerFromKeyPair('ES256', await generateKeyPair('ES256')) };
}
