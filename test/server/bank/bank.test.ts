/**
 * The bank's operations through BankService: withdraw, deposit, refresh, refund, and every refusal
 * the brief names. After every test the conservation invariant is checked.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { decodeBase64url, randomId, utf8 } from '../../../core/encoding/index.js';
import { matchItem } from '../../../core/items/index.js';
import {
  CASH_TYPES,
  coinIdOf,
  coinMessage,
  type IssueBody,
  outputsDigest,
  prepareCoin,
  signSpend,
  SPEND_TYPE,
  verifyCoin,
} from '../../../core/payment/cash/index.js';
import { nowIso, signStatement, statementDigest, type Statement, verifyStatement } from '../../../core/statements/index.js';
import { COINS_ACCOUNT } from '../../../server/bank/index.js';
import {
  closeCheckingInvariants,
  type Customer,
  customer,
  DAY,
  dealId,
  denominationOf,
  finalizeAll,
  openTestBank,
  signer,
  T0,
  type TestBank,
  withdraw,
  withdrawalRequest,
  refused,
} from '../../core/payment/helpers.js';
import { ENGINES } from '../../helpers/engines.js';

describe.each(ENGINES)('bank bank on %s', (engine) => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;

  beforeEach(async () => {
    t = await openTestBank({ engine });
    alice = await customer(t.bank, 10_000);
    shop = await customer(t.bank);
  });

  afterEach(() => closeCheckingInvariants(t));

  describe('withdrawal', () => {
    it('debits the account by the coins asked for and blind-signs them; the coins verify under the package', async () => {
      const { coins, answer } = await withdraw(t, alice, [100, 200, 500]);
      expect(await t.bank.balance(alice.account)).toBe(10_000 - 800);
      expect(await t.bank.balance(COINS_ACCOUNT)).toBe(800);
      const set = await t.set();
      for (const c of coins) {
        expect(await verifyCoin(c.coin, set.byId.get(c.coin.denominationId)!)).toBe(true);
        // The package's own verify over the prepared message (prefix || coin message).
        const msg = new Uint8Array([...decodeBase64url(c.coin.prefix), ...coinMessage(c.coin.denominationId, await coinIdOf(c.coin))]);
        expect(await RSABSSA.SHA384.PSS.Randomized().verify(set.byId.get(c.coin.denominationId)!.publicKey, decodeBase64url(c.coin.signature), msg)).toBe(true);
      }
      // The receipt is the bank's signed statement: disputes can show it.
      const receipt = await verifyStatement<IssueBody>(answer.receipt, { types: [CASH_TYPES.issue] });
      expect(receipt.statement.body.value).toEqual({ amount: 800, currency: 'CHF' });
      expect(receipt.statement.body.account).toBe(alice.account);
    });

    it("the package's finalize accepts the bank's blind signatures (RFC 9474 §4.4 check on the client)", async () => {
      const set = await t.set();
      const d = denominationOf(set, 200);
      const secret = await prepareCoin(d);
      const answer = await t.bank.withdraw(await withdrawalRequest(alice, [secret]));
      const suite = RSABSSA.SHA384.PSS.Randomized();
      const prepared = new Uint8Array([...decodeBase64url(secret.prefix), ...utf8(`semper.cash.coin.v1.${d.id}.${secret.coinId}`)]);
      const sig = await suite.finalize(
        d.publicKey,
        prepared,
        decodeBase64url((answer.receipt.body as unknown as IssueBody).blindSignatures[0]!),
        decodeBase64url(secret.inv),
      );
      expect(await suite.verify(d.publicKey, sig, prepared)).toBe(true);
    });

    it('refuses more than the balance (ERR_INSUFFICIENT_FUNDS) and debits nothing', async () => {
      const set = await t.set();
      const secrets = [await prepareCoin(denominationOf(set, 500)), await prepareCoin(denominationOf(set, 100))];
      await t.bank.fund(shop.account, 599);
      const e = await refused(t.bank.withdraw(await withdrawalRequest(shop, secrets)));
      expect(e.code).toBe('ERR_INSUFFICIENT_FUNDS');
      expect(await t.bank.balance(shop.account)).toBe(599);
      await t.bank.withdraw(await withdrawalRequest(shop, secrets.slice(0, 1)));
      expect(await t.bank.balance(shop.account)).toBe(99);
    });

    it('refuses a withdrawal signed by a stranger (ERR_FORBIDDEN), and one naming no account the same way', async () => {
      const set = await t.set();
      const secret = await prepareCoin(denominationOf(set, 100));
      const mallory = { signer: await signer(), account: alice.account, keyId: '' };
      expect((await refused(t.bank.withdraw(await withdrawalRequest(mallory, [secret])))).code).toBe('ERR_FORBIDDEN');
      expect((await refused(t.bank.withdraw(await withdrawalRequest({ ...alice, account: randomId(16) }, [secret])))).code).toBe('ERR_FORBIDDEN');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
    });

    it('a replayed withdrawal request gets the same answer and debits once; another request under its id is ERR_REPLAY', async () => {
      const set = await t.set();
      const secrets = [await prepareCoin(denominationOf(set, 500))];
      const requestId = randomId(16);
      const request = await withdrawalRequest(alice, secrets, requestId);
      const first = await t.bank.withdraw(request);
      const again = await t.bank.withdraw(structuredClone(request));
      expect(again).toEqual(first);
      const both = await Promise.all([t.bank.withdraw(request), t.bank.withdraw(request)]);
      expect(both[0]).toEqual(first);
      expect(await t.bank.balance(alice.account)).toBe(9_500);
      const other = await withdrawalRequest(alice, [await prepareCoin(denominationOf(set, 100))], requestId);
      expect((await refused(t.bank.withdraw(other))).code).toBe('ERR_REPLAY');
      expect(await t.bank.balance(alice.account)).toBe(9_500);
    });

    it('refuses an unknown denomination and one that no longer issues (ERR_DENOMINATION)', async () => {
      const set = await t.set();
      const secret = await prepareCoin(denominationOf(set, 100));
      const request = await withdrawalRequest(alice, [{ ...secret, denominationId: 'A'.repeat(43) }]);
      expect((await refused(t.bank.withdraw(request))).code).toBe('ERR_DENOMINATION');
      const old = await t.bank.addDenomination(100, { validFrom: T0 - 10 * DAY, withdrawUntil: T0 - DAY });
      const stale = await withdrawalRequest(alice, [{ ...secret, denominationId: old.id }]);
      expect((await refused(t.bank.withdraw(stale))).code).toBe('ERR_DENOMINATION');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
    });

    it('refuses a blinded message not below the modulus (ERR_SCHEMA), nothing debited', async () => {
      const set = await t.set();
      const secret = await prepareCoin(denominationOf(set, 100));
      const request = await withdrawalRequest(alice, [{ ...secret, blindedMsg: `${'_'.repeat(341)}w` }]);
      expect((await refused(t.bank.withdraw(request))).code).toBe('ERR_SCHEMA');
      expect(await t.bank.balance(alice.account)).toBe(10_000);
    });
  });

  describe('deposit', () => {
    it("credits the payee's account and answers a signed receipt and a payment proof the money item accepts", async () => {
      const { coins } = await withdraw(t, alice, [500, 200]);
      const deal = dealId();
      const spends = await Promise.all(
        coins.map((c) =>
          signSpend(c, c.coin.denominationId === coins[0]!.coin.denominationId ? { amount: 500, currency: 'CHF' } : { amount: 200, currency: 'CHF' }, {
            payee: shop.keyId,
            reference: deal,
            now: T0,
          }),
        ),
      );
      const answer = await t.bank.deposit({ spends });
      expect(await t.bank.balance(shop.account)).toBe(700);
      expect(await t.bank.balance(COINS_ACCOUNT)).toBe(0);
      const match = await matchItem(
        { kind: 'money', method: 'cash', value: { amount: 700, currency: 'CHF' }, proof: answer.proof },
        { kind: 'money', method: 'cash', value: { amount: 700, currency: 'CHF' }, payee: shop.keyId, reference: deal, issuer: { keyId: t.bank.keyId } },
        { roots: [], now: T0 },
      );
      expect(match).toEqual({ ok: true });
      // The same proof for another deal does not fit.
      const other = await matchItem(
        { kind: 'money', method: 'cash', value: { amount: 700, currency: 'CHF' }, proof: answer.proof },
        { kind: 'money', method: 'cash', value: { amount: 700, currency: 'CHF' }, payee: shop.keyId, reference: dealId(), issuer: { keyId: t.bank.keyId } },
        { roots: [], now: T0 },
      );
      expect(other.ok).toBe(false);
      const receipt = await verifyStatement(answer.receipt, { types: [CASH_TYPES.deposit] });
      expect(receipt.statement.body.proof).toBe(await statementDigest(answer.proof));
    });

    it('the very same deposit again gets the stored answer and credits once', async () => {
      const { coins } = await withdraw(t, alice, [100]);
      const spend = await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
      const first = await t.bank.deposit({ spends: [spend] });
      expect(await t.bank.deposit({ spends: [structuredClone(spend)] })).toEqual(first);
      expect(await t.bank.balance(shop.account)).toBe(100);
    });

    it('a second spend of a coin is ERR_DOUBLE_SPEND carrying the first spend as proof; the batch it was in is refused whole', async () => {
      const { coins } = await withdraw(t, alice, [100, 200]);
      const first = await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
      await t.bank.deposit({ spends: [first] });
      const deal = dealId();
      const again = await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: deal, now: T0 });
      const fresh = await signSpend(coins[1]!, { amount: 200, currency: 'CHF' }, { payee: shop.keyId, reference: deal, now: T0 });
      const e = await refused(t.bank.deposit({ spends: [fresh, again] }));
      expect(e.code).toBe('ERR_DOUBLE_SPEND');
      expect(e.details?.coinId).toBe(await coinIdOf(coins[0]!.coin));
      expect(e.details?.proof).toEqual(first);
      expect(await t.bank.balance(shop.account)).toBe(100);
      // The fresh coin was not taken by the refused batch.
      await t.bank.deposit({ spends: [fresh] });
      expect(await t.bank.balance(shop.account)).toBe(300);
    });

    it('refuses a spend signed by another coin key (ERR_SIGNATURE_INVALID)', async () => {
      const { coins } = await withdraw(t, alice, [100, 100]);
      const forged = await signSpend(
        { coin: coins[0]!.coin, privateJwk: coins[1]!.privateJwk },
        { amount: 100, currency: 'CHF' },
        { payee: shop.keyId, reference: dealId(), now: T0 },
      );
      expect((await refused(t.bank.deposit({ spends: [forged] }))).code).toBe('ERR_SIGNATURE_INVALID');
    });

    it('refuses a coin with a forged bank signature (ERR_SIGNATURE_INVALID)', async () => {
      const { coins } = await withdraw(t, alice, [100, 100]);
      // Coin 0's key with coin 1's bank signature; and a bit flipped.
      const swapped = { coin: { ...coins[0]!.coin, signature: coins[1]!.coin.signature, prefix: coins[1]!.coin.prefix }, privateJwk: coins[0]!.privateJwk };
      const s1 = await signSpend(swapped, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
      expect((await refused(t.bank.deposit({ spends: [s1] }))).code).toBe('ERR_SIGNATURE_INVALID');
      const sig = coins[0]!.coin.signature;
      const flipped = { coin: { ...coins[0]!.coin, signature: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) }, privateJwk: coins[0]!.privateJwk };
      const s2 = await signSpend(flipped, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
      expect((await refused(t.bank.deposit({ spends: [s2] }))).code).toBe('ERR_SIGNATURE_INVALID');
      expect(await t.bank.balance(shop.account)).toBe(0);
    });

    it('refuses an amount that is not the denomination (ERR_DENOMINATION) and a coin of an unknown denomination', async () => {
      const { coins } = await withdraw(t, alice, [100]);
      const inflated = await signSpend(coins[0]!, { amount: 500, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
      expect((await refused(t.bank.deposit({ spends: [inflated] }))).code).toBe('ERR_DENOMINATION');
      const unknown = await signSpend(
        { ...coins[0]!, coin: { ...coins[0]!.coin, denominationId: 'B'.repeat(43) } },
        { amount: 100, currency: 'CHF' },
        { payee: shop.keyId, reference: dealId(), now: T0 },
      );
      expect((await refused(t.bank.deposit({ spends: [unknown] }))).code).toBe('ERR_DENOMINATION');
    });

    it('takes a coin of an expired denomination until its depositUntil, and refuses it after', async () => {
      const set0 = await t.set();
      const d = denominationOf(set0, 100);
      const { coins } = await withdraw(t, alice, [100, 100]);
      const spend = (i: number) => signSpend(coins[i]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: t.clock.now });
      t.clock.now = d.spendUntil + 1; // no payee should accept it now, but the bank still redeems it
      await t.bank.deposit({ spends: [await spend(0)] });
      t.clock.now = d.depositUntil + 1;
      expect((await refused(t.bank.deposit({ spends: [await spend(1)] }))).code).toBe('ERR_DENOMINATION');
      expect(await t.bank.balance(shop.account)).toBe(100);
    });

    it('refuses spends of one batch to different payees or deals (ERR_ITEM_MISMATCH) and a payee without an account (ERR_NOT_FOUND)', async () => {
      const { coins } = await withdraw(t, alice, [100, 100]);
      const deal = dealId();
      const a = await signSpend(coins[0]!, { amount: 100, currency: 'CHF' }, { payee: shop.keyId, reference: deal, now: T0 });
      const b = await signSpend(coins[1]!, { amount: 100, currency: 'CHF' }, { payee: alice.keyId, reference: deal, now: T0 });
      expect((await refused(t.bank.deposit({ spends: [a, b] }))).code).toBe('ERR_ITEM_MISMATCH');
      const nobody = await signSpend(coins[1]!, { amount: 100, currency: 'CHF' }, { payee: (await signer()).keyId, reference: deal, now: T0 });
      expect((await refused(t.bank.deposit({ spends: [nobody] }))).code).toBe('ERR_NOT_FOUND');
      expect(await t.bank.balance(shop.account)).toBe(0);
    });

    it('refuses a spend statement whose signer is not the coin (a bare statement by someone else)', async () => {
      const { coins } = await withdraw(t, alice, [100]);
      const deal = dealId();
      const mallory = await signer();
      const statement = await signStatement(
        {
          type: SPEND_TYPE,
          version: 1,
          dealId: deal,
          issuedAt: nowIso(T0),
          body: { coin: coins[0]!.coin, value: { amount: 100, currency: 'CHF' }, payee: shop.keyId, reference: deal },
        },
        mallory,
      );
      expect((await refused(t.bank.deposit({ spends: [statement] }))).code).toBe('ERR_SIGNATURE_INVALID');
    });
  });

  describe('refresh', () => {
    async function refreshRequest(coins: { coin: unknown; privateJwk: JsonWebKey }[], values: number[], outValues: number[], payee = t.bank.keyId) {
      const set = await t.set();
      const requestId = randomId(16);
      const secrets = await Promise.all(outValues.map((v) => prepareCoin(denominationOf(set, v, t.clock.now))));
      const outputs = secrets.map((s) => ({ denominationId: s.denominationId, blindedMsg: s.blindedMsg }));
      const digest = await outputsDigest(outputs);
      const spends = await Promise.all(
        coins.map((c, i) => signSpend(c as never, { amount: values[i]!, currency: 'CHF' }, { payee, reference: requestId, outputs: digest, now: t.clock.now })),
      );
      return { request: { requestId, spends, outputs }, secrets, set };
    }

    it('exchanges old coins for new ones of the same total (change), in one transaction', async () => {
      const { coins } = await withdraw(t, alice, [500]);
      const { request, secrets, set } = await refreshRequest(coins, [500], [200, 200, 100]);
      const answer = await t.bank.refresh(request);
      const fresh = await finalizeAll(set, secrets, answer);
      expect(fresh).toHaveLength(3);
      expect(await t.bank.balance(COINS_ACCOUNT)).toBe(500);
      expect(await t.bank.balance(alice.account)).toBe(9_500);
      // The old coin is spent: depositing it is a double spend with the refresh spend as proof.
      const late = await signSpend(coins[0]!, { amount: 500, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
      const e = await refused(t.bank.deposit({ spends: [late] }));
      expect(e.code).toBe('ERR_DOUBLE_SPEND');
      expect((e.details!.proof as Statement).body.payee).toBe(t.bank.keyId);
      // The new ones spend.
      await t.bank.deposit({ spends: [await signSpend(fresh[0]!, { amount: 200, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 })] });
      expect(await t.bank.balance(shop.account)).toBe(200);
      // The same refresh again: the stored answer, nothing more issued.
      expect(await t.bank.refresh(structuredClone(request))).toEqual(answer);
      expect(await t.bank.balance(COINS_ACCOUNT)).toBe(300);
    });

    it('renews a coin whose denomination stopped issuing into a current one', async () => {
      const old = await t.bank.addDenomination(100, {
        validFrom: T0 - 40 * DAY,
        withdrawUntil: T0 + DAY,
        spendUntil: T0 + 3 * DAY,
        depositUntil: T0 + 5 * DAY,
      });
      const set = await t.set();
      const secret = await prepareCoin(set.byId.get(old.id)!);
      const [coin] = await finalizeAll(set, [secret], await t.bank.withdraw(await withdrawalRequest(alice, [secret])));
      t.clock.now = T0 + 4 * DAY; // past spendUntil, before depositUntil
      const { request, secrets } = await refreshRequest([coin!], [100], [100]);
      expect(secrets[0]!.denominationId).not.toBe(old.id);
      await t.bank.refresh(request);
    });

    it('refuses unequal totals and spends not bound to these outputs or not made out to the bank', async () => {
      const { coins } = await withdraw(t, alice, [500]);
      const unequal = await refreshRequest(coins, [500], [200, 200]);
      expect((await refused(t.bank.refresh(unequal.request))).code).toBe('ERR_DENOMINATION');
      const rebound = await refreshRequest(coins, [500], [500]);
      const other = await refreshRequest(coins, [500], [500]);
      expect((await refused(t.bank.refresh({ ...rebound.request, outputs: other.request.outputs }))).code).toBe('ERR_ITEM_MISMATCH');
      const toShop = await refreshRequest(coins, [500], [500], shop.keyId);
      expect((await refused(t.bank.refresh(toShop.request))).code).toBe('ERR_ITEM_MISMATCH');
      expect(await t.bank.balance(COINS_ACCOUNT)).toBe(500);
    });

    it('a refresh of a coin already deposited is ERR_DOUBLE_SPEND with the deposit as proof, nothing issued', async () => {
      const { coins } = await withdraw(t, alice, [200, 100]);
      const deposited = await signSpend(coins[0]!, { amount: 200, currency: 'CHF' }, { payee: shop.keyId, reference: dealId(), now: T0 });
      await t.bank.deposit({ spends: [deposited] });
      const { request } = await refreshRequest(coins, [200, 100], [100, 100, 100]);
      const e = await refused(t.bank.refresh(request));
      expect(e.code).toBe('ERR_DOUBLE_SPEND');
      expect(e.details?.proof).toEqual(deposited);
      expect(await t.bank.balance(COINS_ACCOUNT)).toBe(100);
    });
  });

  describe('refund', () => {
    it("debits the merchant's account for fresh coins the shopper blinded; the merchant never sees them", async () => {
      const { coins } = await withdraw(t, alice, [500]);
      const deal = dealId();
      await t.bank.deposit({ spends: [await signSpend(coins[0]!, { amount: 500, currency: 'CHF' }, { payee: shop.keyId, reference: deal, now: T0 })] });
      const set = await t.set();
      const secrets = [await prepareCoin(denominationOf(set, 200)), await prepareCoin(denominationOf(set, 200))];
      const requestId = randomId(16);
      const request = await signStatement(
        {
          type: CASH_TYPES.refundRequest,
          version: 1,
          dealId: deal,
          issuedAt: nowIso(T0),
          body: {
            requestId,
            account: shop.account,
            reference: deal,
            coins: secrets.map((s) => ({ denominationId: s.denominationId, blindedMsg: s.blindedMsg })),
          },
        },
        shop.signer,
      );
      const answer = await t.bank.refund(request);
      expect((answer.receipt.body as unknown as IssueBody).reference).toBe(deal);
      const refunded = await finalizeAll(set, secrets, answer);
      expect(await t.bank.balance(shop.account)).toBe(100);
      await t.bank.deposit({ spends: [await signSpend(refunded[0]!, { amount: 200, currency: 'CHF' }, { payee: alice.keyId, reference: dealId(), now: T0 })] });
      expect(await t.bank.balance(alice.account)).toBe(9_700);
      // Only the merchant's key may refund from its account; and not more than it holds.
      const byAlice = await signStatement({ ...request, signature: undefined, body: { ...request.body, requestId: randomId(16) } } as never, alice.signer);
      expect((await refused(t.bank.refund(byAlice))).code).toBe('ERR_FORBIDDEN');
      const tooMuch = await signStatement({ ...request, signature: undefined, body: { ...request.body, requestId: randomId(16) } } as never, shop.signer);
      expect((await refused(t.bank.refund(tooMuch))).code).toBe('ERR_INSUFFICIENT_FUNDS');
    });
  });
});
