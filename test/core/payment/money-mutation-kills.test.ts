/**
 * Attacks on the payment modules' checks that no other test made (test/mutation/money.ts: each of
 * these fails when its check is removed). The attacker holds valid keys, signs what he likes and
 * picks every field; the checks are core's own (payee, wallet, payer).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { jwkThumbprint, type PublicJwk } from '../../../core/crypto/jwk.js';
import type { Signer } from '../../../core/crypto/keys.js';
import { seededRandom } from '../../../core/machine.js';
import {
  CASH_TYPES,
  cashPayment,
  cashWallet,
  coinIdOf,
  coinSigningKey,
  newCoinKey,
  type WalletContext,
  type WalletHttpSend,
  type WalletState,
  type DenominationSet,
  finalizeCoin,
  prepareCoin,
  SPEND_TYPE,
  type SpendableCoin,
  signSpend,
  verifyDenominationList,
  verifySpend,
} from '../../../core/payment/cash/index.js';
import { ACCOUNT_TYPES, verifyTransferAnswer } from '../../../core/payment/account/index.js';
import { CARD_TYPES, verifyCardAnswer, verifyCardRefundAnswer } from '../../../core/payment/card/index.js';
import { CHEQUE_TYPES, cheque, verifyCheque, verifyClearing } from '../../../core/payment/cheque/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { digestJson } from '../../../core/encoding/index.js';
import { PAYMENT_PROOF_TYPE } from '../../../core/items/schema.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { CURRENCY, fixtureDenomination, signer, signKeyList, T0, refusalCode } from './helpers.js';

const code = refusalCode;

let set: DenominationSet;
let bankKey: Signer;
let coins: SpendableCoin[];
const payee = 'P'.repeat(43);
const deal = 'deal-money-kills-1';
const value = { amount: 100, currency: CURRENCY };

beforeAll(async () => {
  const a = await fixtureDenomination(2, 100);
  const bank = await signer();
  bankKey = bank;
  set = await verifyDenominationList(await signKeyList(bank, [a.denomination]), { bankKeyId: bank.keyId });
  coins = [];
  for (let i = 0; i < 3; i++) {
    const secret = await prepareCoin(set.byId.get(a.denomination.id)!);
    coins.push({ coin: await finalizeCoin(secret, a.blindSign(secret.blindedMsg), set.byId.get(a.denomination.id)!), privateJwk: secret.privateJwk });
  }
});

/** The coin's own key as a statement signer: the holder signs whatever spend he likes. */
async function coinSigner(c: SpendableCoin): Promise<Signer> {
  const key = await coinSigningKey(c.privateJwk);
  const publicJwk = c.coin.publicJwk as PublicJwk;
  return {
    alg: 'ES256',
    publicJwk,
    keyId: await jwkThumbprint(publicJwk),
    sign: async (data) => new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data)),
  };
}

describe('spends (money mutation kills)', () => {
  it("a spend whose dealId is another deal than its reference (the holder's statement for deal A shown as paying deal B) is refused", async () => {
    const spend = await signStatement(
      { type: SPEND_TYPE, version: 1, dealId: 'deal-money-kills-2', issuedAt: nowIso(T0), body: { coin: coins[0]!.coin, value, payee, reference: deal } },
      await coinSigner(coins[0]!),
    );
    expect(await code(verifySpend(spend, { denominations: set, now: T0, use: 'spend', payee, reference: deal }))).toBe('ERR_SCHEMA');
  });

  it("a spend of someone else's coin signed with the spender's own key (a merchant re-spending a coin it saw) is refused", async () => {
    const mallory = await signer();
    const stolen = await signStatement(
      { type: SPEND_TYPE, version: 1, dealId: deal, issuedAt: nowIso(T0), body: { coin: coins[2]!.coin, value, payee: mallory.keyId, reference: deal } },
      mallory,
    );
    expect(await code(verifySpend(stolen, { denominations: set, now: T0, use: 'deposit', payee: mallory.keyId, reference: deal }))).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it("a coin minted by copying another coin's bank signature onto a fresh key is refused", async () => {
    const key = await newCoinKey();
    const forged = { ...coins[2]!.coin, publicJwk: key.publicJwk };
    const spend = await signSpend({ coin: forged, privateJwk: key.privateJwk }, value, { payee, reference: deal, now: T0 });
    expect(await code(verifySpend(spend, { denominations: set, now: T0, use: 'spend', payee, reference: deal }))).toBe('ERR_SIGNATURE_INVALID');
  });

  it('the cash driver counts no coin of another currency: 100 CHF of coins do not pay 100 EUR owed', async () => {
    const api = cashPayment({ random: seededRandom(1), denominations: set });
    const spend = await signSpend(coins[1]!, value, { payee, reference: deal, now: T0 });
    const owed = { amount: { amount: 100, currency: 'EUR' }, payee, reference: deal, now: T0 };
    expect(await code(api.receive({ spends: [spend] }, owed))).toBe('ERR_ITEM_MISMATCH');
  });
});

/**
 * A receipt and a payment proof signed by the issuer's own key (a bank or a card operator), the
 * receipt naming the proof's digest: what an issuer that pairs the wrong proof with a receipt (or
 * whoever holds such a pair) hands a payee. The verifiers must check the proof itself, not trust the pairing.
 */
async function issuerAnswer(issuer: Signer, receiptType: string, receipt: Record<string, unknown>, proof: Record<string, unknown>, dealId: string) {
  const sign = deviceKeySigner(issuer);
  const p = await sign({ type: PAYMENT_PROOF_TYPE, version: 1, dealId, issuedAt: nowIso(T0), body: proof });
  const r = await sign({ type: receiptType, version: 1, dealId, issuedAt: nowIso(T0), body: { ...receipt, proof: await digestJson(p) } });
  return { receipt: r, proof: p };
}

const RID = 'r'.repeat(22);
const chf = (amount: number) => ({ amount, currency: CURRENCY });
/** A bank's transfer receipt of 500 CHF for this deal, without the proof digest issuerAnswer adds. */
const transferReceipt = () => ({
  transferId: RID,
  requestId: RID,
  order: 'O'.repeat(43),
  payerAccount: 'account-a',
  payeeAccount: 'account-b',
  payee,
  amount: chf(500),
  reference: deal,
});

describe("issuers' answers that contradict themselves (money mutation kills)", () => {
  it('a transfer answer whose proof is a cash proof (same payee, deal, amount) is not an account transfer', async () => {
    const bank = await signer();
    const answer = await issuerAnswer(
      bank,
      ACCOUNT_TYPES.transferReceipt,
      transferReceipt(),
      { method: 'cash', value: chf(500), payee, reference: deal },
      deal,
    );
    const e = await code(verifyTransferAnswer(answer, { bankKeyId: bank.keyId, payee, reference: deal, amount: chf(500) }));
    expect(e).toBe('ERR_ITEM_MISMATCH');
  });

  it('a transfer receipt paired with the proof of a twin transfer (same payee, deal and amount, another order) is refused', async () => {
    const bank = await signer();
    const receiptBody = transferReceipt();
    const proofBody = { method: 'account', value: chf(500), payee, reference: deal };
    const first = await issuerAnswer(bank, ACCOUNT_TYPES.transferReceipt, receiptBody, proofBody, deal);
    // The twin's proof differs only in when it was issued: the receipt names the first.
    const twinProof = (await deviceKeySigner(bank)({
      type: PAYMENT_PROOF_TYPE,
      version: 1,
      dealId: deal,
      issuedAt: nowIso(T0 + 1000),
      body: proofBody,
    })) as Statement;
    const mixed = { receipt: first.receipt, proof: twinProof };
    expect(await code(verifyTransferAnswer(first, { bankKeyId: bank.keyId, payee, reference: deal, amount: chf(500) }))).toBe('accepted');
    expect(await code(verifyTransferAnswer(mixed, { bankKeyId: bank.keyId, payee, reference: deal, amount: chf(500) }))).toBe('ERR_ITEM_MISMATCH');
  });

  it('a card answer whose proof is an account proof (same payee, deal, amount) is not a card payment', async () => {
    const operator = await signer();
    const answer = await issuerAnswer(
      operator,
      CARD_TYPES.receipt,
      { requestId: RID, acquirer: 'acq', intentId: 'pi_0123456789abcdef', payee, amount: chf(1250), reference: deal, refundableUntil: T0 + 1000 },
      { method: 'account', value: chf(1250), payee, reference: deal },
      deal,
    );
    expect(await code(verifyCardAnswer(answer, { operatorKeyId: operator.keyId, payee, reference: deal, amount: chf(1250) }))).toBe('ERR_ITEM_MISMATCH');
  });

  it("a card refund receipt is taken only from the operator, for this payment's request, deal and whole amount", async () => {
    const operator = await signer();
    const stranger = await signer();
    const body = {
      requestId: RID,
      intentId: 'pi_0123456789abcdef',
      refundId: 're_0123456789abcdef',
      reference: deal,
      amount: chf(1250),
      order: 'O'.repeat(43),
    };
    const receiptBy = async (who: Signer, over: Record<string, unknown> = {}) => ({
      receipt: await deviceKeySigner(who)({ type: CARD_TYPES.refundReceipt, version: 1, dealId: deal, issuedAt: nowIso(T0), body: { ...body, ...over } }),
    });
    const expected = { operatorKeyId: operator.keyId, requestId: RID, reference: deal, amount: chf(1250) };
    expect(await code(verifyCardRefundAnswer(await receiptBy(operator), expected))).toBe('accepted');
    expect(await code(verifyCardRefundAnswer(await receiptBy(stranger), expected))).toBe('ERR_FORBIDDEN');
    expect(await code(verifyCardRefundAnswer(await receiptBy(operator, { requestId: 's'.repeat(22) }), expected))).toBe('ERR_ITEM_MISMATCH');
    expect(await code(verifyCardRefundAnswer(await receiptBy(operator, { amount: chf(1) }), expected))).toBe('ERR_ITEM_MISMATCH');
  });

  it("a cheque whose dealId is another deal than its reference (the drawer's statement for deal A shown as paying deal B) is refused", async () => {
    const drawer = await signer();
    const unsigned = cheque({ drawer: 'account-a', serial: 'serial-2', payee, amount: chf(700), reference: deal, expiresAt: T0 + 1000, now: T0 });
    const signed = await deviceKeySigner(drawer)({ ...unsigned, dealId: 'deal-money-kills-other' });
    expect(await code(verifyCheque(signed, { payee, reference: deal, amount: chf(700), now: T0 }))).toBe('ERR_SCHEMA');
    expect(await code(verifyCheque(await deviceKeySigner(drawer)(unsigned), { payee, reference: deal, amount: chf(700), now: T0 }))).toBe('accepted');
  });

  it('a clearing of this cheque whose proof names another payee, deal, amount or method does not settle it', async () => {
    const bank = await signer();
    const drawer = await signer();
    const signed = (await deviceKeySigner(drawer)(
      cheque({ drawer: 'account-a', serial: 'serial-1', payee, amount: chf(700), reference: deal, expiresAt: T0 + 1000, now: T0 }),
    )) as Statement;
    const clearing = {
      clearingId: RID,
      drawer: 'account-a',
      serial: 'serial-1',
      cheque: await digestJson(signed),
      payee,
      payeeAccount: 'account-b',
      amount: chf(700),
      reference: deal,
    };
    const honest = { method: 'cheque', value: chf(700), payee, reference: deal };
    const ok = await issuerAnswer(bank, CHEQUE_TYPES.clearing, clearing, honest, deal);
    expect(await code(verifyClearing(ok, { bankKeyId: bank.keyId, cheque: signed }))).toBe('accepted');
    for (const over of [{ payee: 'Q'.repeat(43) }, { reference: 'deal-money-kills-9' }, { value: chf(70_000) }, { method: 'cash' }]) {
      const wrong = await issuerAnswer(bank, CHEQUE_TYPES.clearing, clearing, { ...honest, ...over }, deal);
      expect(await code(verifyClearing(wrong, { bankKeyId: bank.keyId, cheque: signed }))).toBe('ERR_ITEM_MISMATCH');
    }
  });
});

describe('the wallet refuses (money mutation kills)', () => {
  const ctx = (): WalletContext => ({ random: seededRandom(5), denominations: set });

  async function walletWithCoins(): Promise<WalletState> {
    return {
      walletId: 'w-kills',
      coins: await Promise.all(
        coins.map(async (c) => ({ coinId: await coinIdOf(c.coin), coin: c.coin, privateJwk: c.privateJwk, value, status: 'fresh' as const })),
      ),
      pending: [],
    };
  }

  /** The wallet pays coin 0 to `payee` for `deal`: the state with the payment pending, and what it sent. */
  async function paying() {
    const state = await walletWithCoins();
    const r = await cashWallet.step(state, { type: 'pay', now: T0, coinIds: [state.coins[0]!.coinId], payee, reference: deal }, ctx());
    return { state: r.state, sent: r.send[0] as WalletHttpSend };
  }

  /** The bank's deposit answer for the payment, signed by `by` (receipt and proof), the receipt naming `proofDigest` if given. */
  async function depositAnswer(sent: WalletHttpSend, o: { proofBy?: Signer; receiptBy?: Signer; proofDigest?: string; proof?: Record<string, unknown> } = {}) {
    const proof = (await deviceKeySigner(o.proofBy ?? bankKey)({
      type: PAYMENT_PROOF_TYPE,
      version: 1,
      dealId: deal,
      issuedAt: nowIso(T0),
      body: { method: 'cash', value, payee, reference: deal, ...o.proof },
    })) as Statement;
    const spends = (sent.body as { spends: Statement[] }).spends;
    const receipt = await deviceKeySigner(o.receiptBy ?? bankKey)({
      type: CASH_TYPES.deposit,
      version: 1,
      dealId: deal,
      issuedAt: nowIso(T0),
      body: {
        depositId: RID,
        account: 'account-shop',
        payee,
        reference: deal,
        value,
        spends: await Promise.all(spends.map((x) => digestJson(x))),
        proof: o.proofDigest ?? (await digestJson(proof)),
      },
    });
    return { receipt, proof };
  }

  const reply = (state: WalletState, sent: WalletHttpSend, body: unknown) =>
    cashWallet.step(state, { type: 'reply', now: T0, sent, reply: { kind: 'response', body } }, ctx());

  it('a payment settled with a proof signed by someone other than its bank (the merchant forging the bank) is refused', async () => {
    const { state, sent } = await paying();
    expect(await code(reply(state, sent, await depositAnswer(sent)))).toBe('accepted');
    expect(await code(reply(state, sent, await depositAnswer(sent, { proofBy: await signer() })))).toBe('ERR_CERT_UNTRUSTED');
  });

  it("a bank's proof of another payment (another deal, payee, value or method) does not settle this one", async () => {
    const { state, sent } = await paying();
    for (const proof of [
      { reference: 'deal-money-kills-other' },
      { payee: 'Q'.repeat(43) },
      { value: { amount: 200, currency: CURRENCY } },
      { method: 'account' },
    ]) {
      expect(await code(reply(state, sent, await depositAnswer(sent, { proof })))).toBe('ERR_ITEM_MISMATCH');
    }
  });

  it('a deposit receipt kept as evidence must be signed by the bank', async () => {
    const { state, sent } = await paying();
    expect(await code(reply(state, sent, await depositAnswer(sent, { receiptBy: await signer() })))).toBe('ERR_CERT_UNTRUSTED');
  });

  it("a deposit receipt naming another proof (the bank's receipt of another deposit kept with this proof) is refused", async () => {
    const { state, sent } = await paying();
    expect(await code(reply(state, sent, await depositAnswer(sent, { proofDigest: 'D'.repeat(43) })))).toBe('ERR_ITEM_MISMATCH');
  });

  const doubleSpent = (state: WalletState, sent: WalletHttpSend, coinId: string, proof: unknown) =>
    cashWallet.step(
      state,
      {
        type: 'reply',
        now: T0,
        sent,
        reply: {
          kind: 'error',
          error: { code: 'ERR_DOUBLE_SPEND', message: 'spent before' },
          status: 409,
          body: { error: { code: 'ERR_DOUBLE_SPEND', message: 'spent before' }, coinId, proof },
        },
      },
      ctx(),
    );

  it("a merchant answering the payment's own spend as a double-spend proof (to keep the coin and void the payment) is refused", async () => {
    const { state, sent } = await paying();
    const own = (sent.body as { spends: Statement[] }).spends[0]!;
    expect(await code(doubleSpent(state, sent, state.coins[0]!.coinId, own))).toBe('ERR_PROTOCOL_STATE');
  });

  it('a double-spend proof for another coin of the wallet (a genuine spend of coin 1 elsewhere) marks nothing: that coin was not in this payment', async () => {
    const { state, sent } = await paying();
    const elsewhere = await signSpend(coins[1]!, value, { payee: 'Q'.repeat(43), reference: 'deal-money-kills-elsewhere', now: T0 });
    expect(await code(doubleSpent(state, sent, state.coins[1]!.coinId, elsewhere))).toBe('ERR_PROTOCOL_STATE');
  });

  it('a refresh into coins of another total than it spends is not asked for', async () => {
    const state = await walletWithCoins();
    const d = set.byId.get(coins[0]!.coin.denominationId)!;
    const prepared = [await prepareCoin(d), await prepareCoin(d)];
    expect(await code(cashWallet.step(state, { type: 'refresh', now: T0, coinIds: [state.coins[0]!.coinId], prepared }, ctx()))).toBe('ERR_DENOMINATION');
  });

  /** A refund in flight for `deal`, and the bank's issue receipt for it (a body `over`ridden). */
  async function refundIssued(over: Record<string, unknown>) {
    const state = await walletWithCoins();
    const d = set.byId.get(coins[0]!.coin.denominationId)!;
    const r = await cashWallet.step(state, { type: 'refund', now: T0, reference: deal, prepared: [await prepareCoin(d)] }, ctx());
    const sent = r.send[0] as WalletHttpSend;
    const receipt = await deviceKeySigner(bankKey)({
      type: CASH_TYPES.issue,
      version: 1,
      dealId: deal,
      issuedAt: nowIso(T0),
      body: {
        requestId: sent.requestId,
        kind: 'refund',
        account: 'account-shop',
        reference: deal,
        value,
        request: 'Q'.repeat(43),
        blindSignatures: ['A'.repeat(342)],
        ...over,
      },
    });
    return reply(r.state, sent, { receipt });
  }

  it("a refund's issue receipt for another deal, or another request, is not this refund", async () => {
    expect(await code(refundIssued({}))).toBe('accepted');
    expect(await code(refundIssued({ reference: 'deal-money-kills-other' }))).toBe('ERR_PROTOCOL_STATE');
    expect(await code(refundIssued({ requestId: RID }))).toBe('ERR_PROTOCOL_STATE');
  });
});
