/**
 * Attacks on the exchange descriptor (core/commerce/exchange-deal.ts): what a hostile merchant
 * (or a network replaying an honest one) can put in front of the shopper before any exchange
 * message moves. Each must be refused by verifyExchangeDescriptor — which is what stands
 * between the merchant and the trusted window — naming the rule it broke.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { randomId } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
import {
  EXCHANGE_DEAL_TYPES,
  exchangeItems,
  signFixedStatement,
  TIMING_BOUNDS,
  type ContractBody,
  verifyExchangeDescriptor,
  type DescriptorBody,
  type DescriptorExpectation,
  type ExchangeUse,
} from '../../core/commerce/exchange-deal.js';
import { signStatement, verifyStatement, type Statement } from '../../core/statements/index.js';
import { shopExchangeCatalog } from '../../server/shop/exchange-uses.js';
import { EX_ORIGIN, makeExchangeWorld, newShopper, requestDescriptor, type ExchangeWorld } from '../helpers/exchange.js';
import type { Signer } from '../../core/crypto/index.js';

let world: ExchangeWorld;
let shopper: Signer;

beforeAll(async () => {
  world = await makeExchangeWorld();
  shopper = await newShopper();
});
afterAll(async () => {
  await world?.close();
});

interface Genuine {
  descriptor: Statement<DescriptorBody>;
  expected: DescriptorExpectation;
}

async function genuine(use: ExchangeUse = 'contract-signing'): Promise<Genuine> {
  const documentId = use === 'contract-signing' ? 'subscription-agreement' : 'test-report';
  const d = await requestDescriptor(world, use, documentId);
  return {
    descriptor: d.body.descriptor!,
    expected: { dealId: d.dealId, nonce: d.nonce, origin: EX_ORIGIN, use, documentId },
  };
}

/** The merchant re-signs a descriptor it altered (it holds its key: these are its own lies). */
async function resign(
  d: Statement<DescriptorBody>,
  body: DescriptorBody,
  signer: Signer = world.merchant.signer,
  chain: string[] = world.merchant.chain,
): Promise<Statement<DescriptorBody>> {
  const { signature: _drop, ...unsigned } = d;
  void _drop;
  return signStatement<DescriptorBody>({ ...unsigned, body }, signer, { signerRef: { kind: 'x509', chain } });
}

async function refusal(descriptor: unknown, expected: DescriptorExpectation, ttps = [world.ttpEntry]): Promise<string> {
  try {
    await verifyExchangeDescriptor({ descriptor }, expected, world.clock.now, { roots: [world.ca.root], ttps });
  } catch (e) {
    if (e instanceof SemperError) return e.code;
    throw e;
  }
  return 'accepted';
}

describe('exchange descriptor: control', () => {
  it('a genuine descriptor verifies for both uses', async () => {
    for (const use of ['contract-signing', 'certified-mail'] as const) {
      const g = await genuine(use);
      expect(await refusal(g.descriptor, g.expected)).toBe('accepted');
    }
  });
});

describe('exchange descriptor: origin binding, freshness, signer', () => {
  it('signed with a certificate for another origin → ERR_CERT_ORIGIN', async () => {
    const g = await genuine();
    const other = await world.ca.issue({ commonName: 'Evil Merchant Ltd', role: 'merchant', origins: ['https://evil.example'] });
    const body = { ...g.descriptor.body, origin: 'https://evil.example', merchant: { keyId: other.signer.keyId } };
    expect(await refusal(await resign(g.descriptor, body, other.signer, other.chain), g.expected)).toBe('ERR_CERT_ORIGIN');
  });

  it('naming another origin in its body (certificate fine) → ERR_CERT_ORIGIN', async () => {
    const g = await genuine();
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, origin: 'https://other.example' }), g.expected)).toBe('ERR_CERT_ORIGIN');
  });

  it('a descriptor replayed into another request (nonce) or deal → ERR_NONCE_MISMATCH / ERR_REPLAY', async () => {
    const g = await genuine();
    expect(await refusal(g.descriptor, { ...g.expected, nonce: randomId(32) })).toBe('ERR_NONCE_MISMATCH');
    expect(await refusal(g.descriptor, { ...g.expected, dealId: randomId(16) })).toBe('ERR_REPLAY');
  });

  it('expired → ERR_OFFER_EXPIRED; bit-flipped signature → ERR_SIGNATURE_INVALID; unknown CA → ERR_CERT_UNTRUSTED', async () => {
    const g = await genuine();
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, expiresAt: new Date(world.clock.now - 1000).toISOString() }), g.expected)).toBe(
      'ERR_OFFER_EXPIRED',
    );
    const flipped = { ...g.descriptor, body: { ...g.descriptor.body, title: `${g.descriptor.body.title} ` } };
    expect(await refusal(flipped, g.expected)).toBe('ERR_SIGNATURE_INVALID');
    try {
      await verifyExchangeDescriptor({ descriptor: g.descriptor }, g.expected, world.clock.now, { roots: [], ttps: [world.ttpEntry] });
      expect.unreachable();
    } catch (e) {
      expect((e as SemperError).code).toBe('ERR_CERT_UNTRUSTED');
    }
  });

  it('naming a merchant key other than the signer → ERR_SIGNATURE_INVALID', async () => {
    const g = await genuine();
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, merchant: { keyId: shopper.keyId } }), g.expected)).toBe('ERR_SIGNATURE_INVALID');
  });

  it('names no shopper: the request carries no key, and a descriptor naming one is malformed (issue 8, item 6)', async () => {
    const g = await genuine();
    expect(JSON.stringify(g.descriptor)).not.toContain(shopper.keyId);
    const naming = { ...g.descriptor.body, shopper: { keyId: shopper.keyId } } as unknown as DescriptorBody;
    expect(await refusal(await resign(g.descriptor, naming), g.expected)).toBe('ERR_SCHEMA');
    // A request that names a key is refused by the merchant too: none is ever needed.
    const res = await world.host.app.request('/semper/exchange/descriptor', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        dealId: randomId(16),
        nonce: randomId(32),
        use: 'contract-signing',
        documentId: 'subscription-agreement',
        shopper: { jwk: shopper.publicJwk },
      }),
    });
    expect(res.status).toBe(400);
  });

  it('for another document than the page asked for → ERR_OFFER_INVALID', async () => {
    const g = await genuine();
    expect(await refusal(g.descriptor, { ...g.expected, documentId: 'another-contract' })).toBe('ERR_OFFER_INVALID');
  });
});

describe("exchange descriptor: the TTP is the shopper's choice", () => {
  it('a TTP the shopper does not trust → ERR_TTP', async () => {
    const g = await genuine();
    expect(await refusal(g.descriptor, g.expected, [])).toBe('ERR_TTP');
  });

  it('a "TTP" whose certificate is a merchant certificate, or whose key id is not the certified key → ERR_TTP', async () => {
    const g = await genuine();
    const fake = await world.ca.issue({ commonName: 'Semper Test TTP', role: 'merchant', origins: ['https://ttp.example'] });
    const asMerchant = { ...g.descriptor.body, ttp: { keyId: fake.signer.keyId, certificateChain: fake.chain } };
    expect(
      await refusal(await resign(g.descriptor, asMerchant), g.expected, [
        world.ttpEntry,
        { fingerprint: 'x'.repeat(43), keyId: fake.signer.keyId, url: 'https://ttp.example' },
      ]),
    ).toBe('ERR_TTP');
    const wrongKey = { ...g.descriptor.body, ttp: { ...g.descriptor.body.ttp, keyId: shopper.keyId } };
    expect(await refusal(await resign(g.descriptor, wrongKey), g.expected)).toBe('ERR_TTP');
  });
});

describe("exchange descriptor: what is exchanged is the merchant's signed word, and only that", () => {
  it('contract: a contract titled otherwise than the descriptor, or a contract descriptor with a document → ERR_ITEM_MISMATCH', async () => {
    const g = await genuine();
    const c = g.descriptor.body.contract!;
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, contract: { ...c, title: 'Another contract' } }), g.expected)).toBe(
      'ERR_ITEM_MISMATCH',
    );
    const doc = { title: g.descriptor.body.title, mediaType: 'text/plain', size: 1, digest: 'A'.repeat(43) };
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, document: doc }), g.expected)).toBe('ERR_ITEM_MISMATCH');
    const { contract: _c, ...without } = g.descriptor.body;
    void _c;
    expect(await refusal(await resign(g.descriptor, without), g.expected)).toBe('ERR_ITEM_MISMATCH');
  });

  it('certified mail: no document described, a document titled otherwise, or a contract beside it → refused before the window', async () => {
    const g = await genuine('certified-mail');
    const { document: _d, ...without } = g.descriptor.body;
    void _d;
    expect(await refusal(await resign(g.descriptor, without), g.expected)).toBe('ERR_ITEM_MISMATCH');
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, title: 'Another title' }), g.expected)).toBe('ERR_OFFER_INVALID');
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, contract: { title: 'x', text: 'y' } }), g.expected)).toBe('ERR_ITEM_MISMATCH');
  });

  it('both sides derive the same descriptions from it, for the key bound at m1: a receipt for exactly this document, a contract naming both', async () => {
    const mail = await genuine('certified-mail');
    const d = mail.descriptor.body.document!;
    const items = exchangeItems(mail.descriptor.body, {
      dealId: mail.expected.dealId,
      shopperKeyId: shopper.keyId,
      merchantKeyId: world.merchant.signer.keyId,
    });
    expect(items.merchantGives).toEqual({ kind: 'information', digest: d.digest, mediaType: d.mediaType, size: d.size });
    expect(items.shopperGives).toMatchObject({
      kind: 'statement',
      signer: { keyId: shopper.keyId },
      content: { body: { receiver: shopper.keyId, received: items.merchantGives } },
    });
    const contract = await genuine('contract-signing');
    const c = exchangeItems(contract.descriptor.body, {
      dealId: contract.expected.dealId,
      shopperKeyId: shopper.keyId,
      merchantKeyId: world.merchant.signer.keyId,
    });
    expect(c.shopperGives).toMatchObject({
      content: { body: { parties: [shopper.keyId, world.merchant.signer.keyId], text: contract.descriptor.body.contract!.text } },
    });
    expect(() =>
      exchangeItems(contract.descriptor.body, { dealId: contract.expected.dealId, shopperKeyId: shopper.keyId, merchantKeyId: shopper.keyId }),
    ).toThrow(/two different parties/);
  });

  it('a protocol the items do not call for (certified mail as "contract signing") → ERR_EXCHANGE_UNFAIR', async () => {
    const g = await genuine('certified-mail');
    expect(await refusal(await resign(g.descriptor, { ...g.descriptor.body, protocol: 'contract-signing' }), g.expected)).toBe('ERR_EXCHANGE_UNFAIR');
  });
});

describe('mutation table (docs/mutation-exchange.md): what the descriptor checks are for', () => {
  it('a descriptor for another use than the page asked for (same document id) → ERR_OFFER_INVALID', async () => {
    const g = await genuine('contract-signing');
    expect(await refusal(g.descriptor, { ...g.expected, use: 'certified-mail' })).toBe('ERR_OFFER_INVALID');
  });

  it("the merchant's timing is clamped to the shopper's bounds, whatever it signs", async () => {
    const g = await genuine('contract-signing');
    const verify = async (timing: DescriptorBody['timing']) =>
      (
        await verifyExchangeDescriptor({ descriptor: await resign(g.descriptor, { ...g.descriptor.body, timing }) }, g.expected, world.clock.now, {
          roots: [world.ca.root],
          ttps: [world.ttpEntry],
        })
      ).agreement.timeouts;
    const low = await verify({ peerMs: 1, ttpRetryMs: 1, ttpMarginMs: 1, peerRetries: 0 });
    expect(low).toMatchObject({
      peer: TIMING_BOUNDS.peerMs[0],
      ttpRetry: TIMING_BOUNDS.ttpRetryMs[0],
      ttpMargin: TIMING_BOUNDS.ttpMarginMs[0],
      peerRetries: 0,
    });
    const high = await verify({ peerMs: 1e9, ttpRetryMs: 1e9, ttpMarginMs: 1e9, peerRetries: 1_000 });
    expect(high).toMatchObject({
      peer: TIMING_BOUNDS.peerMs[1],
      ttpRetry: TIMING_BOUNDS.ttpRetryMs[1],
      ttpMargin: TIMING_BOUNDS.ttpMarginMs[1],
      peerRetries: TIMING_BOUNDS.peerRetries[1],
    });
  });

  it('the items are derived only from a descriptor of one kind: a document beside a contract, or a contract beside a document → ERR_OFFER_INVALID', async () => {
    const mail = (await genuine('certified-mail')).descriptor.body;
    const contract = (await genuine('contract-signing')).descriptor.body;
    const keys = { dealId: 'deal-items-000000001', shopperKeyId: shopper.keyId, merchantKeyId: world.merchant.signer.keyId };
    expect(() => exchangeItems({ ...mail, contract: contract.contract! }, keys)).toThrow(expect.objectContaining({ code: 'ERR_OFFER_INVALID' }));
    expect(() => exchangeItems({ ...contract, document: mail.document! }, keys)).toThrow(expect.objectContaining({ code: 'ERR_OFFER_INVALID' }));
  });
});

describe('contract key terms (issue 11): signed with the contract, refused when they contradict each other', () => {
  const terms = (g: Genuine) => g.descriptor.body.contract!.keyTerms!;
  const withTerms = (g: Genuine, keyTerms: unknown): DescriptorBody =>
    ({ ...g.descriptor.body, contract: { ...g.descriptor.body.contract!, keyTerms } }) as DescriptorBody;

  it("the demo contract's key terms reach the view: a yearly fee, automatic renewal, three months' notice", async () => {
    const g = await genuine('contract-signing');
    const { view } = await verifyExchangeDescriptor({ descriptor: g.descriptor }, g.expected, world.clock.now, {
      roots: [world.ca.root],
      ttps: [world.ttpEntry],
    });
    expect(view.contract?.keyTerms).toEqual({
      amount: { amount: 24_000, currency: 'EUR' },
      period: { count: 12, unit: 'month' },
      renewal: 'automatic',
      notice: { count: 3, unit: 'month' },
    });
  });

  it('key terms changed after the merchant signed (a lower fee, no renewal) → ERR_SIGNATURE_INVALID', async () => {
    const g = await genuine('contract-signing');
    const cheaper = { ...g.descriptor, body: withTerms(g, { ...terms(g), amount: { amount: 100, currency: 'EUR' } }) };
    expect(await refusal(cheaper, g.expected)).toBe('ERR_SIGNATURE_INVALID');
    const { notice: _n, ...rest } = terms(g);
    const once = { ...g.descriptor, body: withTerms(g, { ...rest, renewal: 'none' }) };
    expect(await refusal(once, g.expected)).toBe('ERR_SIGNATURE_INVALID');
  });

  it('signed but contradicting each other → ERR_CONTRACT_TERMS, never shown', async () => {
    const g = await genuine('contract-signing');
    const { notice: _n, ...noNotice } = terms(g);
    const cases: unknown[] = [
      noNotice, // renews automatically with no way out
      { ...terms(g), renewal: 'none' }, // notice against a renewal that never comes
      { ...terms(g), notice: { count: 12, unit: 'month' } }, // notice as long as the term
      { ...terms(g), notice: { count: 1, unit: 'year' } }, // a year is twelve months
      { ...terms(g), notice: { count: 53, unit: 'week' } }, // longer than a year
      { ...terms(g), period: { count: 1, unit: 'month' }, notice: { count: 4, unit: 'week' } }, // February
    ];
    for (const keyTerms of cases)
      expect(await refusal(await resign(g.descriptor, withTerms(g, keyTerms)), g.expected), JSON.stringify(keyTerms)).toBe('ERR_CONTRACT_TERMS');
    // Consistent variants pass: a contract that simply ends, a notice just short of the term.
    const { notice: _m, ...ends } = terms(g);
    expect(await refusal(await resign(g.descriptor, withTerms(g, { ...ends, renewal: 'none' })), g.expected)).toBe('accepted');
    expect(await refusal(await resign(g.descriptor, withTerms(g, { ...terms(g), notice: { count: 11, unit: 'month' } })), g.expected)).toBe('accepted');
  });

  it('malformed key terms (unknown unit, negative fee, unknown field) → ERR_SCHEMA', async () => {
    const g = await genuine('contract-signing');
    for (const keyTerms of [
      { ...terms(g), period: { count: 1, unit: 'fortnight' } },
      { ...terms(g), amount: { amount: -1, currency: 'EUR' } },
      { ...terms(g), period: { count: 0, unit: 'year' } },
      { ...terms(g), minimumTerm: { count: 24, unit: 'month' } },
    ])
      expect(await refusal(await resign(g.descriptor, withTerms(g, keyTerms)), g.expected), JSON.stringify(keyTerms)).toBe('ERR_SCHEMA');
  });

  it('both parties sign the key terms with the text: a contract signature with other terms does not verify, and other terms are another contract', async () => {
    const g = await genuine('contract-signing');
    const keys = { dealId: g.expected.dealId, shopperKeyId: shopper.keyId, merchantKeyId: world.merchant.signer.keyId };
    const items = exchangeItems(g.descriptor.body, keys);
    expect(items.shopperGives).toMatchObject({ content: { body: { keyTerms: terms(g) } } });
    const signed = await signFixedStatement(items.shopperGives, g.expected.dealId, shopper, world.clock.now);
    if (signed.kind !== 'statement') throw new Error('a statement');
    const body = signed.statement.body as ContractBody;
    const tampered = { ...signed.statement, body: { ...body, keyTerms: { ...body.keyTerms!, notice: { count: 1, unit: 'day' } } } };
    await expect(verifyStatement(tampered, { types: [EXCHANGE_DEAL_TYPES.contractSignature] })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    // The merchant derives its m1 expectation from its own descriptor: terms changed by anyone describe another contract.
    const other = exchangeItems(withTerms(g, { ...terms(g), amount: { amount: 1, currency: 'EUR' } }), keys);
    expect(other.shopperGives).not.toEqual(items.shopperGives);
    expect(() => exchangeItems(withTerms(g, { ...terms(g), renewal: 'none' }), keys)).toThrow(expect.objectContaining({ code: 'ERR_CONTRACT_TERMS' }));
  });

  it('the merchant kit never signs contradicting key terms from its catalogue: 422 ERR_CONTRACT_TERMS', async () => {
    const bad = await makeExchangeWorld({
      catalog: shopExchangeCatalog(
        [],
        [
          {
            id: 'bad-agreement',
            title: 'Bad agreement',
            summary: 'renews with no way out',
            text: 'Renews for ever.',
            keyTerms: { amount: { amount: 100, currency: 'EUR' }, period: { count: 1, unit: 'year' }, renewal: 'automatic' },
          },
        ],
      ),
    });
    try {
      const d = await requestDescriptor(bad, 'contract-signing', 'bad-agreement');
      expect({ status: d.status, code: d.body.error?.code }).toEqual({ status: 422, code: 'ERR_CONTRACT_TERMS' });
    } finally {
      await bad.close();
    }
  });
});
