/**
 * The wallet machine against a real bank (server/bank over Hono, in process) and a small merchant:
 * withdraw, refresh (change), pay, refund, and the crash at each point — the host persists the
 * state after every step (JSON), and a restart resumes from what was persisted: no coin lost, no
 * second debit. A double-spend conflict marks the coin spent with the proof.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../core/encoding/index.js';
import { isSemperError } from '../../../core/errors.js';
import { seededRandom } from '../../../core/machine.js';
import {
  balance,
  cashPayment,
  cashWallet,
  coinsToRenew,
  type CoinSecret,
  CASH_TYPES,
  decompose,
  type DenominationSet,
  prepareCoin,
  selectCoins,
  type WalletContext,
  type WalletEffect,
  type WalletEvent,
  type WalletReply,
  type UnblindSend,
  unblindLocally,
  type WalletHttpSend,
  type WalletSend,
  type WalletState,
} from '../../../core/payment/cash/index.js';
import { signStatement, nowIso } from '../../../core/statements/index.js';
import { createBankApp } from '../../../server/bank/index.js';
import {
  closeCheckingInvariants,
  type Customer,
  CURRENCY,
  customer,
  DAY,
  dealId,
  openTestBank,
  signer,
  T0,
  type TestBank,
  withdrawalRequest,
} from './helpers.js';

let t: TestBank;
let alice: Customer;
let shop: Customer;
let app: ReturnType<typeof createBankApp>;
let set: DenominationSet;
let ctx: WalletContext;

beforeEach(async () => {
  t = await openTestBank();
  alice = await customer(t.bank, 2_000);
  shop = await customer(t.bank);
  app = createBankApp(t.bank, { signedStatementsPerMinute: 10_000 });
  set = await t.set();
  ctx = { random: seededRandom(7), denominations: set, accountSigner: alice.signer };
});

afterEach(() => closeCheckingInvariants(t));

async function toReply(res: Response): Promise<WalletReply> {
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return res.ok ? { kind: 'response', body } : { kind: 'error', error: body.error!, status: res.status, body };
}

const postBank = (path: string, body: unknown) =>
  app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The merchant: checks the spends, deposits them; refunds from its account to the shopper's blinded coins. */
async function merchant(send: WalletHttpSend, owed: { amount: number; reference: string }): Promise<WalletReply> {
  if (send.path === '/semper/cash/pay') {
    const api = cashPayment({ random: seededRandom(1), denominations: set });
    try {
      await api.receive(send.body, { amount: { amount: owed.amount, currency: CURRENCY }, payee: shop.keyId, reference: owed.reference, now: t.clock.now });
    } catch (e) {
      if (isSemperError(e)) return { kind: 'error', error: e.toJSON(), status: 403 };
      throw e;
    }
    return toReply(await postBank('/bank/deposit', send.body));
  }
  const body = send.body as { requestId: string; reference: string; coins: unknown[] };
  const request = await signStatement(
    {
      type: CASH_TYPES.refundRequest,
      version: 1,
      dealId: body.reference,
      issuedAt: nowIso(t.clock.now),
      body: { requestId: body.requestId, account: shop.account, reference: body.reference, coins: body.coins } as never,
    },
    shop.signer,
  );
  return toReply(await postBank('/bank/refund', { request }));
}

/** The host's side of a send: the bank, the merchant, or the unblinding (a Node host unblinds itself). */
async function deliver(send: WalletSend, owed = { amount: 0, reference: '' }): Promise<WalletReply> {
  if (send.kind === 'unblind') return unblindLocally(send, set);
  return send.to === 'bank' ? toReply(await postBank(send.path, send.body)) : merchant(send, owed);
}

/** A host that persists after every step (as JSON text) and can be "killed" between any two lines. */
class Host {
  stored: string;
  effects: WalletEffect[] = [];
  constructor(state: WalletState) {
    this.stored = JSON.stringify(state);
  }
  get state(): WalletState {
    return JSON.parse(this.stored) as WalletState;
  }
  async step(event: WalletEvent, c: WalletContext = ctx): Promise<WalletSend[]> {
    const r = await cashWallet.step(this.state, event, c);
    this.stored = JSON.stringify(r.state);
    this.effects.push(...r.effects);
    return r.send;
  }
  async run(event: WalletEvent, owed?: { amount: number; reference: string }): Promise<void> {
    await this.settle(await this.step(event), owed);
  }
  /** Deliver `sends` and every send their replies lead to (a bank's receipt leads to the unblinding). */
  async settle(sends: WalletSend[], owed?: { amount: number; reference: string }): Promise<void> {
    for (const send of sends) await this.settle(await this.step({ type: 'reply', now: t.clock.now, sent: send, reply: await deliver(send, owed) }), owed);
  }
}

async function newHost(): Promise<Host> {
  return new Host((await cashWallet.start({ walletId: 'w1' }, ctx)).state);
}

const prepare = (values: number[]): Promise<CoinSecret[]> =>
  Promise.all(decompose(set, { amount: values.reduce((a, b) => a + b, 0), currency: CURRENCY }, t.clock.now).map((id) => prepareCoin(set.byId.get(id)!)));

describe('wallet: withdraw', () => {
  it('withdraws, keeping the blinding secrets in the state before the request leaves', async () => {
    const host = await newHost();
    const prepared = await prepare([800]);
    const [send] = await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared });
    // Persisted before sending: the pending operation with every secret needed to finish it.
    expect(host.state.pending).toHaveLength(1);
    expect(host.state.pending[0]).toMatchObject({ kind: 'withdrawal', requestId: send!.requestId, secrets: prepared });
    expect(JSON.stringify(host.state)).toContain(prepared[0]!.inv);
    expect(cashWallet.pendingSends(host.state)).toEqual([send]);
    // The bank's receipt is recorded, and the unblinding asked of the host (persisted first, too).
    const [unblind] = await host.step({ type: 'reply', now: T0, sent: send!, reply: await deliver(send!) });
    expect(unblind).toMatchObject({ kind: 'unblind', requestId: send!.requestId });
    expect(cashWallet.pendingSends(host.state)).toEqual([unblind]);
    expect(host.state.coins).toEqual([]);
    await host.step({ type: 'reply', now: T0, sent: unblind!, reply: await deliver(unblind!) });
    expect(host.state.pending).toEqual([]);
    expect(balance(host.state, set, T0, CURRENCY)).toEqual({ amount: 800, currency: CURRENCY });
    expect(await t.bank.balance(alice.account)).toBe(1_200);
    expect(host.effects.map((e) => e.kind)).toEqual(['archive', 'coins-added']);
  });

  it('takes its request id from ctx.random, and a reply step is deterministic', async () => {
    const host = await newHost();
    const [send] = await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([100]) });
    expect(send!.requestId).toBe(seededRandom(7).id(16));
    const reply = await deliver(send!);
    const event: WalletEvent = { type: 'reply', now: T0, sent: send!, reply };
    const a = await cashWallet.step(host.state, event, ctx);
    const b = await cashWallet.step(host.state, event, ctx);
    expect(canonicalJson(a.state)).toBe(canonicalJson(b.state));
  });

  it('killed after persisting, before sending: the restart sends the pending request; one debit', async () => {
    const host = await newHost();
    await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([500]) });
    // Restart: a new host object from the stored text only.
    const restarted = new Host(host.state);
    await restarted.settle(cashWallet.pendingSends(restarted.state));
    expect(balance(restarted.state, set, T0, CURRENCY).amount).toBe(500);
    expect(await t.bank.balance(alice.account)).toBe(1_500);
  });

  it('killed after the bank served it, before the answer was stored: the same request again finishes it; one debit', async () => {
    const host = await newHost();
    const [send] = await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([200]) });
    await deliver(send!); // served by the bank, the answer lost with the worker
    expect(await t.bank.balance(alice.account)).toBe(1_800);
    const restarted = new Host(host.state);
    const [again] = cashWallet.pendingSends(restarted.state);
    expect(again).toEqual(send);
    await restarted.settle([again!]);
    expect(balance(restarted.state, set, T0, CURRENCY).amount).toBe(200);
    expect(await t.bank.balance(alice.account)).toBe(1_800);
  });

  it('no answer: retried at wakeAt with the same request; a duplicated late answer moves nothing', async () => {
    const host = await newHost();
    const [send] = await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([100]) });
    await host.step({ type: 'reply', now: T0, sent: send!, reply: { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'connection reset' } } });
    const wake = cashWallet.wakeAt(host.state);
    expect(wake).toBe(T0 + 5_000);
    expect(await host.step({ type: 'timeout', now: wake! - 1 })).toEqual([]);
    const [retry] = await host.step({ type: 'timeout', now: wake! });
    expect(retry).toEqual(send);
    const reply = await deliver(retry!);
    await host.settle(await host.step({ type: 'reply', now: wake!, sent: retry!, reply }));
    const settled = host.stored;
    await host.step({ type: 'reply', now: wake!, sent: retry!, reply });
    expect(host.stored).toBe(settled);
    expect(balance(host.state, set, T0, CURRENCY).amount).toBe(100);
  });

  it('refuses an answer the bank did not sign and a forged blind signature, keeping the operation pending', async () => {
    const host = await newHost();
    const [send] = await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([100]) });
    const reply = (await deliver(send!)) as Extract<WalletReply, { kind: 'response' }>;
    const receipt = (reply.body as { receipt: { body: Record<string, unknown> } }).receipt;
    const mallory = await signer();
    const { signature: _, ...unsigned } = receipt as never as { signature: unknown } & Record<string, unknown>;
    const forged = await signStatement(unsigned as never, mallory);
    await expect(
      cashWallet.step(host.state, { type: 'reply', now: T0, sent: send!, reply: { kind: 'response', body: { receipt: forged } } }, ctx),
    ).rejects.toMatchObject({
      code: 'ERR_CERT_UNTRUSTED',
    });
    // A bank-signed receipt whose blind signature is not over our blinded message (another coin's).
    const other = await prepare([100]);
    const otherAnswer = await t.bank.withdraw(await withdrawalRequest(alice, other));
    const mixed = await signStatement(
      {
        ...(unsigned as never as { type: string; version: 1; dealId: string; issuedAt: string }),
        body: { ...receipt.body, blindSignatures: (otherAnswer.receipt.body as { blindSignatures: string[] }).blindSignatures },
      },
      t.bank.signer,
    );
    // The receipt itself checks out (the bank signed it for this request); its unblinding does not.
    const issued = await cashWallet.step(host.state, { type: 'reply', now: T0, sent: send!, reply: { kind: 'response', body: { receipt: mixed } } }, ctx);
    const unblind = issued.send[0] as UnblindSend;
    await expect(cashWallet.step(issued.state, { type: 'reply', now: T0, sent: unblind, reply: await deliver(unblind) }, ctx)).rejects.toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
    });
    expect(issued.state.pending).toHaveLength(1);
    expect(issued.state.coins).toEqual([]);
  });

  it('killed between the unblinding request and its answer: the restart unblinds again, and the coins withdrawn are kept once', async () => {
    const host = await newHost();
    const prepared = await prepare([500, 200]);
    const [send] = await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared });
    const bankReply = await deliver(send!);
    const [unblind] = await host.step({ type: 'reply', now: T0, sent: send!, reply: bankReply });
    const lostAnswer = await deliver(unblind!); // unblinded, the answer lost with the worker
    // Restart from the stored text only: the same unblinding is asked for again.
    const restarted = new Host(host.state);
    expect(cashWallet.pendingSends(restarted.state)).toEqual([unblind]);
    await restarted.settle(cashWallet.pendingSends(restarted.state));
    const kept = restarted.stored;
    // The lost answer arriving late, and the bank's answer again: neither moves anything.
    await restarted.step({ type: 'reply', now: T0, sent: unblind!, reply: lostAnswer });
    await restarted.step({ type: 'reply', now: T0, sent: send!, reply: bankReply });
    expect(restarted.stored).toBe(kept);
    expect(restarted.state.coins.map((c) => c.coinId).sort()).toEqual(prepared.map((p) => p.coinId).sort());
    expect(restarted.state.pending).toEqual([]);
    expect(balance(restarted.state, set, T0, CURRENCY).amount).toBe(700);
    expect(await t.bank.balance(alice.account)).toBe(1_300);
    expect(restarted.effects.filter((e) => e.kind === 'coins-added')).toHaveLength(1);
  });

  it("refuses a host's unblinding with a coin the denomination did not sign, keeping nothing; a failed unblinding is asked again", async () => {
    const host = await newHost();
    const prepared = await prepare([100]);
    const [send] = await host.step({ type: 'withdraw', now: T0, account: alice.account, prepared });
    const [unblind] = (await host.step({ type: 'reply', now: T0, sent: send!, reply: await deliver(send!) })) as UnblindSend[];
    const issued = host.stored;
    // A valid bank signature, but over another coin's message (a second withdrawal's, unblinded).
    const [p2] = await prepare([100]);
    const answer = await t.bank.withdraw(await withdrawalRequest(alice, [p2!]));
    const blindSignature = (answer.receipt.body as { blindSignatures: string[] }).blindSignatures[0]!;
    const other = (await unblindLocally({ kind: 'unblind', requestId: 'other', coins: [{ ...p2!, blindSignature }] }, set)) as Extract<
      WalletReply,
      { kind: 'response' }
    >;
    const wrong = [other.body, { signatures: [`${'A'.repeat(341)}Q`] }];
    for (const body of wrong) {
      await expect(host.step({ type: 'reply', now: T0, sent: unblind!, reply: { kind: 'response', body } })).rejects.toMatchObject({
        code: 'ERR_SIGNATURE_INVALID',
      });
      expect(host.stored).toBe(issued);
    }
    await expect(host.step({ type: 'reply', now: T0, sent: unblind!, reply: { kind: 'response', body: { signatures: [] } } })).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
    });
    // The task did not run: the same unblinding again at wakeAt.
    await host.step({
      type: 'reply',
      now: T0,
      sent: unblind!,
      reply: { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'offscreen document closed' } },
    });
    const wake = cashWallet.wakeAt(host.state)!;
    expect(wake).toBe(T0 + 5_000);
    const [again] = await host.step({ type: 'timeout', now: wake });
    expect(again).toEqual(unblind);
    await host.settle([again!]);
    expect(host.state.coins.map((c) => c.coinId)).toEqual([prepared[0]!.coinId]);
    expect(balance(host.state, set, T0, CURRENCY).amount).toBe(100);
  });

  it('refuses prepared coins of a denomination that does not issue, changing nothing', async () => {
    const host = await newHost();
    const before = host.stored;
    const prepared = await prepare([100]);
    await expect(host.step({ type: 'withdraw', now: T0 + 31 * DAY, account: alice.account, prepared })).rejects.toMatchObject({ code: 'ERR_DENOMINATION' });
    expect(host.stored).toBe(before);
  });

  it('a refusal by the bank ends the operation (nothing was taken)', async () => {
    const host = await newHost();
    const poor: WalletContext = { ...ctx, accountSigner: shop.signer };
    const sends = await host.step({ type: 'withdraw', now: T0, account: shop.account, prepared: await prepare([100]) }, poor);
    await host.step({ type: 'reply', now: T0, sent: sends[0]!, reply: await deliver(sends[0]!) }, poor);
    expect(host.state.pending).toEqual([]);
    expect(host.effects.at(-1)).toMatchObject({ kind: 'failed', operation: 'withdrawal', error: { code: 'ERR_INSUFFICIENT_FUNDS' } });
  });
});

describe('wallet helpers', () => {
  it('coinsToRenew names coins near their spendUntil; decompose refuses what the denominations cannot make', async () => {
    const host = await newHost();
    await host.run({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([300]) });
    const d = set.byId.get(host.state.coins[0]!.coin.denominationId)!;
    expect(coinsToRenew(host.state, set, d.spendUntil - 10 * DAY, DAY)).toEqual([]);
    expect(coinsToRenew(host.state, set, d.spendUntil - DAY / 2, DAY).sort()).toEqual(host.state.coins.map((c) => c.coinId).sort());
    expect(() => decompose(set, { amount: 150, currency: CURRENCY }, T0)).toThrow(expect.objectContaining({ code: 'ERR_DENOMINATION' }));
    expect(decompose(set, { amount: 800, currency: CURRENCY }, T0).map((id) => set.byId.get(id)!.value.amount)).toEqual([500, 200, 100]);
  });
});

describe('wallet: refresh, pay, refund, conflicts', () => {
  it('makes change by refresh, pays exactly, and the payment proof settles it', async () => {
    const host = await newHost();
    await host.run({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([500]) });
    const deal = dealId();
    const price = { amount: 300, currency: CURRENCY };
    expect(selectCoins(host.state, set, price, T0)).toBeNull();
    const big = host.state.coins.find((c) => c.status === 'fresh')!;
    const change = await Promise.all([200, 200, 100].map((v) => prepareCoin([...set.byId.values()].find((d) => d.value.amount === v)!)));
    await host.run({ type: 'refresh', now: T0, coinIds: [big.coinId], prepared: change });
    expect(host.state.coins.find((c) => c.coinId === big.coinId)).toMatchObject({ status: 'spent', spent: { by: 'refresh' } });
    const coinIds = selectCoins(host.state, set, price, T0)!;
    expect(coinIds).toHaveLength(2);
    await host.run({ type: 'pay', now: T0, coinIds, payee: shop.keyId, reference: deal }, { amount: 300, reference: deal });
    expect(host.effects.at(-1)).toMatchObject({ kind: 'paid', reference: deal });
    const api = cashPayment(ctx);
    expect(api.status(host.state, deal).phase).toBe('settled');
    expect(balance(host.state, set, T0, CURRENCY).amount).toBe(200);
    expect(await t.bank.balance(shop.account)).toBe(300);
  });

  it('a coin spent elsewhere (a restored backup paid with it): the refresh gets ERR_DOUBLE_SPEND and marks it spent, the other coin stays', async () => {
    const host = await newHost();
    await host.run({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([200, 100]) });
    const backup = new Host(host.state);
    const [c200, c100] = [...host.state.coins].sort((a, b) => b.value.amount - a.value.amount);
    const deal = dealId();
    await backup.run({ type: 'pay', now: T0, coinIds: [c200!.coinId], payee: shop.keyId, reference: deal }, { amount: 200, reference: deal });
    const prepared = await Promise.all([100, 100, 100].map((v) => prepareCoin([...set.byId.values()].find((d) => d.value.amount === v)!)));
    await host.run({ type: 'refresh', now: T0, coinIds: [c200!.coinId, c100!.coinId], prepared });
    const after = host.state.coins;
    expect(after.find((c) => c.coinId === c200!.coinId)).toMatchObject({ status: 'spent', spent: { by: 'double-spend', reference: deal } });
    expect(after.find((c) => c.coinId === c100!.coinId)).toMatchObject({ status: 'fresh' });
    expect(host.effects.some((e) => e.kind === 'double-spent' && e.coinId === c200!.coinId)).toBe(true);
    expect(host.state.pending).toEqual([]);
  });

  it('a payment with a coin a restored backup already paid: the merchant forwards ERR_DOUBLE_SPEND, the coin is marked spent with the proof', async () => {
    const host = await newHost();
    await host.run({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([200]) });
    const coin = host.state.coins[0]!;
    const backup = new Host(host.state);
    const first = dealId();
    await backup.run({ type: 'pay', now: T0, coinIds: [coin.coinId], payee: shop.keyId, reference: first }, { amount: 200, reference: first });
    const second = dealId();
    const [send] = await host.step({ type: 'pay', now: T0, coinIds: [coin.coinId], payee: shop.keyId, reference: second });
    expect(cashPayment(ctx).status(host.state, second).phase).toBe('sent');
    const reply = await deliver(send!, { amount: 200, reference: second });
    expect(reply).toMatchObject({ kind: 'error', status: 409, error: { code: 'ERR_DOUBLE_SPEND' } });
    // A forged proof (a spend by another coin) is refused and changes nothing.
    const forged = { ...(reply as { body: Record<string, unknown> }).body, coinId: 'Z'.repeat(43) };
    await expect(
      cashWallet.step(host.state, { type: 'reply', now: T0, sent: send!, reply: { ...reply, body: forged } as WalletReply }, ctx),
    ).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
    await host.step({ type: 'reply', now: T0, sent: send!, reply });
    expect(host.state.coins[0]).toMatchObject({ status: 'spent', spent: { by: 'double-spend', reference: first } });
    expect(host.effects.at(-1)).toMatchObject({ kind: 'failed', operation: 'payment', error: { code: 'ERR_DOUBLE_SPEND' } });
    expect(await t.bank.balance(shop.account)).toBe(200);
  });

  it('a payment the merchant refuses leaves its coins exposed: they must be refreshed before paying again', async () => {
    const host = await newHost();
    await host.run({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([100]) });
    const coin = host.state.coins[0]!;
    const deal = dealId();
    // The merchant wants 200 for this deal.
    await host.run({ type: 'pay', now: T0, coinIds: [coin.coinId], payee: shop.keyId, reference: deal }, { amount: 200, reference: deal });
    expect(host.state.coins[0]).toMatchObject({ status: 'fresh', exposed: true });
    await expect(host.step({ type: 'pay', now: T0, coinIds: [coin.coinId], payee: shop.keyId, reference: dealId() })).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
    await host.run({ type: 'refresh', now: T0, coinIds: [coin.coinId], prepared: await prepare([100]) });
    expect(balance(host.state, set, T0, CURRENCY).amount).toBe(100);
  });

  it('a refund arrives as fresh coins the merchant never saw unblinded', async () => {
    const host = await newHost();
    await host.run({ type: 'withdraw', now: T0, account: alice.account, prepared: await prepare([500]) });
    const deal = dealId();
    await host.run({ type: 'pay', now: T0, coinIds: [host.state.coins[0]!.coinId], payee: shop.keyId, reference: deal }, { amount: 500, reference: deal });
    const prepared = await prepare([200]);
    await host.run({ type: 'refund', now: T0, reference: deal, prepared });
    expect(host.effects.at(-1)).toMatchObject({ kind: 'coins-added', operation: 'refund' });
    expect(balance(host.state, set, T0, CURRENCY).amount).toBe(200);
    expect(await t.bank.balance(shop.account)).toBe(300);
  });
});
