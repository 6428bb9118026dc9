/**
 * The purchase oracle must be able to fail: deliberately broken merchants and shoppers run
 * through the same simulation (purchase-harness.ts), and the oracle must name what they broke.
 * Each is paired with a control: the same schedule with the real machine is clean.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { signStatement, statementDigest, type Statement } from '../../core/statements/index.js';
import { digestDelivered, stepMerchant, stepShopper, verifyOffer, type MerchantDealState, type OrderReply } from '../../core/commerce/index.js';
import type { ConfirmationBody, DeliveryBody, OfferBody } from '../../core/protocol/commerce.js';
import type { PurchaseOutcome } from '../../core/protocol/provider.js';
import { describePurchase, makePurchaseWorld, simulatePurchase, type MerchantStepFn, type PurchaseWorld, type ShopperStepFn } from './purchase-harness.js';
import { scheduleChoices } from './sim.js';

let world: PurchaseWorld;
let earlier: unknown[];
beforeAll(async () => {
  world = await makePurchaseWorld();
  earlier = (await simulatePurchase({ world, seed: 99 })).responses;
});

async function resign<B>(st: Statement<B>, body: B, ctx: Parameters<MerchantStepFn>[2]): Promise<Statement<B>> {
  const { signature: _s, ...unsigned } = st;
  void _s;
  return signStatement<B>({ ...unsigned, body }, ctx.identity.signer, { signerRef: { kind: 'x509', chain: ctx.identity.chain } });
}

/** Replace the reply of a fresh confirmation, in the stored state and in the answer alike (a merchant that stores what it sends). */
function withReply(res: Awaited<ReturnType<MerchantStepFn>>, reply: OrderReply): Awaited<ReturnType<MerchantStepFn>> {
  if (res.state.phase !== 'confirmed') return res;
  return { ...res, state: { ...res.state, reply }, send: [{ to: 'shopper', body: reply }] };
}

/** Broken merchant: confirms the shopper's order against another (re-priced) offer it never gave the shopper. */
const confirmsAnotherOffer: MerchantStepFn = async (state, event, ctx) => {
  const res = await stepMerchant(state, event, ctx);
  if (state.phase !== 'offered' || res.state.phase !== 'confirmed') return res;
  const repriced = await resign<OfferBody>(
    state.offer,
    { ...state.offer.body, offerId: ctx.random.id(18), total: { ...state.offer.body.total, amount: state.offer.body.total.amount * 2 } },
    ctx,
  );
  const c = res.state.reply.confirmation;
  const confirmation = await resign<ConfirmationBody>(c, { ...c.body, offerDigest: await statementDigest(repriced), total: repriced.body.total }, ctx);
  return withReply(res, { ...res.state.reply, confirmation });
};

/** Broken merchant: signs a new confirmation (a new order id: a second invoice) whenever the order comes again. */
const confirmsAgain: MerchantStepFn = async (state, event, ctx) => {
  if (state.phase !== 'confirmed') return stepMerchant(state, event, ctx);
  const offered: MerchantDealState = { phase: 'offered', dealId: state.dealId, offer: state.offer, offerDigest: state.offerDigest, createdAt: state.createdAt };
  return stepMerchant(offered, event, ctx);
};

/** Hostile merchant: delivers other content than the digest it signs for it. */
const deliversOtherContent: MerchantStepFn = async (state, event, ctx) => {
  const res = await stepMerchant(state, event, ctx);
  if (state.phase !== 'offered' || res.state.phase !== 'confirmed') return res;
  const d = res.state.reply.delivery;
  const delivery = await resign<DeliveryBody>(d, { ...d.body, goods: d.body.goods.map((g) => ({ ...g, content: 'Three blank pages.' })) }, ctx);
  return withReply(res, { ...res.state.reply, delivery });
};

/** Hostile merchant (issue 8 item 1): delivers other content under another title, with the digest of what it delivers. */
const deliversOtherContentConsistently: MerchantStepFn = async (state, event, ctx) => {
  const res = await stepMerchant(state, event, ctx);
  if (state.phase !== 'offered' || res.state.phase !== 'confirmed') return res;
  const d = res.state.reply.delivery;
  const content = 'Three blank pages.';
  const goods = await Promise.all(
    d.body.goods.map(async (g) => ({ ...g, title: `${g.title} (abridged)`, content, digest: await digestDelivered({ content, encoding: 'utf8' }) })),
  );
  const delivery = await resign<DeliveryBody>(d, { ...d.body, goods }, ctx);
  return withReply(res, { ...res.state.reply, delivery });
};

/** Broken shopper: completes although the delivery is not what the offer committed to (the check before issue 8 item 1, or none). */
const skipsDeliveryCheck: ShopperStepFn = async (state, event, ctx) => {
  const real = await stepShopper(state, event, ctx);
  if ((state.phase !== 'ordering' && state.phase !== 'retrying-order') || real.state.phase !== 'delivery-mismatch') return real;
  if (event.type !== 'reply' || event.reply.kind !== 'response') return real;
  const { confirmation, delivery } = event.reply.body as OrderReply;
  const outcome: PurchaseOutcome = {
    dealId: state.dealId,
    status: 'completed',
    orderId: confirmation.body.orderId,
    delivered: delivery.body.goods.map((g) => ({ sku: g.sku, title: g.title })),
  };
  const { dealId, origin, nonce, items, startedAt, view, offer, order } = state;
  void ctx;
  return {
    state: { dealId, origin, nonce, items, startedAt, phase: 'completed', view, offer, order, confirmation, delivery, outcome, endedAt: event.now },
    send: [],
    effects: [{ kind: 'finished', dealId, outcome }],
  };
};

/** Broken shopper: checks an offer against the deal and nonce the offer itself names, not its own. */
const trustsTheOffersNonce: ShopperStepFn = async (state, event, ctx) => {
  if (state.phase === 'requesting-offer' && event.type === 'reply' && event.sent.path === '/semper/offer' && event.reply.kind === 'response') {
    const offer = (event.reply.body as { offer?: Statement<OfferBody> } | null)?.offer;
    try {
      const v = await verifyOffer(
        event.reply.body,
        { dealId: offer!.dealId, nonce: offer!.body.nonce, origin: state.origin, items: state.items },
        event.now,
        ctx,
      );
      return { state: { ...state, phase: 'awaiting-confirmation', ...v }, send: [], effects: [{ kind: 'show-offer', dealId: state.dealId, view: v.view }] };
    } catch {
      // not even an offer: what the real machine does
    }
  }
  return stepShopper(state, event, ctx);
};

/** Broken shopper (before issue 8 item 7): reports the deal failed on the first order that got no answer. */
const failsOnLostAnswer: ShopperStepFn = async (state, event, ctx) => {
  const real = await stepShopper(state, event, ctx);
  if (state.phase !== 'ordering' || real.state.phase !== 'retrying-order') return real;
  const error = real.state.lastError;
  const { dealId, origin, nonce, items, startedAt, view } = state;
  return {
    state: { dealId, origin, nonce, items, startedAt, phase: 'failed', error, view, endedAt: event.now },
    send: [],
    effects: [{ kind: 'failed', dealId, error }],
  };
};

/** Broken shopper: ignores failed requests (waits for an answer that will never come). */
const ignoresTransportErrors: ShopperStepFn = async (state, event, ctx) =>
  event.type === 'reply' && event.reply.kind === 'error' && !event.reply.status ? { state, send: [], effects: [] } : stepShopper(state, event, ctx);

describe('the purchase oracle catches broken merchants', () => {
  it('a merchant that confirms the order for another offer than the one the shopper accepted', async () => {
    const r = await simulatePurchase({ world, steps: { M: confirmsAnotherOffer } });
    expect(r.violations, describePurchase(r)).toContain("merchant: confirmed the shopper's order for another offer than the one it accepts");
    expect(r.violations).toContain('merchant: the confirmation names an offer the merchant never issued for this deal');
    // The real shopper does not take it...
    expect(r.shopper?.phase === 'failed' && r.shopper.error.code).toBe('ERR_ORDER_INVALID');
    // ...and the real merchant on the same schedule is clean.
    const ok = await simulatePurchase({ world });
    expect(ok.violations, describePurchase(ok)).toEqual([]);
    expect(ok.shopper?.phase).toBe('completed');
  });

  it('a merchant that signs a second confirmation when a restarted worker re-sends the order', async () => {
    // The shopper's worker dies while taking the answer to its order (step 4), restarts and re-sends it.
    const crash = { node: 'S' as const, atStep: 4, mode: 'before-persist' as const };
    const r = await simulatePurchase({ world, steps: { M: confirmsAgain }, crash });
    expect(r.violations, describePurchase(r)).toContain(`merchant: issued 2 different confirmations for deal ${r.shopper?.dealId}`);
    const ok = await simulatePurchase({ world, crash });
    expect(ok.violations, describePurchase(ok)).toEqual([]);
    expect(ok.shopper?.phase).toBe('completed');
    expect(ok.trace).toContain('0 S restarts in phase ordering');
  });

  it('random schedules find the double confirmation too (duplicated orders, restarts)', async () => {
    const run = fc.check(
      fc.asyncProperty(scheduleChoices(), async (choices) => {
        const r = await simulatePurchase({ world, choices, steps: { M: confirmsAgain } });
        return r.violations.length === 0;
      }),
      { numRuns: 60, seed: 42, endOnFailure: true },
    );
    expect((await run).failed).toBe(true);
  });
});

describe('the purchase oracle catches broken shoppers', () => {
  it('a shopper that completes without checking the delivery against its digest', async () => {
    const r = await simulatePurchase({ world, steps: { M: deliversOtherContent, S: skipsDeliveryCheck } });
    expect(r.shopper?.phase).toBe('completed');
    expect(r.violations, describePurchase(r)).toContainEqual(expect.stringMatching(/^completion: delivered ".*" does not match its digest$/));
    expect(r.violations).toContainEqual(expect.stringMatching(/^completion: delivered ".*" is not the merchant's good$/));
    // The real shopper refuses the same delivery: the deal ends in delivery-mismatch, nothing to report.
    const ok = await simulatePurchase({ world, steps: { M: deliversOtherContent } });
    expect(ok.violations, describePurchase(ok)).toEqual([]);
    expect(ok.shopper?.phase).toBe('delivery-mismatch');
  });

  it('issue 8 item 1: a shopper that takes other content under another title with its own matching digest', async () => {
    const r = await simulatePurchase({ world, steps: { M: deliversOtherContentConsistently, S: skipsDeliveryCheck } });
    expect(r.shopper?.phase).toBe('completed');
    expect(r.violations, describePurchase(r)).toContainEqual(expect.stringMatching(/^completion: delivered ".*" is not what the offer committed to$/));
    const ok = await simulatePurchase({ world, steps: { M: deliversOtherContentConsistently } });
    expect(ok.violations, describePurchase(ok)).toEqual([]);
    expect(ok.shopper?.phase === 'delivery-mismatch' && ok.shopper.mismatches.map((m) => m.what)).toEqual(['title', 'content', 'title', 'content']);
  });

  it('issue 8 item 7: a shopper that reports the deal failed when the answer to its stored order is lost', async () => {
    const lose = { responses: ['/semper/order'], times: 1 };
    const r = await simulatePurchase({ world, steps: { S: failsOnLostAnswer }, lose });
    expect(r.merchant?.phase).toBe('confirmed');
    expect(r.violations, describePurchase(r)).toContain(
      "binding: the merchant holds the shopper's order, but the shopper reported the deal failed (ERR_INTERNAL)",
    );
    const ok = await simulatePurchase({ world, lose });
    expect(ok.violations, describePurchase(ok)).toEqual([]);
    expect(ok.shopper?.phase).toBe('completed');
    expect(ok.trace.filter((l) => l.includes('S→M /semper/order'))).toHaveLength(2);
  });

  it('the oracle refuses a delivery-mismatch for a delivery that is what was offered', async () => {
    const cries: ShopperStepFn = async (state, event, ctx) => {
      const real = await stepShopper(state, event, ctx);
      if (real.state.phase !== 'completed') return real;
      const { outcome: _o, ...rest } = real.state;
      const error = { code: 'ERR_DELIVERY_MISMATCH', message: 'not what I wanted' };
      return { state: { ...rest, phase: 'delivery-mismatch', mismatches: [], error }, send: [], effects: [{ kind: 'failed', dealId: state.dealId, error }] };
    };
    const r = await simulatePurchase({ world, steps: { S: cries } });
    expect(r.violations, describePurchase(r)).toContain('mismatch: the shopper refused a delivery that is what the offer committed to');
  });

  it("a shopper that shows a replayed offer (verified against its own nonce, not the request's)", async () => {
    // First move: the network answers the offer request with the offer of an earlier deal.
    const schedule = { choices: [4], replay: true, replayPool: earlier };
    const r = await simulatePurchase({ world, ...schedule, steps: { S: trustsTheOffersNonce } });
    expect(
      r.trace.some((l) => l.includes('replayed by the network')),
      describePurchase(r),
    ).toBe(true);
    expect(r.violations, describePurchase(r)).toContainEqual(expect.stringMatching(/^shown: an offer the merchant did not issue for this deal and nonce/));
    const ok = await simulatePurchase({ world, ...schedule });
    expect(ok.violations, describePurchase(ok)).toEqual([]);
    expect(ok.shown).toBe(0);
    expect(ok.shopper?.phase === 'failed' && ok.shopper.error.code).toMatch(/^ERR_(REPLAY|NONCE_MISMATCH)$/);
    // Random schedules with a replaying network find it as well.
    const run = fc.check(
      fc.asyncProperty(scheduleChoices(), async (choices) => {
        const x = await simulatePurchase({ world, choices, replay: true, replayPool: earlier, steps: { S: trustsTheOffersNonce } });
        return x.violations.length === 0;
      }),
      { numRuns: 60, seed: 42, endOnFailure: true },
    );
    expect((await run).failed).toBe(true);
  });

  it('timeliness: a shopper that ignores failed requests is reported as not terminating', async () => {
    const r = await simulatePurchase({ world, steps: { S: ignoresTransportErrors }, lose: { requests: ['/semper/order'] } });
    expect(r.violations, describePurchase(r)).toContainEqual(expect.stringMatching(/^timeliness: the shopper did not terminate \(phase ordering\)/));
    const ok = await simulatePurchase({ world, lose: { requests: ['/semper/order'] } });
    expect(ok.violations).toEqual([]);
  });
});
