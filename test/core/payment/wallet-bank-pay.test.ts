/**
 * The wallet machine paying at the bank itself (the fair purchase's way): `pay` with `to: 'bank'`
 * sends the spends to /bank/deposit, the bank credits the payee's account and answers the payer
 * with its DepositAnswer; the wallet keeps the bank's semper.payment.proof. Against the real bank
 * (server/bank over Hono, in process); money is conserved after each test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../core/machine.js';
import { matchItem } from '../../../core/items/index.js';
import {
  balance,
  BANK_PATHS,
  cashWallet,
  type CoinSecret,
  decompose,
  type DenominationSet,
  prepareCoin,
  selectCoins,
  unblindLocally,
  type WalletContext,
  type WalletEvent,
  type WalletReply,
  type WalletSend,
  type WalletState,
} from '../../../core/payment/cash/index.js';
import { createBankApp } from '../../../server/bank/index.js';
import { closeCheckingInvariants, type Customer, CURRENCY, customer, dealId, openTestBank, T0, type TestBank } from './helpers.js';

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
  ctx = { random: seededRandom(11), denominations: set, accountSigner: alice.signer };
});

afterEach(() => closeCheckingInvariants(t));

async function post(send: WalletSend): Promise<WalletReply> {
  // The host's unblinding (a Node host does it itself).
  if (send.kind === 'unblind') return unblindLocally(send, set);
  expect(send.to).toBe('bank');
  const res = await app.request(send.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(send.body) });
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return res.ok ? { kind: 'response', body } : { kind: 'error', error: body.error!, status: res.status, body };
}

async function step(state: WalletState, event: WalletEvent) {
  return cashWallet.step(state, event, ctx);
}

/** A wallet holding coins of `values`, withdrawn from alice's account through the machine. */
async function walletWith(values: number[]): Promise<WalletState> {
  let state = (await cashWallet.start({ walletId: 'w' }, ctx)).state;
  const ids = decompose(set, { amount: values.reduce((a, b) => a + b, 0), currency: CURRENCY }, T0);
  const prepared: CoinSecret[] = await Promise.all(ids.map((id) => prepareCoin(set.byId.get(id)!)));
  const r = await step(state, { type: 'withdraw', now: T0, account: alice.account, prepared });
  const issued = await step(r.state, { type: 'reply', now: T0, sent: r.send[0]!, reply: await post(r.send[0]!) });
  state = (await step(issued.state, { type: 'reply', now: T0, sent: issued.send[0]!, reply: await post(issued.send[0]!) })).state;
  return state;
}

describe('wallet: paying at the bank', () => {
  it("sends the spends to the bank's /bank/deposit, which credits the payee; the wallet keeps the bank's proof", async () => {
    let state = await walletWith([500, 200]);
    const reference = dealId();
    const coinIds = selectCoins(state, set, { amount: 700, currency: CURRENCY }, T0)!;
    const r = await step(state, { type: 'pay', now: T0, coinIds, payee: shop.keyId, reference, to: 'bank' });
    expect(r.send).toHaveLength(1);
    expect(r.send[0]).toMatchObject({ kind: 'http', to: 'bank', path: BANK_PATHS.deposit });
    // Persisted before it leaves: the payment is pending with the very request.
    expect(cashWallet.pendingSends(r.state)).toEqual(r.send);
    const done = await step(r.state, { type: 'reply', now: T0, sent: r.send[0]!, reply: await post(r.send[0]!) });
    state = done.state;
    expect(state.pending).toEqual([]);
    expect(await t.bank.balance(shop.account)).toBe(700);
    expect(balance(state, set, T0, CURRENCY).amount).toBe(0);
    const paid = done.effects.find((e) => e.kind === 'paid');
    expect(paid).toMatchObject({ kind: 'paid', reference });
    const proof = paid?.kind === 'paid' ? paid.proof : undefined;
    expect(proof!.body).toEqual({ method: 'cash', value: { amount: 700, currency: CURRENCY }, payee: shop.keyId, reference });
    expect(done.effects.filter((e) => e.kind === 'archive').map((e) => (e.kind === 'archive' ? e.statement.type : ''))).toEqual([
      'semper.payment.proof',
      'semper.bank.deposit',
    ]);
    // The proof is what a fair exchange checks in a money item: this deal, this payee, this amount.
    const item = { kind: 'money' as const, method: 'cash' as const, value: { amount: 700, currency: CURRENCY }, proof: proof! };
    const description = {
      kind: 'money' as const,
      method: 'cash' as const,
      value: { amount: 700, currency: CURRENCY },
      payee: shop.keyId,
      reference,
      issuer: { keyId: set.bankKeyId },
    };
    expect(await matchItem(item, description, { roots: [], now: T0 })).toEqual({ ok: true });
    expect(await matchItem(item, { ...description, reference: dealId() }, { roots: [], now: T0 })).toMatchObject({ ok: false });
  });

  it('the answer lost: the same spends again get the same proof; the payee is credited once', async () => {
    const state = await walletWith([100, 100]);
    const reference = dealId();
    const coinIds = selectCoins(state, set, { amount: 200, currency: CURRENCY }, T0)!;
    const r = await step(state, { type: 'pay', now: T0, coinIds, payee: shop.keyId, reference, to: 'bank' });
    const first = await post(r.send[0]!); // the bank served it; the answer never came back
    const lost = await step(r.state, { type: 'reply', now: T0, sent: r.send[0]!, reply: { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'reset' } } });
    const due = cashWallet.wakeAt(lost.state)!;
    const again = await step(lost.state, { type: 'timeout', now: due });
    expect(again.send).toEqual(r.send);
    const second = await post(again.send[0]!);
    expect(second).toEqual(first);
    const done = await step(again.state, { type: 'reply', now: due, sent: again.send[0]!, reply: second });
    expect(done.state.coins.every((c) => c.status === 'spent' && c.spent?.by === 'payment')).toBe(true);
    expect(await t.bank.balance(shop.account)).toBe(200);
  });

  it('a coin the bank has seen: ERR_DOUBLE_SPEND with the proof in the error body; the coin is marked double-spent, the others are back', async () => {
    const state = await walletWith([100, 200]);
    // A copy of the wallet (a restored backup) pays with the 100 coin first.
    const hundred = state.coins.find((c) => c.value.amount === 100)!.coinId;
    const other = await step(state, { type: 'pay', now: T0, coinIds: [hundred], payee: shop.keyId, reference: dealId(), to: 'bank' });
    await step(other.state, { type: 'reply', now: T0, sent: other.send[0]!, reply: await post(other.send[0]!) });
    const reference = dealId();
    const r = await step(state, { type: 'pay', now: T0, coinIds: state.coins.map((c) => c.coinId), payee: shop.keyId, reference, to: 'bank' });
    const reply = await post(r.send[0]!);
    expect(reply).toMatchObject({ kind: 'error', status: 409, error: { code: 'ERR_DOUBLE_SPEND' } });
    const done = await step(r.state, { type: 'reply', now: T0, sent: r.send[0]!, reply });
    const coin = done.state.coins.find((c) => c.coinId === hundred)!;
    expect(coin).toMatchObject({ status: 'spent', spent: { by: 'double-spend' } });
    expect(coin.spent!.proof!.type).toBe('semper.cash.spend');
    expect(done.state.coins.find((c) => c.coinId !== hundred)).toMatchObject({ status: 'fresh', exposed: true });
    expect(done.effects.map((e) => e.kind)).toEqual(['archive', 'double-spent', 'failed']);
    expect(await t.bank.balance(shop.account)).toBe(100);
  });

  it("a proof for another payment is refused (the bank's answer must name this payee, deal and amount)", async () => {
    const state = await walletWith([200, 100]);
    const [a, b] = state.coins.map((c) => c.coinId);
    expect(b).toBeDefined();
    const one = await step(state, { type: 'pay', now: T0, coinIds: [a!], payee: shop.keyId, reference: dealId(), to: 'bank' });
    const other = await step(state, { type: 'pay', now: T0, coinIds: [b!], payee: shop.keyId, reference: dealId(), to: 'bank' });
    const otherAnswer = await post(other.send[0]!);
    await expect(step(one.state, { type: 'reply', now: T0, sent: one.send[0]!, reply: otherAnswer })).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
    // The right answer still settles it.
    const done = await step(one.state, { type: 'reply', now: T0, sent: one.send[0]!, reply: await post(one.send[0]!) });
    expect(done.state.pending).toEqual([]);
  });

  it('without `to`, a payment still goes to the merchant (its own path)', async () => {
    const state = await walletWith([100]);
    const r = await step(state, { type: 'pay', now: T0, coinIds: [state.coins[0]!.coinId], payee: shop.keyId, reference: dealId() });
    expect(r.send[0]).toMatchObject({ to: 'merchant', path: '/semper/cash/pay' });
    // Not sent anywhere: the coin stays locked in this state copy; nothing moved at the bank.
  });
});
