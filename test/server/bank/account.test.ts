/**
 * Account transfers at the bank: the order signed by the payer account's key, the signed receipt
 * and 'account' payment proof (matchItem accepts it for its deal and payee only), idempotency by
 * request id, revocation by a trusted TTP inside the window (once, a reversing posting), refunds by
 * the payee, and every refusal with its code. The conservation invariant is checked after every test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebAuthnVerifier } from '../../../core/crypto/webauthn.js';
import { randomId } from '../../../core/encoding/index.js';
import type { SemperError } from '../../../core/errors.js';
import { matchItem } from '../../../core/items/index.js';
import type { MoneyDescription } from '../../../core/items/schema.js';
import {
  ACCOUNT_TYPES,
  accountMoneyItem,
  payeeRefund,
  type ReversalBody,
  type TransferAnswer,
  transferOrder,
  verifyTransferAnswer,
} from '../../../core/payment/account/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { createBankApp } from '../../../server/bank/index.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import {
  closeCheckingInvariants,
  type Customer,
  customer,
  DAY,
  openTestBank,
  signer,
  T0,
  type TestBank,
  bankRows,
  bankExec,
  refused,
} from '../../core/payment/helpers.js';
import { chf, order, revocationOrder } from '../../core/payment/orders.js';
import { ENGINES } from '../../helpers/engines.js';

describe.each(ENGINES)('bank account on %s', (engine) => {
  const ORIGIN = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;
  let ttp: Awaited<ReturnType<typeof signer>>;

  beforeEach(async () => {
    ttp = await signer();
    t = await openTestBank({
      bank: { trustedTtps: [ttp.keyId], webauthn: createWebAuthnVerifier({ expectedOrigins: [ORIGIN], expectedRpIds: [ORIGIN] }) },
    });
    alice = await customer(t.bank, 10_000);
    shop = await customer(t.bank);
  });

  afterEach(() => closeCheckingInvariants(t));

  const ref = (o: Statement) => (o.body as { reference: string }).reference;
  const rid = (o: Statement) => (o.body as { requestId: string }).requestId;
  const describeMoney = (o: Statement, payee = shop.keyId, amount = (o.body as { amount: { amount: number } }).amount.amount): MoneyDescription => ({
    kind: 'money',
    method: 'account',
    value: chf(amount),
    payee,
    reference: ref(o),
    issuer: { keyId: t.bank.keyId },
  });

  describe('transfer', () => {
    it('moves the money in one posting and answers with a signed receipt and an account proof matchItem accepts', async () => {
      const o = await order(alice, shop, 2_500);
      const answer = await t.bank.transfer(o);
      expect(await t.bank.balance(alice.account)).toBe(7_500);
      expect(await t.bank.balance(shop.account)).toBe(2_500);
      const v = await verifyTransferAnswer(answer, {
        bankKeyId: t.bank.keyId,
        payee: shop.keyId,
        reference: ref(o),
        amount: chf(2_500),
        order: o,
        revocableUntil: null,
      });
      expect(v.proof).toEqual({ method: 'account', value: chf(2_500), payee: shop.keyId, reference: ref(o) });
      expect(v.receipt).toMatchObject({ payerAccount: alice.account, payeeAccount: shop.account, requestId: rid(o) });
      const item = accountMoneyItem(answer);
      expect(await matchItem(item, describeMoney(o), { roots: [], now: T0 })).toEqual({ ok: true });
      // The proof is worth nothing for another deal, another payee, another amount or another method.
      expect((await matchItem(item, { ...describeMoney(o), reference: 'deal-someone-else' }, { roots: [], now: T0 })).ok).toBe(false);
      expect((await matchItem(item, describeMoney(o, alice.keyId), { roots: [], now: T0 })).ok).toBe(false);
      expect((await matchItem({ ...item, value: chf(2_600) }, describeMoney(o, shop.keyId, 2_600), { roots: [], now: T0 })).ok).toBe(false);
      expect((await matchItem({ ...item, method: 'cheque' }, { ...describeMoney(o), method: 'cheque' }, { roots: [], now: T0 })).ok).toBe(false);
      // …and not if someone other than the bank signed it.
      expect((await matchItem(item, { ...describeMoney(o), issuer: { keyId: ttp.keyId } }, { roots: [], now: T0 })).ok).toBe(false);
    });

    it('serves a request id once: the same order again gets the stored answer, another order under it ERR_REPLAY; never a second debit', async () => {
      const requestId = randomId(16);
      const o = await order(alice, shop, 1_000, { requestId });
      const first = await t.bank.transfer(o);
      expect(await t.bank.transfer(o)).toEqual(first);
      const other = await order(alice, shop, 3_000, { requestId });
      expect((await refused(t.bank.transfer(other))).code).toBe('ERR_REPLAY');
      const otherDeal = await order(alice, shop, 1_000, { requestId, reference: 'deal-another-one' });
      expect((await refused(t.bank.transfer(otherDeal))).code).toBe('ERR_REPLAY');
      expect(await t.bank.balance(alice.account)).toBe(9_000);
      expect(await t.bank.balance(shop.account)).toBe(1_000);
    });

    it('refuses an order not signed by the payer account key: a stranger, the payee, a closed account (ERR_FORBIDDEN)', async () => {
      const mallory = await customer(t.bank, 0);
      expect((await refused(t.bank.transfer(await order(alice, mallory, 100, { signedBy: mallory.signer })))).code).toBe('ERR_FORBIDDEN');
      expect((await refused(t.bank.transfer(await order(alice, shop, 100, { signedBy: shop.signer })))).code).toBe('ERR_FORBIDDEN');
      expect((await refused(t.bank.transfer(await order(alice, shop, 100, { payerAccount: 'no-such-account' })))).code).toBe('ERR_FORBIDDEN');
      const leaving = await customer(t.bank, 0);
      await t.bank.closeAccount(leaving.account);
      expect((await refused(t.bank.transfer(await order(leaving, shop, 100)))).code).toBe('ERR_FORBIDDEN');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
    });

    it('refuses an altered order (ERR_SIGNATURE_INVALID), another currency or payee account (ERR_ITEM_MISMATCH), and malformed windows', async () => {
      const o = await order(alice, shop, 100);
      const altered = { ...o, body: { ...o.body, amount: chf(9_000) } };
      expect((await refused(t.bank.transfer(altered))).code).toBe('ERR_SIGNATURE_INVALID');
      expect((await refused(t.bank.transfer(await order(alice, shop, 100, { amount: { amount: 100, currency: 'EUR' } })))).code).toBe('ERR_ITEM_MISMATCH');
      expect((await refused(t.bank.transfer(await order(alice, shop, 100, { payeeAccount: alice.account })))).code).toBe('ERR_ITEM_MISMATCH');
      expect((await refused(t.bank.transfer(await order(alice, alice, 100)))).code).toBe('ERR_SCHEMA');
      expect((await refused(t.bank.transfer(await order(alice, shop, 100, { revocableUntil: T0 + 365 * DAY })))).code).toBe('ERR_SCHEMA');
      expect((await refused(t.bank.transfer(await order(alice, shop, 100, { revocableUntil: T0 - 1 })))).code).toBe('ERR_SCHEMA');
      expect((await refused(t.bank.transfer(await order(alice, shop, 0)))).code).toBe('ERR_SCHEMA');
      expect((await refused(t.bank.transfer(await order(alice, 'Q'.repeat(43), 100)))).code).toBe('ERR_NOT_FOUND');
      // A dealId other than the reference.
      const body = o.body as Record<string, unknown> as never;
      const wrongDeal = (await signStatement(
        { type: ACCOUNT_TYPES.transfer, version: 1, dealId: 'deal-not-the-reference', issuedAt: nowIso(T0), body },
        alice.signer,
      )) as Statement;
      expect((await refused(t.bank.transfer(wrongDeal))).code).toBe('ERR_SCHEMA');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
    });

    it('refuses what the available balance does not cover (ERR_INSUFFICIENT_FUNDS)', async () => {
      expect((await refused(t.bank.transfer(await order(alice, shop, 10_001)))).code).toBe('ERR_INSUFFICIENT_FUNDS');
      await t.bank.transfer(await order(alice, shop, 10_000));
      expect(await t.bank.balance(alice.account)).toBe(0);
    });

    it('accepts an order signed with a WebAuthn hardware token registered as the account key', async () => {
      const token = await SoftAuthenticator.create({ rpId: ORIGIN, origin: ORIGIN });
      const account = await t.bank.openAccount(token.jwk);
      await t.bank.fund(account, 1_000);
      const unsigned = transferOrder({ requestId: randomId(16), payer: account, payee: shop.keyId, amount: chf(400), reference: 'deal-token-paid', now: T0 });
      const signed = (await token.signStatement(unsigned)) as Statement;
      expect(signed.signature.alg).toBe('webauthn-ES256');
      await t.bank.transfer(signed);
      expect(await t.bank.balance(account)).toBe(600);
      // An assertion made on another origin does not count.
      const elsewhere = (await token.signStatement(
        { ...unsigned, body: { ...unsigned.body, requestId: randomId(16) } },
        { origin: 'https://evil.example' },
      )) as Statement;
      expect((await refused(t.bank.transfer(elsewhere))).code).toBe('ERR_WEBAUTHN');
    });
  });

  describe('revocation', () => {
    async function revocable(value = 2_000, until = T0 + DAY): Promise<{ o: Statement; answer: TransferAnswer }> {
      const o = await order(alice, shop, value, { revocableUntil: until });
      return { o, answer: await t.bank.transfer(o) };
    }
    const ttpOrder = (o: Statement, signedBy = ttp, over: Partial<Parameters<typeof revocationOrder>[1]> = {}) =>
      revocationOrder(signedBy, {
        payer: alice.keyId,
        payee: shop.keyId,
        amount: (o.body as { amount: { amount: number } }).amount.amount,
        reference: ref(o),
        issuer: t.bank.keyId,
        ...over,
      });

    it('a trusted TTP revocation order inside the window reverses the transfer once, by a new posting; the second is ERR_REVOKED with the first', async () => {
      const { o } = await revocable();
      t.clock.now = T0 + DAY; // the last instant of the window
      const reversal = await t.bank.revoke({ requestId: rid(o), order: await ttpOrder(o) });
      expect(reversal.receipt.type).toBe(ACCOUNT_TYPES.reversal);
      expect(reversal.receipt.body as unknown as ReversalBody).toMatchObject({ by: 'ttp', orderSigner: ttp.keyId, amount: chf(2_000), requestId: rid(o) });
      expect(await t.bank.balance(alice.account)).toBe(10_000);
      expect(await t.bank.balance(shop.account)).toBe(0);
      const kinds = await bankRows<{ kind: string }>(t.bank, "SELECT kind FROM postings WHERE kind IN ('transfer', 'reversal') ORDER BY at, kind DESC");
      expect(kinds.map((k) => k.kind).sort()).toEqual(['reversal', 'transfer']);
      const again = await refused(t.bank.revoke({ requestId: rid(o), order: await ttpOrder(o) }));
      expect(again.code).toBe('ERR_REVOKED');
      expect(again.details?.proof).toEqual(reversal.receipt);
      // The payee's refund of a reversed transfer is the same refusal.
      const refund = await deviceKeySigner(shop.signer)(payeeRefund({ requestId: rid(o), reference: ref(o), amount: chf(2_000), now: T0 }));
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: refund }))).code).toBe('ERR_REVOKED');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
    });

    it('refuses after the window and for a transfer that is not revocable (ERR_REVOCATION_CLOSED)', async () => {
      const { o } = await revocable();
      t.clock.now = T0 + DAY + 1;
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: await ttpOrder(o) }))).code).toBe('ERR_REVOCATION_CLOSED');
      t.clock.now = T0;
      const final = await order(alice, shop, 500);
      await t.bank.transfer(final);
      const notRevocable = await refused(t.bank.revoke({ requestId: rid(final), order: await ttpOrder(final) }));
      expect(notRevocable.code).toBe('ERR_REVOCATION_CLOSED');
      expect(notRevocable.message).toMatch(/not revocable/);
      expect(await t.bank.balance(shop.account)).toBe(2_500);
    });

    it('refuses an order of an untrusted TTP, of the payer, or naming another transfer', async () => {
      const { o } = await revocable();
      const rogue = await signer();
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: await ttpOrder(o, rogue) }))).code).toBe('ERR_FORBIDDEN');
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: await ttpOrder(o, alice.signer) }))).code).toBe('ERR_FORBIDDEN');
      // The payer cannot refund itself with a "payee refund" either.
      const selfRefund = await deviceKeySigner(alice.signer)(payeeRefund({ requestId: rid(o), reference: ref(o), amount: chf(2_000), now: T0 }));
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: selfRefund }))).code).toBe('ERR_FORBIDDEN');
      for (const over of [{ amount: 1_999 }, { reference: 'deal-another-deal' }, { payee: alice.keyId }, { payer: shop.keyId }, { method: 'cash' as const }]) {
        expect((await refused(t.bank.revoke({ requestId: rid(o), order: await ttpOrder(o, ttp, over) }))).code).toBe('ERR_ITEM_MISMATCH');
      }
      expect((await refused(t.bank.revoke({ requestId: randomId(16), order: await ttpOrder(o) }))).code).toBe('ERR_NOT_FOUND');
      expect(await t.bank.balance(shop.account)).toBe(2_000);
    });

    it('holds a revocable transfer at the payee until its window closes, so a reversal is always covered', async () => {
      const { o } = await revocable(2_000);
      const other = await customer(t.bank);
      expect(await t.bank.available(shop.account)).toBe(0);
      expect((await refused(t.bank.transfer(await order(shop, other, 1)))).code).toBe('ERR_INSUFFICIENT_FUNDS');
      t.clock.now = T0 + DAY + 1;
      expect(await t.bank.available(shop.account)).toBe(2_000);
      await t.bank.transfer(await order(shop, other, 2_000, { now: t.clock.now }));
      // Too late for the TTP; the payee has nothing left to refund with.
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: await ttpOrder(o) }))).code).toBe('ERR_REVOCATION_CLOSED');
      const refund = await deviceKeySigner(shop.signer)(payeeRefund({ requestId: rid(o), reference: ref(o), amount: chf(2_000), now: t.clock.now }));
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: refund }))).code).toBe('ERR_INSUFFICIENT_FUNDS');
    });

    it('the payee may give a transfer back (whole amount, signed by its key), once', async () => {
      const o = await order(alice, shop, 700);
      await t.bank.transfer(o);
      const partial = await deviceKeySigner(shop.signer)(payeeRefund({ requestId: rid(o), reference: ref(o), amount: chf(300), now: T0 }));
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: partial }))).code).toBe('ERR_ITEM_MISMATCH');
      const refund = await deviceKeySigner(shop.signer)(payeeRefund({ requestId: rid(o), reference: ref(o), amount: chf(700), now: T0 }));
      const r = await t.bank.revoke({ requestId: rid(o), order: refund });
      expect((r.receipt.body as unknown as ReversalBody).by).toBe('payee');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
      expect((await refused(t.bank.revoke({ requestId: rid(o), order: refund }))).code).toBe('ERR_REVOKED');
    });
  });

  describe('transfers under concurrency', () => {
    it('concurrent transfers never overdraw: of 12 × 500 from 5 000 (after 5 000 out), exactly 10 are served', async () => {
      await t.bank.transfer(await order(alice, shop, 5_000));
      const others = await Promise.all(Array.from({ length: 12 }, () => order(alice, shop, 500)));
      const results = await Promise.allSettled(others.map((o) => t.bank.transfer(o)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as SemperError).code).toBe('ERR_INSUFFICIENT_FUNDS');
      expect(await t.bank.balance(alice.account)).toBe(0);
    });

    it('50 concurrent revocations of one transfer (TTP orders and payee refunds): one reversal, the rest ERR_REVOKED with it', async () => {
      const o = await order(alice, shop, 3_000, { revocableUntil: T0 + DAY });
      await t.bank.transfer(o);
      const orders = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2
            ? revocationOrder(ttp, { payer: alice.keyId, payee: shop.keyId, amount: 3_000, reference: ref(o), issuer: t.bank.keyId })
            : deviceKeySigner(shop.signer)(payeeRefund({ requestId: rid(o), reference: ref(o), amount: chf(3_000), now: T0 })),
        ),
      );
      const results = await Promise.allSettled(orders.map((x) => t.bank.revoke({ requestId: rid(o), order: x })));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      const first = (won[0] as PromiseFulfilledResult<{ receipt: Statement }>).value.receipt;
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        expect((r.reason as SemperError).code).toBe('ERR_REVOKED');
        expect((r.reason as SemperError).details?.proof).toEqual(first);
      }
      expect(await t.bank.balance(alice.account)).toBe(10_000);
      expect(await t.bank.balance(shop.account)).toBe(0);
      expect(await bankRows(t.bank, "SELECT COUNT(*) AS n FROM postings WHERE kind = 'reversal'")).toEqual([{ n: 1 }]);
    });

    it('an account with a transfer still revocable cannot be closed (a reversal would credit it)', async () => {
      const leaving = await customer(t.bank, 100);
      await t.bank.transfer(await order(leaving, shop, 100, { revocableUntil: T0 + DAY }));
      await expect(t.bank.closeAccount(leaving.account)).rejects.toThrow(/still revocable/);
      t.clock.now = T0 + DAY + 1;
      await t.bank.closeAccount(leaving.account);
      expect((await refused(t.bank.transfer(await order(alice, leaving, 1, { now: t.clock.now })))).code).toBe('ERR_NOT_FOUND');
    });
  });

  describe('transfers over HTTP', () => {
    const post = (app: ReturnType<typeof createBankApp>, path: string, body: unknown) =>
      app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    it('maps the codes to statuses: 200, 403 ERR_FORBIDDEN, 409 ERR_INSUFFICIENT_FUNDS / ERR_REPLAY / ERR_REVOKED (with the first), 403 ERR_REVOCATION_CLOSED', async () => {
      const app = createBankApp(t.bank, { signedStatementsPerMinute: 1_000 });
      const o = await order(alice, shop, 1_000, { revocableUntil: T0 + DAY });
      const ok = await post(app, '/bank/transfer', { request: o });
      expect(ok.status).toBe(200);
      const answer = (await ok.json()) as TransferAnswer;
      await verifyTransferAnswer(answer, { bankKeyId: t.bank.keyId, payee: shop.keyId, reference: ref(o), amount: chf(1_000) });
      const code = async (r: Response) => ({ status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code });
      expect(await code(await post(app, '/bank/transfer', { request: await order(alice, shop, 1, { signedBy: shop.signer }) }))).toEqual({
        status: 403,
        code: 'ERR_FORBIDDEN',
      });
      expect(await code(await post(app, '/bank/transfer', { request: await order(alice, shop, 1_000_000) }))).toEqual({
        status: 409,
        code: 'ERR_INSUFFICIENT_FUNDS',
      });
      expect(await code(await post(app, '/bank/transfer', { request: await order(alice, shop, 5, { requestId: rid(o) }) }))).toEqual({
        status: 409,
        code: 'ERR_REPLAY',
      });
      const revoke = {
        requestId: rid(o),
        order: await revocationOrder(ttp, { payer: alice.keyId, payee: shop.keyId, amount: 1_000, reference: ref(o), issuer: t.bank.keyId }),
      };
      const first = await post(app, '/bank/revoke', revoke);
      expect(first.status).toBe(200);
      const firstBody = (await first.json()) as { receipt: Statement };
      const second = await post(app, '/bank/revoke', revoke);
      expect(second.status).toBe(409);
      const secondBody = (await second.json()) as { error: { code: string }; proof: Statement };
      expect(secondBody.error.code).toBe('ERR_REVOKED');
      expect(secondBody.proof).toEqual(firstBody.receipt);
      const late = await order(alice, shop, 10, { revocableUntil: T0 + DAY });
      expect((await post(app, '/bank/transfer', { request: late })).status).toBe(200);
      t.clock.now = T0 + 2 * DAY;
      const lateRevoke = {
        requestId: rid(late),
        order: await revocationOrder(ttp, { payer: alice.keyId, payee: shop.keyId, amount: 10, reference: ref(late), issuer: t.bank.keyId }),
      };
      expect(await code(await post(app, '/bank/revoke', lateRevoke))).toEqual({ status: 403, code: 'ERR_REVOCATION_CLOSED' });
    });
  });

  describe('conservation with transfers', () => {
    it('fails on money moved between customers without an order, and on a transfer posting that moves another amount', async () => {
      await t.bank.transfer(await order(alice, shop, 100));
      await t.bank.checkInvariants();
      await bankExec(
        t.bank,
        "INSERT INTO postings (id, kind, reference, at) VALUES ('orphan-transfer', 'transfer', NULL, 0)",
        `INSERT INTO entries (posting_id, account_id, amount) VALUES ('orphan-transfer', '${alice.account}', -50)`,
        `INSERT INTO entries (posting_id, account_id, amount) VALUES ('orphan-transfer', '${shop.account}', 50)`,
      );
      await expect(t.bank.checkInvariants()).rejects.toThrow(/without exactly one order/);
      // Keep afterEach's check meaningful: put the money back the same (invalid) way, then reopen a clean bank.
      await t.close();
      t = await openTestBank({ engine, bank: { trustedTtps: [ttp.keyId] } });
      alice = await customer(t.bank, 1_000);
      shop = await customer(t.bank);
      const o = await order(alice, shop, 100);
      const answer = await t.bank.transfer(o);
      const [{ posting_id: postingId }] = (await bankRows<{ posting_id: string }>(t.bank, 'SELECT posting_id FROM transfers')) as [{ posting_id: string }];
      await bankExec(
        t.bank,
        `INSERT INTO entries (posting_id, account_id, amount) VALUES ('${postingId}', '${alice.account}', -1)`,
        `INSERT INTO entries (posting_id, account_id, amount) VALUES ('${postingId}', '${shop.account}', 1)`,
      );
      await expect(t.bank.checkInvariants()).rejects.toThrow(/do not move what their order says/);
      expect(answer.proof.type).toBe('semper.payment.proof');
      await t.close();
      t = await openTestBank({ engine });
    });
  });
});
