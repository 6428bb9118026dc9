/**
 * The bank cannot link a coin to its withdrawal: after withdrawals and deposits, every row of every
 * table of the bank's database is dumped, and no row holds both something of the withdrawal side
 * (blinded message, blind signature) and something of the coin (its id, key, signature, prefix);
 * the withdrawal rows hold nothing of the coin, the deposit rows nothing of the blinded side, and
 * the blinding inverse appears nowhere. The merchant's view (the spends) holds nothing of the
 * withdrawal either.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBase64url } from '../../../core/encoding/index.js';
import { type IssueBody, signSpend } from '../../../core/payment/cash/index.js';
import {
  closeCheckingInvariants,
  type Customer,
  CURRENCY,
  customer,
  dealId,
  openTestBank,
  T0,
  type TestBank,
  withdraw,
  bankRows,
} from '../../core/payment/helpers.js';
import { ENGINES } from '../../helpers/engines.js';

describe.each(ENGINES)('bank unlinkability on %s', (engine) => {
  let t: TestBank;
  let alice: Customer;
  let shop: Customer;

  beforeEach(async () => {
    t = await openTestBank({ engine });
    alice = await customer(t.bank, 2_000);
    shop = await customer(t.bank);
  });

  afterEach(() => closeCheckingInvariants(t));

  /** Every row of every table as text (BLOBs as base64url and base64 and hex). */
  async function dump(bank: TestBank['bank']): Promise<{ table: string; text: string }[]> {
    const tables = await bankRows<{ name: string }>(
      bank,
      bank.database.engine === 'sqlite'
        ? "SELECT name FROM sqlite_master WHERE type = 'table'"
        : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
    );
    expect(tables.length).toBeGreaterThan(10);
    const rows: { table: string; text: string }[] = [];
    for (const { name } of tables) {
      for (const row of await bankRows(bank, `SELECT * FROM "${name}"`)) {
        const text = Object.values(row)
          .map((v) => (Buffer.isBuffer(v) ? `${encodeBase64url(v)} ${v.toString('base64')} ${v.toString('hex')}` : String(v)))
          .join(' | ');
        rows.push({ table: name, text });
      }
    }
    return rows;
  }

  describe('unlinkability', () => {
    it('nothing the bank stored relates a coin to its withdrawal', async () => {
      const withdrawals = [await withdraw(t, alice, [100, 200]), await withdraw(t, alice, [500])];
      const coins = withdrawals.flatMap((w) => w.coins);
      const secrets = withdrawals.flatMap((w) => w.secrets);
      const blindSigs = withdrawals.flatMap((w) => (w.answer.receipt.body as unknown as IssueBody).blindSignatures);
      const spends = [];
      for (const c of coins) {
        const value = coins.indexOf(c) === 0 ? 100 : coins.indexOf(c) === 1 ? 200 : 500;
        const spend = await signSpend(c, { amount: value, currency: CURRENCY }, { payee: shop.keyId, reference: dealId(), now: T0 });
        spends.push(spend);
        await t.bank.deposit({ spends: [spend] });
      }
      const withdrawalSide = [...secrets.map((s) => s.blindedMsg), ...blindSigs];
      const coinSide = [...secrets.map((s) => s.coinId), ...coins.flatMap((c) => [c.coin.signature, c.coin.prefix, c.coin.publicJwk.x, c.coin.publicJwk.y])];
      const rows = await dump(t.bank);
      // The test can fail: each side is there (withdrawals and deposits were stored).
      expect(rows.some((r) => withdrawalSide.some((w) => r.text.includes(w)))).toBe(true);
      expect(rows.some((r) => coinSide.some((c) => r.text.includes(c)))).toBe(true);
      for (const r of rows) {
        const w = withdrawalSide.filter((x) => r.text.includes(x));
        const c = coinSide.filter((x) => r.text.includes(x));
        expect(w.length === 0 || c.length === 0, `${r.table} row links ${w[0]} to ${c[0]}`).toBe(true);
        if (r.table === 'issues') expect(c, 'a withdrawal row names a coin').toEqual([]);
        if (r.table === 'spent_coins' || r.table === 'deposits') expect(w, 'a deposit row names a blinded message').toEqual([]);
        for (const s of secrets) expect(r.text.includes(s.inv), `${r.table} holds a blinding inverse`).toBe(false);
      }
      // The merchant's view: the spends it received name nothing of the withdrawal side.
      const merchantView = JSON.stringify(spends);
      for (const w of withdrawalSide) expect(merchantView.includes(w)).toBe(false);
    });
  });
});
