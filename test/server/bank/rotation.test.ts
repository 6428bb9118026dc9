/**
 * Denomination keys: rotation announces the next key before the current one stops issuing; a key
 * that stopped issuing is still redeemed until its depositUntil and listed until then; keys are
 * persisted (PKCS#8 in the 0600 database) and load back after a restart.
 */
import { generateKeyPairSync } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSemperError } from '../../../core/errors.js';
import { prepareCoin, signSpend, verifyDenominationList } from '../../../core/payment/cash/index.js';
import { BankService } from '../../../server/bank/index.js';
import { CURRENCY, customer, DAY, dealId, finalizeAll, poolKeys, T0, withdrawalRequest } from '../../core/payment/helpers.js';
import { tempDataDir } from '../helpers.js';

const rotation = { values: [100], withdrawPeriodMs: 10 * DAY, spendPeriodMs: 5 * DAY, depositGraceMs: 5 * DAY, announceAheadMs: 3 * DAY, overlapMs: 1 * DAY };
const open: BankService[] = [];
const dirs: { remove(): void }[] = [];

afterEach(async () => {
  for (const b of open.splice(0)) {
    await b.checkInvariants();
    await b.close();
  }
  for (const d of dirs.splice(0)) d.remove();
});

async function bankAt(dir: string, clock: { now: number }, keyStart = 0): Promise<BankService> {
  const bank = await BankService.open({ dataDir: dir, currency: CURRENCY, clock: () => clock.now, keyFactory: poolKeys(keyStart), rotation });
  open.push(bank);
  return bank;
}

describe('denomination rotation', () => {
  it('announces the next key before the current stops issuing; old coins redeem until depositUntil', async () => {
    const dir = tempDataDir('bank-rotation');
    dirs.push(dir);
    const clock = { now: T0 };
    const bank = await bankAt(dir.dir, clock);
    const listAt = async (now: number) => {
      clock.now = now;
      return verifyDenominationList(await bank.denominationList(), { bankKeyId: bank.keyId });
    };
    const first = await listAt(T0);
    expect(first.byId.size).toBe(1);
    const a = [...first.byId.values()][0]!;
    expect([a.validFrom, a.withdrawUntil, a.spendUntil, a.depositUntil]).toEqual([T0, T0 + 10 * DAY, T0 + 15 * DAY, T0 + 20 * DAY]);
    expect((await listAt(T0 + 6 * DAY)).byId.size).toBe(1);
    // Three days before A stops issuing, B is made and listed, valid a day before A's end.
    const announced = await listAt(T0 + 7 * DAY);
    expect(announced.byId.size).toBe(2);
    const b = [...announced.byId.values()].find((d) => d.id !== a.id)!;
    expect(b.validFrom).toBe(T0 + 9 * DAY);

    const alice = await customer(bank, 1_000);
    const shop = await customer(bank);
    // B does not issue yet.
    const early = await prepareCoin(b);
    await expect(bank.withdraw(await withdrawalRequest(alice, [early], undefined, clock.now))).rejects.toMatchObject({ code: 'ERR_DENOMINATION' });
    // A coin of A, withdrawn while A issues.
    const secret = await prepareCoin(a);
    const [coin] = await finalizeAll(announced, [secret], await bank.withdraw(await withdrawalRequest(alice, [secret], undefined, clock.now)));
    // Both issue during the overlap.
    clock.now = T0 + 9.5 * DAY;
    await bank.withdraw(await withdrawalRequest(alice, [await prepareCoin(b)], undefined, clock.now));
    // A stops issuing at its withdrawUntil …
    clock.now = T0 + 10 * DAY;
    await expect(bank.withdraw(await withdrawalRequest(alice, [await prepareCoin(a)], undefined, clock.now))).rejects.toMatchObject({
      code: 'ERR_DENOMINATION',
    });
    // … but its coins are redeemed until its depositUntil, and it stays listed until then.
    const late = await listAt(T0 + 19 * DAY);
    expect(late.byId.has(a.id)).toBe(true);
    await bank.deposit({ spends: [await signSpend(coin!, a.value, { payee: shop.keyId, reference: dealId(), now: clock.now })] });
    expect(await bank.balance(shop.account)).toBe(100);
    const gone = await listAt(T0 + 21 * DAY);
    expect(gone.byId.has(a.id)).toBe(false);
    expect(gone.byId.has(b.id)).toBe(true);
  });

  it('keys persist as PKCS#8 in the 0600 database and load back: coins issued before a restart redeem after it', async () => {
    const dir = tempDataDir('bank-restart');
    dirs.push(dir);
    const clock = { now: T0 };
    const bank = await bankAt(dir.dir, clock);
    expect(statSync(join(dir.dir, 'bank.sqlite')).mode & 0o777).toBe(0o600);
    const set = await verifyDenominationList(await bank.denominationList(), { bankKeyId: bank.keyId });
    const alice = await customer(bank, 500);
    const shop = await customer(bank);
    const d = [...set.byId.values()][0]!;
    const secret = await prepareCoin(d);
    const [coin] = await finalizeAll(set, [secret], await bank.withdraw(await withdrawalRequest(alice, [secret])));
    bank.close();
    open.splice(open.indexOf(bank), 1);
    // A different key factory: a restart must not make new keys.
    const again = await bankAt(dir.dir, clock, 8);
    expect(again.keyId).toBe(bank.keyId);
    const reloaded = await verifyDenominationList(await again.denominationList(), { bankKeyId: again.keyId });
    expect([...reloaded.byId.keys()]).toEqual([...set.byId.keys()]);
    await again.deposit({ spends: [await signSpend(coin!, d.value, { payee: shop.keyId, reference: dealId(), now: T0 })] });
    expect(await again.balance(shop.account)).toBe(100);
    // A new withdrawal after the restart is signed by the reloaded key (the coin finalises).
    const s2 = await prepareCoin(d);
    const [c2] = await finalizeAll(reloaded, [s2], await again.withdraw(await withdrawalRequest(alice, [s2])));
    expect(c2).toBeDefined();
  });

  it('a stored key that is not RSA-2048 is refused at load', async () => {
    const dir = tempDataDir('bank-badkey');
    dirs.push(dir);
    let error: unknown;
    try {
      await BankService.open({
        dataDir: dir.dir,
        currency: CURRENCY,
        clock: () => T0,
        rotation,
        keyFactory: () => {
          return { pkcs8: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' }) };
        },
      });
    } catch (e) {
      error = e;
    }
    expect(isSemperError(error) && error.code).toBe('ERR_KEY');
  });
});

describe('rotation under concurrent key-list requests', () => {
  it('makes the next key once when many requests ask at the moment it is due; keys are made off the event loop', async () => {
    const dir = tempDataDir('bank-rotation-concurrent');
    dirs.push(dir);
    const clock = { now: T0 };
    // A factory that yields before handing out each key, as the default (thread-pool) one does.
    const pool = poolKeys(0);
    const bank = await BankService.open({
      dataDir: dir.dir,
      currency: CURRENCY,
      clock: () => clock.now,
      keyFactory: async () => {
        await new Promise((r) => setTimeout(r, 5));
        return pool();
      },
      rotation,
    });
    open.push(bank);
    clock.now = T0 + 7 * DAY;
    const lists = await Promise.all(Array.from({ length: 8 }, () => bank.denominationList()));
    for (const list of lists) expect((await verifyDenominationList(list, { bankKeyId: bank.keyId })).byId.size).toBe(2);
  });

  it('the default factory makes an RSA-2048 key with e = 65537, asynchronously', async () => {
    const { generateRsaKey } = await import('../../../server/bank/index.js');
    const made = generateRsaKey();
    expect(made).toBeInstanceOf(Promise);
    const { pkcs8 } = await made;
    const { createPrivateKey } = await import('node:crypto');
    const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    expect(key.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
  });
});
