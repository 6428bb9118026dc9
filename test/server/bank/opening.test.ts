/**
 * Opening an account with a one-time code (server/bank/opening.ts, POST /bank/accounts/open): the
 * code opens one funded account bound to the signer's key, once; every refusal is typed, and a
 * refused opening leaves the code usable; attempts are limited per code and per client.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signStatement, verifyStatement } from '../../../core/statements/index.js';
import { ACCOUNT_OPENING_TYPES, type AccountOpenedBody, type AccountOpeningAnswer, createBankApp, signAccountOpening } from '../../../server/bank/index.js';
import { closeCheckingInvariants, CURRENCY, customer, DAY, openTestBank, signer, T0, type TestBank } from '../../core/payment/helpers.js';
import { ENGINES } from '../../helpers/engines.js';

describe.each(ENGINES)('bank opening on %s', (engine) => {
  let t: TestBank;
  let app: ReturnType<typeof createBankApp>;

  beforeEach(async () => {
    t = await openTestBank({ engine });
    app = createBankApp(t.bank, { signedStatementsPerMinute: 1_000, accountOpeningAttemptsPerMinute: 100, now: () => t.clock.now });
  });

  afterEach(() => closeCheckingInvariants(t));

  const open = (request: unknown) =>
    app.request('/bank/accounts/open', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request }) });

  async function refusal(res: Response): Promise<{ status: number; code: string }> {
    return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
  }

  describe('account opening with a one-time code', () => {
    it('opens one funded account bound to the signer, once; the same request again gets the same answer', async () => {
      const code = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 50_000 });
      expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      const holder = await signer();
      // Typed loosely (lower case, no hyphens): normalised like the CA's codes.
      const request = await signAccountOpening(holder, { code: code.toLowerCase().replace(/-/g, ''), bank: t.bank.keyId, now: T0 });
      const res = await open(request);
      expect(res.status).toBe(200);
      const answer = (await res.json()) as AccountOpeningAnswer;
      const verified = await verifyStatement<AccountOpenedBody>(answer.receipt, { types: [ACCOUNT_OPENING_TYPES.answer] });
      expect(verified.signerJwk).toEqual(t.bank.info().publicJwk);
      expect(verified.statement.body).toMatchObject({
        account: answer.account,
        holder: holder.keyId,
        name: 'Demo Shopper',
        funded: { amount: 50_000, currency: CURRENCY },
      });
      expect(await t.bank.accountOfKey(holder.keyId)).toBe(answer.account);
      expect(await t.bank.balance(answer.account)).toBe(50_000);
      expect(await t.bank.accountOpenedFor('Demo Shopper')).toBe(answer.account);

      // A lost answer: the very same request gets the stored answer, and no second funding.
      const again = await open(request);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual(answer);
      expect(await t.bank.balance(answer.account)).toBe(50_000);

      // Anyone else with the code (or the holder with a new request) is refused.
      const other = await open(await signAccountOpening(await signer(), { code, bank: t.bank.keyId, now: T0 }));
      expect(await refusal(other)).toEqual({ status: 403, code: 'ERR_REGISTRATION_CODE' });
      const fresh = await open(await signAccountOpening(holder, { code, bank: t.bank.keyId, now: T0 + 1 }));
      expect(await refusal(fresh)).toEqual({ status: 403, code: 'ERR_REGISTRATION_CODE' });
    });

    it('refuses an unknown, expired or withdrawn code, and a request for another bank', async () => {
      const holder = await signer();
      const unknown = await open(await signAccountOpening(holder, { code: 'ABCD-EFGH-JKMN-PQRS', bank: t.bank.keyId, now: T0 }));
      expect(await refusal(unknown)).toEqual({ status: 403, code: 'ERR_REGISTRATION_CODE' });
      const notACode = await open(await signAccountOpening(holder, { code: 'UUUU-UUUU-UUUU-UUUU', bank: t.bank.keyId, now: T0 }));
      expect(await refusal(notACode)).toEqual({ status: 403, code: 'ERR_REGISTRATION_CODE' });

      const expiring = await t.bank.createAccountOpeningCode({ name: 'Expiring', amount: 100, validForMs: DAY });
      t.clock.now = T0 + DAY;
      const expired = await open(await signAccountOpening(holder, { code: expiring, bank: t.bank.keyId, now: t.clock.now }));
      expect(await refusal(expired)).toEqual({ status: 403, code: 'ERR_REGISTRATION_CODE' });

      const first = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 100 });
      const second = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 100 });
      const withdrawn = await open(await signAccountOpening(holder, { code: first, bank: t.bank.keyId, now: t.clock.now }));
      expect(await refusal(withdrawn)).toEqual({ status: 403, code: 'ERR_REGISTRATION_CODE' });

      const elsewhere = await open(await signAccountOpening(holder, { code: second, bank: 'B'.repeat(43), now: t.clock.now }));
      expect(await refusal(elsewhere)).toEqual({ status: 409, code: 'ERR_ITEM_MISMATCH' });
      // None of these used the code up.
      expect((await open(await signAccountOpening(holder, { code: second, bank: t.bank.keyId, now: t.clock.now }))).status).toBe(200);
      expect(await t.bank.accountOfKey(holder.keyId)).toBeDefined();
    });

    it('refuses a key that already has an account, leaving the code unused', async () => {
      const existing = await customer(t.bank, 10);
      const code = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 100 });
      const twice = await open(await signAccountOpening(existing.signer, { code, bank: t.bank.keyId, now: T0 }));
      expect(await refusal(twice)).toEqual({ status: 409, code: 'ERR_REPLAY' });
      expect(await t.bank.balance(existing.account)).toBe(10);
      expect(await t.bank.accountOpenedFor('Demo Shopper')).toBeUndefined();
      expect((await open(await signAccountOpening(await signer(), { code, bank: t.bank.keyId, now: T0 }))).status).toBe(200);
    });

    it('refuses a forged signature, another statement type and malformed bodies', async () => {
      const code = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 100 });
      const holder = await signer();
      const good = await signAccountOpening(holder, { code, bank: t.bank.keyId, now: T0 });
      // The signature no longer covers the body.
      const forged = { ...good, body: { ...good.body, bank: t.bank.keyId, code: code.toLowerCase() } };
      expect(await refusal(await open(forged))).toEqual({ status: 403, code: 'ERR_SIGNATURE_INVALID' });
      const otherType = await open({ ...good, type: 'semper.bank.transfer' });
      expect((await refusal(otherType)).status).toBeGreaterThanOrEqual(400);
      // Schema: a body with more than { code, bank }, a code too short, no envelope, the wrong content type.
      const fresh = await t.bank.createAccountOpeningCode({ name: 'Second', amount: 1 });
      const withExtra = await signStatement(
        {
          type: ACCOUNT_OPENING_TYPES.request,
          version: 1,
          dealId: 'account-opening',
          issuedAt: new Date(T0).toISOString(),
          body: { code: fresh, bank: t.bank.keyId, amount: 1e9 },
        },
        await signer(),
      );
      expect(await refusal(await open(withExtra))).toEqual({ status: 400, code: 'ERR_SCHEMA' });
      const short = await signStatement(
        {
          type: ACCOUNT_OPENING_TYPES.request,
          version: 1,
          dealId: 'account-opening',
          issuedAt: new Date(T0).toISOString(),
          body: { code: 'ABC', bank: t.bank.keyId },
        },
        await signer(),
      );
      expect(await refusal(await open(short))).toEqual({ status: 400, code: 'ERR_SCHEMA' });
      const noEnvelope = await app.request('/bank/accounts/open', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: fresh }),
      });
      expect(await refusal(noEnvelope)).toEqual({ status: 400, code: 'ERR_SCHEMA' });
      const text = await app.request('/bank/accounts/open', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ request: good }),
      });
      expect(text.status).toBe(400);
      expect(await t.bank.accountOpenedFor('Second')).toBeUndefined();
    });

    it('limits attempts: guesses per client address, a real code per code', async () => {
      const limited = createBankApp(t.bank, { accountOpeningAttemptsPerMinute: 2, now: () => t.clock.now });
      const send = (request: unknown) =>
        limited.request('/bank/accounts/open', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request }) });
      const guesser = await signer();
      for (const guess of ['AAAA-AAAA-AAAA-AAAA', 'AAAA-AAAA-AAAA-AAAB'])
        expect((await send(await signAccountOpening(guesser, { code: guess, bank: t.bank.keyId, now: T0 }))).status).toBe(403);
      const third = await send(await signAccountOpening(guesser, { code: 'AAAA-AAAA-AAAA-AAAC', bank: t.bank.keyId, now: T0 }));
      expect(await refusal(third)).toEqual({ status: 429, code: 'ERR_RATE_LIMITED' });
      expect(third.headers.get('retry-after')).toBeTruthy();
      // The holder of a real code is not stopped by guesses from the same address.
      const code = await t.bank.createAccountOpeningCode({ name: 'Demo Shopper', amount: 100 });
      const holder = await signer();
      const request = await signAccountOpening(holder, { code, bank: t.bank.keyId, now: T0 });
      expect((await send(request)).status).toBe(200);
      expect((await send(request)).status).toBe(200);
      expect(await refusal(await send(request))).toEqual({ status: 429, code: 'ERR_RATE_LIMITED' });
      t.clock.now = T0 + 61_000;
      expect((await send(request)).status).toBe(200);
    });

    it('makes codes only for a sensible name and amount', async () => {
      await expect(t.bank.createAccountOpeningCode({ name: ' padded ', amount: 1 })).rejects.toThrow(/name/);
      await expect(t.bank.createAccountOpeningCode({ name: 'X', amount: -1 })).rejects.toThrow(/amount/);
      await expect(t.bank.createAccountOpeningCode({ name: 'X', amount: 1.5 })).rejects.toThrow(/amount/);
      await expect(t.bank.createAccountOpeningCode({ name: 'X', validForMs: 0 })).rejects.toThrow(/validForMs/);
    });
  });
});
