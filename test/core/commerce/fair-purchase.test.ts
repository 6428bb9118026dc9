/**
 * Fair purchase (core/commerce/fair-purchase*.ts): goods for money through generatable↔verifiable,
 * with a real bank (cash deposited for the merchant, account transfers) and the TTP in-process.
 * Every test ends with the bank's invariants (money conserved).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url, sha256 } from '../../../core/encoding/index.js';
import { seal } from '../../../core/crypto/seal.js';
import type { PublicJwk } from '../../../core/crypto/jwk.js';
import { sealedAad } from '../../../core/items/schema.js';
import { FAIR_TYPES, type FairShopperState, fairPurchaseShopper } from '../../../core/commerce/index.js';
import { prepareFairOffer } from '../../../core/commerce/fair-purchase-merchant.js';
import { signStatement, type Statement } from '../../../core/statements/index.js';
import { EXCHANGE_TYPES, TTP_TYPES } from '../../../core/exchange/messages.js';
import { closeCheckingInvariants } from '../payment/helpers.js';
import { FairRun, type FairWorld, makeFairWorld, PRICE, payAtBank, SONG } from './fair-fixtures.js';

let w: FairWorld;
beforeEach(async () => {
  w = await makeFairWorld();
});
afterEach(() => closeCheckingInvariants(w.bank));

function goodsOf(s: FairShopperState): string {
  if (s.phase !== 'completed') throw new Error(`purchase ${s.phase}: ${'error' in s ? JSON.stringify(s.error) : ''}`);
  return new TextDecoder().decode(decodeBase64url(s.goods));
}

async function confirmed(run: FairRun, method: 'cash' | 'account' | 'card'): Promise<void> {
  await run.start();
  await run.pump();
  expect(run.shopper.phase).toBe('awaiting-confirmation');
  await run.shopperStep({ type: 'user-confirmed', method, now: w.clock.now });
  await run.pump();
}

describe('fair purchase: the main protocol', () => {
  for (const method of ['cash', 'account', 'card'] as const) {
    it(`${method}: the shopper pays only after m1 binds the merchant, then gets the key and the goods; the merchant gets the money`, async () => {
      const run = new FairRun(w);
      await confirmed(run, method);
      // m1 arrived and was accepted; nothing was paid yet.
      expect(run.shopper.phase).toBe('paying');
      expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(0);
      await run.pump((req) => payAtBank(w, w.shopper, req));
      expect(goodsOf(run.shopper)).toBe(SONG.content);
      expect(run.shopper.phase === 'completed' && run.shopper.outcome.status).toBe('completed');
      // Card money is at the acquirer (the operator's proof), not at the bank.
      expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(method === 'card' ? 0 : PRICE);
      const m = run.merchant!;
      expect(m.phase === 'selling' && m.originator.outcome?.status).toBe('completed');
      expect(w.ttpRecords.size).toBe(0);
    });
  }

  it('the offer shows price, methods and the TTP; the window view names no shopper key', async () => {
    const run = new FairRun(w);
    await run.start();
    await run.pump();
    const view = run.effects.find((e) => e.kind === 'show-offer') as unknown as { view: { price: unknown; methods: string[]; ttp: { name: string } } };
    expect(view.view.price).toEqual({ amount: PRICE, currency: 'CHF' });
    expect(view.view.methods).toEqual(['cash', 'account', 'card']);
    expect(view.view.ttp.name).toBe('Semper TTP');
    expect(JSON.stringify(view)).not.toContain(w.shopper.keyId);
  });
});

describe('fair purchase: faults and the TTP', () => {
  it('a merchant that takes the money and withholds m3: the TTP checks the payment and reveals the key', async () => {
    const run = new FairRun(w);
    run.withhold.add(EXCHANGE_TYPES.deliver);
    await confirmed(run, 'cash');
    await run.pump((req) => payAtBank(w, w.shopper, req));
    expect(run.shopper.phase).toBe('exchanging');
    for (let i = 0; i < 6 && run.shopper.phase === 'exchanging'; i++) {
      await run.shopperTimeout();
      await run.pump();
    }
    expect(goodsOf(run.shopper)).toBe(SONG.content);
    expect(run.shopper.phase === 'completed' && run.shopper.outcome.status).toBe('resolved');
    // The merchant sent m3 (lost on the way) after the payment checked out: for it, the exchange completed.
    const m = run.merchant!;
    expect(m.phase === 'selling' && m.originator.outcome?.status).toBe('completed');
    expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(PRICE);
  });

  async function voidSeal(makeBox: (dealId: string, realKey: string) => Promise<string>): Promise<FairRun> {
    const run = new FairRun(w);
    run.withhold.add(EXCHANGE_TYPES.deliver);
    const real = run.merchantStep.bind(run);
    run.merchantStep = async (event) =>
      real(
        event.type === 'offer-requested'
          ? { ...event, prepared: { key: event.prepared.key, box: await makeBox(run.shopper.dealId, event.prepared.key) } }
          : event,
      );
    await confirmed(run, 'cash');
    await run.pump((req) => payAtBank(w, w.shopper, req));
    for (let i = 0; i < 6 && run.shopper.phase === 'exchanging'; i++) {
      await run.shopperTimeout();
      await run.pump();
    }
    expect(run.shopper.phase === 'failed' && run.shopper.error.code).toBe('ERR_DELIVERY_MISMATCH');
    // The payment's proof stays with the failed deal: with the offer, m1 and the affidavit, evidence for an arbiter.
    expect(run.shopper.phase === 'failed' && run.shopper.paid?.kind).toBe('money');
    return run;
  }

  function unsealable(run: FairRun): string | undefined {
    const affidavit = (run.effects as { kind: string; statement?: Statement }[]).find((e) => e.kind === 'archive' && e.statement?.type === TTP_TYPES.affidavit);
    return (affidavit?.statement?.body as { unsealable?: string } | undefined)?.unsealable;
  }

  it('a merchant that seals another key (under the committed digest): the TTP says so in its affidavit, the purchase fails with that evidence', async () => {
    const run = await voidSeal(async (dealId, realKey) => {
      const digest = encodeBase64url(await sha256(decodeBase64url(realKey)));
      return seal(sealingJwk(w), crypto.getRandomValues(new Uint8Array(32)), sealedAad(dealId, w.merchant.identity.signer.keyId, { field: 'key', digest }));
    });
    expect(unsealable(run)).toMatch(/not the committed digest/);
  });

  it('a merchant that seals for another deal: the box does not open here (AAD), the affidavit says so', async () => {
    const run = await voidSeal(async () => (await prepareFairOffer('another-deal-000001', sealingJwk(w), w.merchant.identity.signer.keyId)).box);
    expect(unsealable(run)).toMatch(/does not open/);
  });

  it('a wrong key in m3 is refused; the complaint then gets the right key from the TTP', async () => {
    const run = new FairRun(w);
    run.rewrite = async (m) => {
      if (m.type !== EXCHANGE_TYPES.deliver) return m;
      const body = m.body as { item: { statement: Statement<{ key: string }> } };
      const forged = await signStatement(
        { ...body.item.statement, body: { ...body.item.statement.body, key: encodeBase64url(new Uint8Array(32)) } },
        w.merchant.identity.signer,
        { signerRef: { kind: 'x509', chain: w.merchant.identity.chain } },
      );
      return signStatement({ ...m, body: { ...m.body, item: { kind: 'statement', statement: forged } } }, w.merchant.identity.signer, {
        signerRef: { kind: 'x509', chain: w.merchant.identity.chain },
      }) as Promise<Statement>;
    };
    await confirmed(run, 'account');
    await run.pump((req) => payAtBank(w, w.shopper, req));
    expect(run.effects.some((e) => e.kind === 'problem')).toBe(true);
    for (let i = 0; i < 6 && run.shopper.phase === 'exchanging'; i++) {
      await run.shopperTimeout();
      await run.pump();
    }
    expect(goodsOf(run.shopper)).toBe(SONG.content);
  });

  it("a payment that completes only after the exchange became final: the deal keeps the bank's proof and says the merchant was paid", async () => {
    // The payment service is slower than m1's deadline (+ margin): the shopper's deal has ended when the money item comes.
    const run = new FairRun(w);
    await confirmed(run, 'cash');
    expect(run.shopper.phase).toBe('paying');
    const pay = run.outbox.shift();
    if (pay?.kind !== 'pay') throw new Error('expected the payment');
    await run.shopperTimeout();
    expect(run.shopper.phase === 'failed' && run.shopper.paid).toBeUndefined();
    const item = await payAtBank(w, w.shopper, pay.request);
    // The host's payment service answers the pay send (extension/deals: through the transport) or steps `paid`: both are kept.
    const viaReply = await fairPurchaseShopper.step(
      run.shopper,
      { type: 'reply', sent: pay, reply: { kind: 'response', body: item }, now: w.clock.now },
      w.shopperContext,
    );
    expect(viaReply.state.phase === 'failed' && viaReply.state.paid).toEqual(item);
    await run.shopperStep({ type: 'paid', item, now: w.clock.now });
    const s = run.shopper;
    expect(s.phase).toBe('failed');
    expect(s.phase === 'failed' && s.paid).toEqual(item);
    expect(s.phase === 'failed' && s.error.message).toMatch(/paid after the exchange became final/);
    const archived = (run.effects as { kind: string; statement?: Statement }[]).filter((e) => e.kind === 'archive').map((e) => e.statement);
    expect(archived).toContainEqual(item.kind === 'money' ? item.proof : null);
    // The same item again, as the payment service's answer to the pay send: changes nothing.
    const again = await fairPurchaseShopper.step(
      run.shopper,
      { type: 'reply', sent: pay, reply: { kind: 'response', body: item }, now: w.clock.now },
      w.shopperContext,
    );
    expect(again.state).toEqual(run.shopper);
    expect(again.effects).toEqual([]);
    expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(PRICE);
  });

  it('a shopper that never pays: after the deadline the merchant gets an abort token, no money moved', async () => {
    const run = new FairRun(w);
    await confirmed(run, 'cash');
    expect(run.shopper.phase).toBe('paying');
    for (let i = 0; i < 8 && run.merchant!.phase === 'selling' && run.merchant!.originator.phase !== 'done'; i++) await run.merchantTimeout();
    const m = run.merchant!;
    expect(m.phase === 'selling' && m.originator.outcome?.status).toBe('aborted');
    expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(0);
  });
});

describe('fair purchase: the payment service answers the pay send', () => {
  it('no answer yet (no status): the deal keeps paying; a refusal (a status): the deal fails, nothing moved', async () => {
    const run = new FairRun(w);
    await confirmed(run, 'cash');
    const pay = run.outbox.find((o) => o.kind === 'pay');
    if (!pay) throw new Error('no pay send');
    await run.shopperStep({
      type: 'reply',
      sent: pay,
      reply: { kind: 'error', error: { code: 'ERR_PROTOCOL_STATE', message: 'still waiting for the bank' } },
      now: w.clock.now,
    });
    expect(run.shopper.phase).toBe('paying');
    await run.shopperStep({
      type: 'reply',
      sent: pay,
      reply: { kind: 'error', error: { code: 'ERR_INSUFFICIENT_FUNDS', message: 'the purse does not cover it' }, status: 409 },
      now: w.clock.now,
    });
    expect(run.shopper.phase === 'failed' && run.shopper.error.code).toBe('ERR_INSUFFICIENT_FUNDS');
    expect(await w.bank.bank.balance(w.merchantAccount.account)).toBe(0);
  });
});

describe('fair purchase: an active merchant (valid keys, picks every field)', () => {
  it('an m1 asking for more money than the offer: refused before any payment', async () => {
    const run = new FairRun(w);
    run.rewrite = async (m) => {
      if (m.type !== EXCHANGE_TYPES.propose) return m;
      const b = m.body as { responderGives: { value: { amount: number } } };
      return signStatement(
        { ...m, body: { ...m.body, responderGives: { ...b.responderGives, value: { ...b.responderGives.value, amount: 3000 } } } },
        w.merchant.identity.signer,
        { signerRef: { kind: 'x509', chain: w.merchant.identity.chain } },
      ) as Promise<Statement>;
    };
    await confirmed(run, 'cash');
    expect(run.shopper.phase).toBe('starting');
    expect(run.outbox.some((o) => o.kind === 'pay')).toBe(false);
    expect(run.effects.some((e) => e.kind === 'problem')).toBe(true);
  });

  it('a ciphertext that is not the committed one: the offer is refused before the window', async () => {
    const run = new FairRun(w);
    await run.start();
    const sent = run.outbox.shift()!;
    if (sent.kind !== 'http' || sent.path !== '/semper/fair/offer') throw new Error('expected the offer request');
    const out = await run.merchantStep({
      type: 'offer-requested',
      request: sent.body,
      prepared: await prepareFairOffer(sent.body.dealId, run.sealingJwk(), w.merchant.identity.signer.keyId),
      now: w.clock.now,
    });
    const body = (out[0] as { body: { offer: Statement; ciphertext: string } }).body;
    const ct = decodeBase64url(body.ciphertext);
    ct[0] = ct[0]! ^ 1;
    await run.shopperStep({ type: 'reply', sent, reply: { kind: 'response', body: { ...body, ciphertext: encodeBase64url(ct) } }, now: w.clock.now });
    expect(run.shopper.phase === 'failed' && run.shopper.error.code).toBe('ERR_OFFER_INVALID');
    expect(run.effects.some((e) => e.kind === 'show-offer')).toBe(false);
  });

  it("a sealing key announced by someone else than the offer's TTP: refused (ERR_TTP)", async () => {
    const { signSealingKey } = await import('../../../core/exchange/sealing.js');
    const impostor = await w.ca.issue({ commonName: 'Impostor TTP', role: 'ttp' });
    w.merchant.ttp.sealingKey = (await signSealingKey(sealingJwk(w), impostor.signer, impostor.chain, w.clock.now)) as Statement;
    const run = new FairRun(w);
    await run.start();
    await run.pump();
    expect(run.shopper.phase === 'failed' && run.shopper.error.code).toBe('ERR_TTP');
  });

  it('a payment proof for another deal is not handed to the exchange: the purchase stops with the proof kept', async () => {
    const run = new FairRun(w);
    await confirmed(run, 'cash');
    await run.pump((req) => payAtBank(w, w.shopper, req, { reference: 'another-deal-0001' }));
    expect(run.shopper.phase === 'failed' && run.shopper.error.code).toBe('ERR_ITEM_MISMATCH');
    // The money moved (to the merchant, for another reference): the proof is kept; no m2 left.
    expect(run.shopper.phase === 'failed' && run.shopper.paid?.kind).toBe('money');
    expect(run.shopper.phase === 'failed' && run.shopper.responder?.m2).toBeNull();
  });

  it('a start signed by another key after the first: refused as a replay', async () => {
    const run = new FairRun(w);
    await confirmed(run, 'cash');
    const other = await (await import('../payment/helpers.js')).signer();
    const m = run.merchant!;
    if (m.phase !== 'selling') throw new Error('not selling');
    const forged = await signStatement(
      { type: FAIR_TYPES.start, version: 1, dealId: m.dealId, issuedAt: new Date(w.clock.now).toISOString(), body: m.start.body },
      other,
    );
    await expect(run.merchantStep({ type: 'message', message: forged, now: w.clock.now, from: 'peer' })).rejects.toMatchObject({ code: 'ERR_REPLAY' });
  });
});

function sealingJwk(world: FairWorld) {
  return (world.merchant.ttp.sealingKey as Statement<{ sealingKey: { jwk: PublicJwk } }>).body.sealingKey.jwk;
}

describe('fair purchase: card through the adapter', () => {
  it('an offer that takes card but names no card adapter (or names one without card) is refused before the window', async () => {
    for (const payment of [
      { ...w.merchant.payment, card: undefined },
      { ...w.merchant.payment, methods: ['cash', 'account'] as ('cash' | 'account' | 'card')[] },
    ]) {
      const { card, ...rest } = payment;
      w.merchant = { ...w.merchant, payment: card ? payment : rest };
      const run = new FairRun(w);
      await run.start();
      await run.pump();
      expect(run.shopper.phase === 'failed' && run.shopper.error.code).toBe('ERR_OFFER_INVALID');
    }
  });

  it('the pay request for card names the offer’s adapter; for cash it names none', async () => {
    for (const method of ['card', 'cash'] as const) {
      const run = new FairRun(w);
      await confirmed(run, method);
      const s = run.shopper;
      if (s.phase !== 'paying') throw new Error(s.phase);
      expect(s.payment.card).toEqual(method === 'card' ? w.merchant.payment.card : undefined);
    }
  });
});
