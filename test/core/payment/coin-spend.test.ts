/** Coins (blind, finalize, verify against the package) and spends (bound to payee, deal and value). */
import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64url } from '../../../core/encoding/index.js';
import {
  cashPayment,
  coinIdOf,
  coinMessage,
  type DenominationSet,
  finalizeCoin,
  prepareCoin,
  type SpendableCoin,
  signSpend,
  verifyCoin,
  verifyDenominationList,
  verifySpend,
} from '../../../core/payment/cash/index.js';
import { seededRandom } from '../../../core/machine.js';
import { CURRENCY, DAY, fixtureDenomination, signer, signKeyList, T0, refusalCode } from './helpers.js';

const code = refusalCode;

let set: DenominationSet;
let sign100: (m: string) => string;
let sign500: (m: string) => string;
let id100: string;
let id500: string;
let coins: SpendableCoin[];
const payee = 'P'.repeat(43);
const deal = 'deal-coin-spend-1';

beforeAll(async () => {
  const a = await fixtureDenomination(2, 100);
  const b = await fixtureDenomination(3, 500);
  sign100 = a.blindSign;
  sign500 = b.blindSign;
  id100 = a.denomination.id;
  id500 = b.denomination.id;
  const bank = await signer();
  set = await verifyDenominationList(await signKeyList(bank, [a.denomination, b.denomination]), { bankKeyId: bank.keyId });
  coins = [];
  for (let i = 0; i < 3; i++) {
    const secret = await prepareCoin(set.byId.get(id100)!);
    coins.push({ coin: await finalizeCoin(secret, sign100(secret.blindedMsg), set.byId.get(id100)!), privateJwk: secret.privateJwk });
  }
});

describe('coins', () => {
  it('a finalized coin verifies, also under the package (RSABSSA-SHA384-PSS-Randomized verify)', async () => {
    const d = set.byId.get(id100)!;
    for (const c of coins) {
      expect(await verifyCoin(c.coin, d)).toBe(true);
      const prepared = new Uint8Array([...decodeBase64url(c.coin.prefix), ...coinMessage(d.id, await coinIdOf(c.coin))]);
      expect(await RSABSSA.SHA384.PSS.Randomized().verify(d.publicKey, decodeBase64url(c.coin.signature), prepared)).toBe(true);
    }
    // Under another denomination's key it does not.
    expect(await verifyCoin({ ...coins[0]!.coin, denominationId: id500 }, set.byId.get(id500)!)).toBe(false);
  });

  it('the blinded message reveals nothing the coin shows: fresh per coin, not the message, not the signature', async () => {
    const d = set.byId.get(id100)!;
    const s1 = await prepareCoin(d);
    const s2 = await prepareCoin(d);
    expect(s1.blindedMsg).not.toBe(s2.blindedMsg);
    expect(s1.prefix).not.toBe(s2.prefix);
    const coin = await finalizeCoin(s1, sign100(s1.blindedMsg), d);
    expect(coin.signature).not.toBe(sign100(s1.blindedMsg));
    expect(JSON.stringify(coin)).not.toContain(s1.blindedMsg);
  });

  it("finalize refuses a blind signature that is not the bank's over this coin (ERR_SIGNATURE_INVALID) or of another denomination", async () => {
    const d = set.byId.get(id100)!;
    // A message blinded under the 100 key is a number below its modulus, not always below the 500
    // key's (RSA without padding refuses those): take coins the other key can sign at all.
    let s1 = await prepareCoin(d);
    let by500: string | undefined;
    while (by500 === undefined) {
      try {
        by500 = sign500(s1.blindedMsg);
      } catch {
        s1 = await prepareCoin(d);
      }
    }
    const s2 = await prepareCoin(d);
    expect(await code(finalizeCoin(s1, sign100(s2.blindedMsg), d))).toBe('ERR_SIGNATURE_INVALID');
    expect(await code(finalizeCoin(s1, by500, d))).toBe('ERR_SIGNATURE_INVALID');
    expect(await code(finalizeCoin(s1, sign100(s1.blindedMsg), set.byId.get(id500)!))).toBe('ERR_DENOMINATION');
  });
});

describe('spends', () => {
  const value = { amount: 100, currency: CURRENCY };
  const expect100 = { now: T0, use: 'spend' as const, payee, reference: deal };
  const check = (s: unknown, over: Record<string, unknown> = {}) => verifySpend(s, { ...expect100, denominations: set, ...over });

  it('binds the coin to one payee, one deal and its value', async () => {
    const spend = await signSpend(coins[0]!, value, { payee, reference: deal, now: T0 });
    const v = await check(spend);
    expect(v.coinId).toBe(await coinIdOf(coins[0]!.coin));
    expect(spend.signature.signer).toEqual({ kind: 'jwk', jwk: coins[0]!.coin.publicJwk });
    expect(await code(check(spend, { payee: 'Q'.repeat(43) }))).toBe('ERR_ITEM_MISMATCH');
    expect(await code(check(spend, { reference: 'deal-coin-spend-2' }))).toBe('ERR_ITEM_MISMATCH');
    // A refresh spend (bound to outputs) is no payment.
    const refresh = await signSpend(coins[0]!, value, { payee, reference: deal, outputs: 'O'.repeat(43), now: T0 });
    expect(await code(check(refresh))).toBe('ERR_ITEM_MISMATCH');
  });

  it('refuses a spend re-addressed after signing, signed by another coin, of a wrong value, or out of its time', async () => {
    const spend = await signSpend(coins[0]!, value, { payee, reference: deal, now: T0 });
    const readdressed = structuredClone(spend);
    readdressed.body.payee = 'Q'.repeat(43);
    expect(await code(check(readdressed, { payee: 'Q'.repeat(43) }))).toBe('ERR_SIGNATURE_INVALID');
    const other = await signSpend({ coin: coins[0]!.coin, privateJwk: coins[1]!.privateJwk }, value, { payee, reference: deal, now: T0 });
    expect(await code(check(other))).toBe('ERR_SIGNATURE_INVALID');
    const inflated = await signSpend(coins[0]!, { amount: 500, currency: CURRENCY }, { payee, reference: deal, now: T0 });
    expect(await code(check(inflated))).toBe('ERR_DENOMINATION');
    expect(await code(check(spend, { now: set.byId.get(id100)!.spendUntil + 1 }))).toBe('ERR_DENOMINATION');
    expect(await code(check(spend, { now: set.byId.get(id100)!.spendUntil + 1, use: 'deposit' }))).toBe('accepted');
    expect(await code(check(spend, { now: T0 + 1000 * DAY, use: 'deposit' }))).toBe('ERR_DENOMINATION');
  });

  it("the cash driver's receive: the whole amount, each coin once", async () => {
    const api = cashPayment({ random: seededRandom(1), denominations: set });
    const spends = await Promise.all(coins.slice(0, 2).map((c) => signSpend(c, value, { payee, reference: deal, now: T0 })));
    const owed = { amount: { amount: 200, currency: CURRENCY }, payee, reference: deal, now: T0 };
    expect((await api.receive({ spends }, owed)).spends).toHaveLength(2);
    expect(await code(api.receive({ spends: spends.slice(0, 1) }, owed))).toBe('ERR_ITEM_MISMATCH');
    expect(await code(api.receive({ spends: [spends[0], spends[0]] }, owed))).toBe('ERR_DOUBLE_SPEND');
    expect(await code(api.receive({ spends: [] }, owed))).toBe('ERR_SCHEMA');
  });
});
