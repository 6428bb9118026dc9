/**
 * Arbiter checks on fair purchases that no other test fails without (test/mutation/evidence.ts):
 * statements a party or a stranger signs to become a party, to name a TTP of its own, to pass a
 * key for other goods or a decision for another exchange off as this deal's, or a start for another
 * offer off as the shopper's acceptance — each without the verdict it is after.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { encodeBase64url } from '../../../core/encoding/index.js';
import { EXCHANGE_TYPES, TTP_TYPES } from '../../../core/exchange/messages.js';
import { FAIR_TYPES } from '../../../core/commerce/fair-purchase.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { closeCheckingInvariants } from '../payment/helpers.js';
import { affidavitOf, type ArbiterWorld, confirmedFair, FairRun, fairEvidence, file, makeArbiterWorld, payAtBank } from './fixtures.js';

let w: ArbiterWorld;
beforeEach(async () => {
  w = await makeArbiterWorld();
});
afterEach(() => closeCheckingInvariants(w.bank));

/** A paid fair purchase whose merchant withheld m3; with `askTtp`, the TTP resolved it. */
async function withheldRun(askTtp = false): Promise<FairRun> {
  const run = new FairRun(w);
  run.withhold.add(EXCHANGE_TYPES.deliver);
  await confirmedFair(run, 'cash');
  await run.pump((req) => payAtBank(w, w.shopper, req));
  if (askTtp) {
    for (let i = 0; i < 6 && run.shopper.phase === 'exchanging'; i++) {
      await run.shopperTimeout();
      await run.pump();
    }
  }
  return run;
}

const stranger = async () => signerFromKeyPair('ES256', await generateKeyPair('ES256'));
const merchantRef = () => ({ signerRef: { kind: 'x509' as const, chain: w.merchant.identity.chain } });
const byTtp = (s: Omit<Statement, 'signature'> | Statement) => signStatement({ ...s }, w.ttp.signer, { signerRef: w.ttp.signerRef! }) as Promise<Statement>;
const find = (evidence: Statement[], type: string) => evidence.find((s) => s.type === type)!;
const fileAs = (run: FairRun, signer: typeof w.shopper.signer, claim: Parameters<typeof file>[2]['claim'], statements: unknown[], respondent?: string) =>
  file(w, signer, { claim, dealId: run.shopper.dealId, statements, ...(respondent ? { respondent } : {}) });

describe('TTP decisions that are not about this offer’s exchange', () => {
  it('the baseline: withheld m3 and no TTP answer is awaiting the TTP', async () => {
    const run = await withheldRun();
    const j = await fileAs(run, w.shopper.signer, 'goods-not-delivered', fairEvidence(run));
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/awaiting-ttp' });
  });

  it("an abort token signed by a stranger, or by the TTP for another exchange, is not the offer's exchange aborted", async () => {
    const run = await withheldRun();
    const evidence = fairEvidence(run);
    const { exchangeIdOf } = await import('../../../core/exchange/common.js');
    const token = {
      type: TTP_TYPES.abortToken,
      version: 1 as const,
      dealId: run.shopper.dealId,
      issuedAt: nowIso(w.clock.now),
      body: {
        exchangeId: await exchangeIdOf(find(evidence, EXCHANGE_TYPES.propose)),
        protocol: 'generatable-verifiable',
        reason: 'deadline-passed',
        requestedBy: w.merchant.identity.signer.keyId,
      },
    };
    const byStranger = (await signStatement(token, await stranger())) as Statement;
    const otherExchange = await byTtp({ ...token, body: { ...token.body, exchangeId: encodeBase64url(new Uint8Array(32).fill(7)) } });
    for (const fake of [byStranger, otherExchange]) {
      const j = await fileAs(run, w.shopper.signer, 'goods-not-delivered', [...evidence, fake]);
      expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/awaiting-ttp' });
    }
    // The TTP's own token for the exchange decides it (the baseline).
    const real = await byTtp(token);
    expect((await fileAs(run, w.shopper.signer, 'goods-not-delivered', [...evidence, real])).verdict.rule).toBe('goods-not-delivered/paid-aborted');
  });

  it('an affidavit of the TTP for another exchange, or on behalf of another party, says nothing about this seal', async () => {
    const run = await withheldRun();
    const evidence = fairEvidence(run);
    const m1 = find(evidence, EXCHANGE_TYPES.propose);
    const affidavit = await affidavitOf(w, run, m1, 'the box does not open');
    const otherExchange = await byTtp({ ...affidavit, body: { ...affidavit.body, exchangeId: encodeBase64url(new Uint8Array(32).fill(9)) } });
    const otherParty = await byTtp({ ...affidavit, body: { ...affidavit.body, onBehalfOf: w.shopper.signer.keyId } });
    for (const fake of [otherExchange, otherParty]) {
      const j = await fileAs(run, w.shopper.signer, 'goods-not-delivered', [...evidence, fake]);
      expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/awaiting-ttp' });
    }
    expect((await fileAs(run, w.shopper.signer, 'goods-not-delivered', [...evidence, await byTtp(affidavit)])).verdict.rule).toBe(
      'goods-not-delivered/void-seal',
    );
  });

  it("an affidavit for the merchant's exchange that names another TTP is not about this offer (its TTP is the offer's)", async () => {
    const run = await withheldRun();
    const evidence = fairEvidence(run);
    const m1 = find(evidence, EXCHANGE_TYPES.propose) as Statement<{ ttp: { keyId: string } }>;
    const z = await stranger();
    const elsewhere = (await signStatement(
      { ...m1, body: { ...m1.body, ttp: { ...m1.body.ttp, keyId: z.keyId } } },
      w.merchant.identity.signer,
      merchantRef(),
    )) as Statement;
    // Its description is m1's: only the TTP named differs.
    const affidavit = await byTtp(await affidavitOf(w, run, elsewhere, 'the box does not open'));
    const j = await fileAs(run, w.shopper.signer, 'goods-not-delivered', [...evidence, elsewhere, affidavit]);
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/awaiting-ttp' });
  });
});

describe('keys and acceptances', () => {
  it("the merchant's key statement for another sku is not the goods key of this offer", async () => {
    const run = await withheldRun();
    const evidence = fairEvidence(run);
    const offer = find(evidence, FAIR_TYPES.offer) as Statement<{ sku: string; goods: { digest: string; ciphertextDigest: string } }>;
    const key = (body: Record<string, unknown>) =>
      signStatement(
        {
          type: FAIR_TYPES.goodsKey,
          version: 1 as const,
          dealId: run.shopper.dealId,
          issuedAt: nowIso(w.clock.now),
          body: {
            dealId: run.shopper.dealId,
            sku: offer.body.sku,
            goods: offer.body.goods.digest,
            ciphertext: offer.body.goods.ciphertextDigest,
            key: encodeBase64url(new Uint8Array(32)),
            ...body,
          },
        },
        w.merchant.identity.signer,
        merchantRef(),
      ) as Promise<Statement>;
    for (const other of [
      { sku: 'another-sku' },
      { goods: encodeBase64url(new Uint8Array(32).fill(1)) },
      { ciphertext: encodeBase64url(new Uint8Array(32).fill(2)) },
    ]) {
      const j = await fileAs(run, w.shopper.signer, 'goods-not-delivered', [...evidence, await key(other)]);
      expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/awaiting-ttp' });
    }
    expect((await fileAs(run, w.shopper.signer, 'goods-not-delivered', [...evidence, await key({})])).verdict.rule).toBe('goods-not-delivered/key-held');
  });

  it("order-denied: a start the shopper signed for another offer is not its acceptance of the merchant's", async () => {
    const run = await withheldRun();
    const evidence = fairEvidence(run);
    const offer = find(evidence, FAIR_TYPES.offer);
    const start = find(evidence, FAIR_TYPES.start);
    const elsewhere = (await signStatement(
      { ...start, body: { ...start.body, offer: encodeBase64url(new Uint8Array(32).fill(3)) } },
      w.shopper.signer,
    )) as Statement;
    const j = await fileAs(run, w.merchant.identity.signer, 'order-denied', [offer, elsewhere], w.shopper.signer.keyId);
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'order-denied/no-order' });
    expect((await fileAs(run, w.merchant.identity.signer, 'order-denied', [offer, start], w.shopper.signer.keyId)).verdict.decision).toBe('upheld');
  });

  it('offer-denied: a fair offer signed by one merchant naming another merchant’s key is nobody’s offer', async () => {
    const run = await withheldRun();
    const evidence = fairEvidence(run);
    const other = await w.ca.issue({ commonName: 'Other Shop AG', role: 'merchant', origins: ['http://127.0.0.1:8451'] });
    const offer = find(evidence, FAIR_TYPES.offer);
    const misnamed = (await signStatement({ ...offer }, other.signer, { signerRef: { kind: 'x509', chain: other.chain } })) as Statement;
    const j = await fileAs(run, w.shopper.signer, 'offer-denied', [...evidence, misnamed], other.signer.keyId);
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'offer-denied/not-the-merchant' });
  });
});

describe('parties and TTPs a stranger signs into the deal', () => {
  it('an m1 a stranger signed naming himself as responder does not make him a party', async () => {
    const run = await withheldRun();
    const evidence = fairEvidence(run);
    const m1 = find(evidence, EXCHANGE_TYPES.propose) as Statement<{ responder: { keyId: string } }>;
    const s = await stranger();
    const mine = (await signStatement({ ...m1, body: { ...m1.body, responder: { ...m1.body.responder, keyId: s.keyId } } }, s)) as Statement;
    await expect(fileAs(run, s, 'ttp-conflict', [...evidence, mine])).rejects.toMatchObject({ refusal: 'not-a-party' });
  });

  it("an m1 a stranger signed naming his own TTP does not make that TTP's contradictions the deal's", async () => {
    const run = await withheldRun(true);
    const evidence = fairEvidence(run);
    const m1 = find(evidence, EXCHANGE_TYPES.propose) as Statement<{ ttp: { keyId: string } }>;
    const s = await stranger();
    const z = await stranger();
    const named = (await signStatement({ ...m1, body: { ...m1.body, ttp: { ...m1.body.ttp, keyId: z.keyId } } }, s)) as Statement;
    const affidavit = find(evidence, TTP_TYPES.affidavit);
    const { revealed: _r, ...rest } = affidavit.body as Record<string, unknown>;
    void _r;
    const zSays = [
      (await signStatement({ ...affidavit }, z)) as Statement,
      (await signStatement({ ...affidavit, body: { ...rest, unsealable: 'no' } }, z)) as Statement,
    ];
    const j = await fileAs(run, w.shopper.signer, 'ttp-conflict', [...evidence, named, ...zSays]);
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'ttp-conflict/consistent' });
  });
});
