/**
 * Attacks on the fair purchase (core/commerce/fair-purchase*.ts) by an active merchant or shopper
 * with valid keys, who signs whatever it likes: each must end with the honest side refusing
 * before it gives anything, or the TTP refusing, and the bank's invariants holding.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { encodeBase64url, utf8 } from '../../core/encoding/index.js';
import { describeInformation, type Description, type Item, PAYMENT_PROOF_TYPE } from '../../core/items/index.js';
import { EXCHANGE_TYPES, TTP_TYPES } from '../../core/exchange/messages.js';
import { exchangeIdOf } from '../../core/exchange/index.js';
import { startOriginator, startResponder, stepExchange } from '../../core/exchange/parties.js';
import { seededRandom } from '../../core/machine.js';
import { signStatement, type Statement } from '../../core/statements/index.js';
import type { PaymentRequest } from '../../core/commerce/index.js';
import { closeCheckingInvariants } from '../core/payment/helpers.js';
import { FairRun, type FairWorld, makeFairWorld, payAtBank, PRICE } from '../core/commerce/fair-fixtures.js';

let w: FairWorld;
beforeEach(async () => {
  w = await makeFairWorld();
});
afterEach(() => closeCheckingInvariants(w.bank));

async function bareSigner(): Promise<Signer> {
  return signerFromKeyPair('ES256', await generateKeyPair('ES256'));
}

/** A run up to the verified offer in the trusted window (nothing confirmed, nothing paid). */
async function offered(): Promise<FairRun> {
  const run = new FairRun(w);
  await run.start();
  await run.pump();
  expect(run.shopper.phase).toBe('awaiting-confirmation');
  return run;
}

describe('the TTP is no decryption oracle for boxes sealed to it', () => {
  it("a shopper who never pays stages an exchange of its own (two of its keys, the deal's id) around the merchant's box: the TTP does not open it", async () => {
    const run = await offered();
    if (run.shopper.phase !== 'awaiting-confirmation') throw new Error('not offered');
    const offer = run.shopper.offer.body;
    const dealId = run.shopper.dealId;
    const [x1, x2] = await Promise.all([bareSigner(), bareSigner()]);
    const ttpKeyId = w.merchant.ttp.keyId;
    const trust = { roots: [w.ca.root], ttps: [ttpKeyId] };
    const o = { signer: x1, trust, random: seededRandom(1) };
    const r = { signer: x2, trust, random: seededRandom(2) };
    // X1 "sells" a key statement of its own whose sealed field is the merchant's box; X2 gives a trifle.
    const content = { body: { dealId, sku: offer.sku, goods: offer.goods.digest, ciphertext: offer.goods.ciphertextDigest } };
    const stolen: Description = {
      kind: 'statement',
      type: 'semper.goods.key',
      signer: { keyId: x1.keyId },
      dealId,
      content,
      sealed: { field: 'key', digest: offer.goods.keyDigest, to: w.merchant.ttp.sealingKeyId, box: offer.goods.box },
    };
    const plain: Description = { kind: 'statement', type: 'semper.goods.key', signer: { keyId: x1.keyId }, dealId, content };
    const trifle: Item = { kind: 'information', mediaType: 'text/plain', data: encodeBase64url(utf8('a trifle')) };
    const trifleDesc = await describeInformation(trifle);
    const now = w.clock.now;
    const timeouts = { peer: 1_000, ttpRetry: 1_000, ttpMargin: 2_000, peerRetries: 1 };
    const own: Item = {
      kind: 'statement',
      statement: (await signStatement(
        { type: 'semper.goods.key', version: 1, dealId, issuedAt: new Date(now).toISOString(), body: content.body },
        x1,
      )) as Statement,
    };
    const started = await startOriginator(
      {
        protocol: 'generatable-verifiable',
        dealId,
        responder: { keyId: x2.keyId },
        ttp: { keyId: ttpKeyId },
        gives: plain,
        item: own,
        expects: trifleDesc,
        now,
        timeouts,
      },
      o,
    );
    const honestM1 = started.state.m1!;
    // m1 with the stolen box in the description, signed by X1 (its own key: a valid signature).
    const m1 = (await signStatement(
      { type: EXCHANGE_TYPES.propose, version: 1, dealId, issuedAt: honestM1.issuedAt, body: { ...(honestM1.body as object), originatorGives: stolen } },
      x1,
    )) as Statement;
    let responder = (
      await startResponder(
        {
          protocol: 'generatable-verifiable',
          dealId,
          originator: { keyId: x1.keyId },
          ttp: { keyId: ttpKeyId },
          gives: trifleDesc,
          item: trifle,
          expects: stolen,
          now,
          timeouts,
        },
        r,
      )
    ).state;
    const accepted = await stepExchange(responder, { type: 'message', message: m1, now, from: 'peer' }, r);
    responder = accepted.state;
    expect(responder.phase).toBe('awaiting-m3');
    // No m3: X2 complains to the TTP with m1 and m2.
    let complaint: Statement | undefined;
    for (let i = 0; i < 5 && !complaint; i++) {
      const t = await stepExchange(responder, { type: 'timeout', now: responder.wakeAt! }, r);
      responder = t.state;
      complaint = t.send.find((s) => s.to === 'ttp')?.statement;
    }
    expect(complaint?.type).toBe(EXCHANGE_TYPES.complaint);
    expect(await exchangeIdOf(m1)).toBe(responder.exchangeId);
    const answer = await run.ttpAnswer(complaint);
    // The TTP resolves X's own exchange (it cannot tell it is staged) but does not open the box: it
    // is bound to the merchant's key, and X1 is not the merchant.
    expect(answer.kind).toBe('response');
    const resolution = (answer as { body: { answer: Statement } }).body.answer;
    expect(resolution.type).toBe(TTP_TYPES.resolution);
    const affidavits = (resolution.body as { affidavits: Statement<{ revealed?: unknown; unsealable?: string }>[] }).affidavits;
    expect(affidavits).toHaveLength(1);
    expect(affidavits[0]!.body.revealed).toBeUndefined();
    expect(affidavits[0]!.body.unsealable).toMatch(/does not open/);
  });
});

const merchantSigns = (m: Statement, body: unknown): Promise<Statement> =>
  signStatement({ ...m, body } as never, w.merchant.identity.signer, { signerRef: { kind: 'x509', chain: w.merchant.identity.chain } }) as Promise<Statement>;

async function confirmed(run: FairRun, method: 'cash' | 'account' | 'card' = 'cash'): Promise<void> {
  await run.start();
  await run.pump();
  expect(run.shopper.phase).toBe('awaiting-confirmation');
  await run.shopperStep({ type: 'user-confirmed', method, now: w.clock.now });
  await run.pump();
}

/** The shopper's deal after an m1 the merchant rewrote: refused before any payment. */
async function refusedBeforePaying(
  rewriteM1: (body: Record<string, unknown>, m1: Statement) => Record<string, unknown> | Promise<Record<string, unknown>>,
): Promise<FairRun> {
  const run = new FairRun(w);
  run.rewrite = async (m) => (m.type === EXCHANGE_TYPES.propose ? merchantSigns(m, await rewriteM1(structuredClone(m.body) as Record<string, unknown>, m)) : m);
  await confirmed(run);
  expect(run.shopper.phase).toBe('starting');
  expect(run.outbox.some((o) => o.kind === 'pay')).toBe(false);
  expect(run.effects.some((e) => e.kind === 'problem')).toBe(true);
  expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(0);
  return run;
}

describe('an active merchant changes the deal between the offer and m1', () => {
  type Money = { payee: string; issuer: unknown; method: string; reference: string };
  const money = (b: Record<string, unknown>) => b.responderGives as Money;

  it('another payee (its own other account): refused, nothing paid', async () => {
    await refusedBeforePaying((b) => ({ ...b, responderGives: { ...money(b), payee: w.shopper.keyId } }));
  });

  it('another bank: refused, nothing paid', async () => {
    await refusedBeforePaying((b) => ({ ...b, responderGives: { ...money(b), issuer: { keyId: w.merchantAccount.keyId } } }));
  });

  it('another method or another reference: refused, nothing paid', async () => {
    await refusedBeforePaying((b) => ({ ...b, responderGives: { ...money(b), method: 'account' } }));
    await refusedBeforePaying((b) => ({ ...b, responderGives: { ...money(b), reference: 'another-deal-00000001' } }));
  });

  it('another TTP (one the shopper also trusts): refused, nothing paid', async () => {
    const other = await w.ca.issue({ commonName: 'Other TTP', role: 'ttp' });
    w.shopperContext = { ...w.shopperContext, ttps: [...w.shopperContext.ttps, { fingerprint: 'none', keyId: other.signer.keyId, url: 'http://127.0.0.1:1' }] };
    await refusedBeforePaying((b) => ({ ...b, ttp: { keyId: other.signer.keyId } }));
  });

  it('a deadline later than the agreed timing allows: refused, nothing paid', async () => {
    await refusedBeforePaying((b) => ({ ...b, deadline: (b.deadline as number) + 24 * 3_600_000 }));
  });

  it("another key statement (another goods digest) or another deal's box in m1: refused, nothing paid", async () => {
    await refusedBeforePaying((b) => {
      const gives = b.originatorGives as { content: { body: Record<string, unknown> } };
      return { ...b, originatorGives: { ...gives, content: { body: { ...gives.content.body, goods: 'A'.repeat(43) } } } };
    });
    // The merchant's box from another deal (sealed under its AAD): the shopper checks m1 names the box of its own offer.
    const otherRun = new FairRun(w);
    await otherRun.start();
    await otherRun.pump();
    if (otherRun.shopper.phase !== 'awaiting-confirmation') throw new Error(otherRun.shopper.phase);
    const otherBox = otherRun.shopper.offer.body.goods.box;
    await refusedBeforePaying((b) => {
      const gives = b.originatorGives as { sealed: Record<string, unknown> };
      return { ...b, originatorGives: { ...gives, sealed: { ...gives.sealed, box: otherBox } } };
    });
  });

  it('a replayed m1 of another deal (the same merchant and shopper): refused, nothing paid in this one', async () => {
    const first = new FairRun(w);
    await confirmed(first);
    if (first.shopper.phase !== 'paying') throw new Error(first.shopper.phase);
    const m1OfFirst = first.shopper.responder.m1!;
    const run = new FairRun(w);
    run.rewrite = (m) => (m.type === EXCHANGE_TYPES.propose ? m1OfFirst : m);
    await confirmed(run);
    expect(run.shopper.phase).toBe('starting');
    expect(run.outbox.some((o) => o.kind === 'pay')).toBe(false);
    const problem = run.effects.find((e) => e.kind === 'problem') as { error?: { code: string } } | undefined;
    expect(problem?.error?.code).toBe('ERR_REPLAY');
  });
});

describe('an active shopper pays for something else, or complains with a forged proof', () => {
  /** A deal at 'paying' (m1 accepted), and the shopper's own m2/complaint signing. */
  async function atPaying(method: 'cash' | 'card' = 'cash') {
    const run = new FairRun(w);
    await confirmed(run, method);
    const s = run.shopper;
    if (s.phase !== 'paying') throw new Error(s.phase);
    run.outbox = [];
    const exchangeId = s.responder.exchangeId!;
    const m1 = s.responder.m1!;
    const shopperSigns = (type: string, body: Record<string, unknown>) =>
      signStatement({ type, version: 1, dealId: s.dealId, issuedAt: new Date(w.clock.now).toISOString(), body }, w.shopper.signer) as Promise<Statement>;
    const m2With = (item: Item) => shopperSigns(EXCHANGE_TYPES.accept, { exchangeId, item });
    const complaint = async (m2: Statement) => shopperSigns(EXCHANGE_TYPES.complaint, { exchangeId, m1, m2 });
    return { run, s, m2With, complaint };
  }

  /** The shopper at 'paying' makes `item` for its own payment request, sends it in an m2 it signs, then complains with that m2. */
  async function refusedByBoth(makeItem: (p: PaymentRequest) => Promise<Item>, method: 'cash' | 'card' = 'cash'): Promise<void> {
    const { run, s, m2With, complaint } = await atPaying(method);
    if (s.phase !== 'paying') throw new Error(s.phase);
    const m2 = await m2With(await makeItem(s.payment));
    await expect(run.merchantStep({ type: 'message', message: m2, now: w.clock.now, from: 'peer' })).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
    const m = run.merchant!;
    expect(m.phase === 'selling' && m.originator.phase).toBe('awaiting-m2');
    expect(m.phase === 'selling' && m.originator.delivered).toBeNull();
    const records = w.ttpRecords.size;
    const answer = await run.ttpAnswer(await complaint(m2));
    expect(answer.kind === 'error' && answer.error).toMatchObject({
      code: 'ERR_TTP',
      message: expect.stringMatching(/verifiable transfer did not happen as agreed/),
    });
    expect(w.ttpRecords.size).toBe(records);
  }

  it('a real payment for another deal: the merchant sends no m3, the TTP refuses the complaint', async () => {
    await refusedByBoth((p) => payAtBank(w, w.shopper, p, { reference: 'another-deal-00000001' }));
  });

  it('a real payment of a smaller amount: the merchant sends no m3, the TTP refuses the complaint', async () => {
    await refusedByBoth((p) => payAtBank(w, w.shopper, p, { amount: 100 }));
  });

  it('a real payment to another payee: the merchant sends no m3, the TTP refuses the complaint', async () => {
    await refusedByBoth((p) => payAtBank(w, w.shopper, p, { payee: w.shopper.keyId }));
  });

  it('a payment proof the shopper signed itself (a forged bank proof): the merchant sends no m3, the TTP refuses the complaint', async () => {
    await refusedByBoth(async (p) => {
      const forged = (await signStatement(
        {
          type: PAYMENT_PROOF_TYPE,
          version: 1,
          dealId: p.reference,
          issuedAt: new Date(w.clock.now).toISOString(),
          body: { method: p.method, value: p.amount, payee: p.payee, reference: p.reference },
        },
        w.shopper.signer,
      )) as Statement;
      return { kind: 'money', method: p.method, value: p.amount, proof: forged };
    });
  });

  describe('card (the adapter operator signs the proof): an active shopper pays for something else or with a key the offer does not name', () => {
    it('a real card payment for another reference: the merchant sends no m3, the TTP refuses the complaint', async () => {
      await refusedByBoth((p) => payAtBank(w, w.shopper, p, { reference: 'another-deal-00000001' }), 'card');
    });

    it("a card proof signed by an operator key the offer does not name (a valid key of the shopper's own adapter): refused by both", async () => {
      const untrusted = await bareSigner();
      await refusedByBoth((p) => payAtBank(w, w.shopper, p, { operator: untrusted }), 'card');
    });

    it("m1 for a card payment names the offer's card adapter operator as the issuer (not the bank)", async () => {
      const { s } = await atPaying('card');
      if (s.phase !== 'paying') throw new Error(s.phase);
      expect(s.payment.card).toEqual({ keyId: w.cardOperator.keyId, url: expect.any(String) });
      expect((s.responder.m1!.body as { responderGives: { issuer: unknown } }).responderGives.issuer).toEqual({ keyId: w.cardOperator.keyId });
    });
  });
});

describe('a TTP answer for another exchange', () => {
  it("the resolution of another deal's exchange is refused; the shopper keeps asking and gets its own", async () => {
    // Deal A: the merchant withholds m3, the TTP resolves it.
    const a = new FairRun(w);
    a.withhold.add(EXCHANGE_TYPES.deliver);
    await confirmed(a);
    await a.pump((req) => payAtBank(w, w.shopper, req));
    for (let i = 0; i < 6 && a.shopper.phase === 'exchanging'; i++) {
      await a.shopperTimeout();
      await a.pump();
    }
    expect(a.shopper.phase === 'completed' && a.shopper.outcome.status).toBe('resolved');
    const resolutionA = [...w.ttpRecords.values()][0]!.answer;
    // Deal B: the same, but the first TTP answer it sees is A's resolution.
    const b = new FairRun(w);
    b.withhold.add(EXCHANGE_TYPES.deliver);
    await confirmed(b);
    await b.pump((req) => payAtBank(w, w.shopper, req));
    const real = b.ttpAnswer.bind(b);
    let replayed = 0;
    b.ttpAnswer = async (request) => {
      if (replayed++ === 0) return { kind: 'response', body: { answer: resolutionA } };
      return real(request);
    };
    for (let i = 0; i < 8 && b.shopper.phase === 'exchanging'; i++) {
      await b.shopperTimeout();
      await b.pump();
    }
    expect(replayed).toBeGreaterThan(1);
    const problem = b.effects.find((e) => e.kind === 'problem') as { error?: { code: string } } | undefined;
    expect(problem?.error?.code).toBe('ERR_REPLAY');
    expect(b.shopper.phase === 'completed' && b.shopper.outcome.status).toBe('resolved');
    expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(2 * PRICE);
  });
});
