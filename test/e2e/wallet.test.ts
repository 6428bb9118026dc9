/**
 * The wallet end to end: the built extension in real Chromium, the real marketplace (`npm start`'s
 * parties, in process, with its bank and the demo shopper's one-time account-opening code), the
 * popup driven like a user: open the account with the code (the bank key's fingerprint shown),
 * withdraw, see the balance (screenshots in English and German), download a backup and restore it
 * in another browser profile, find a coin spent by the other profile as a double spend with its
 * proof, and stop the worker while the bank has served a withdrawal whose answer has not come back:
 * after the restart the balance is right and the account was debited once. The IndexedDB upgrade
 * from version 2 (this release's predecessor) to 3 runs in Chromium too. After every test the
 * bank's invariants hold (money conserved).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BANK_ACCOUNT_CODE_FILE, startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { poolKeys } from '../core/payment/helpers.js';
import { RESULTS, launchExtension, stopServiceWorker, tempDir, popupSection, type ExtensionHarness } from './harness.js';
import { expectAccessible } from './first-sight.js';

const PASSPHRASE = 'blue teapot, seven spoons';
let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let en: ExtensionHarness;
let de: ExtensionHarness | undefined;
let backupFile = '';

beforeAll(async () => {
  dataDir = tempDir('semper-market-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1', bank: { keyFactory: poolKeys(0) } });
  en = await launchExtension();
});

afterEach(async () => {
  // Money is conserved: customers' balances + coins outstanding = money paid in; every posting balances.
  await market.bank.checkInvariants();
});

afterAll(async () => {
  await en?.close();
  await de?.close();
  await market?.close();
  dataDir?.remove();
});

/** The popup (as a tab), reloaded so it shows the current state. */
async function popup(h: ExtensionHarness): Promise<Page> {
  await h.opsPage.goto(h.url('popup/index.html'));
  await popupSection(h.opsPage, 'settings');
  await h.opsPage.locator('#wallet-heading').waitFor();
  return h.opsPage;
}

async function balanceShown(page: Page): Promise<number> {
  const text = await page.locator('.purse .wallet-balance').first().getAttribute('data-amount');
  return Number(text);
}

const shopperAccount = async (): Promise<string> => (await market.bank.accountOpenedFor('Demo Shopper'))!;

describe('wallet in Chromium', () => {
  it("opens the demo shopper's account with the code npm start prints; the bank's key fingerprint is shown and pinned", async () => {
    const code = readFileSync(join(dataDir.path, BANK_ACCOUNT_CODE_FILE), 'utf8').trim();
    expect(code).toBe(market.demoAccountCode);
    const page = await popup(en);
    expect(await page.locator('#wallet > p.note').first().textContent()).toContain('No bank account yet');
    await page.fill('#wallet-bank-url', market.bankUrl);
    await page.fill('#wallet-code', code);
    await page.click('#wallet-open button[type=submit]');
    const note = page.locator('#wallet-open-note.ok', { hasText: market.bankKeyId });
    await note.waitFor({ timeout: 30_000 });
    await page.reload();
    const purse = page.locator(`.purse[data-bank="${market.bankUrl}"]`);
    await purse.waitFor();
    expect(await purse.getAttribute('data-phase')).toBe('open');
    expect(await purse.locator('.bank-fingerprint').textContent()).toBe(market.bankKeyId);
    expect(await balanceShown(page)).toBe(0);
    // The code is used: the bank opened the account (500.00 EUR) for the extension's account key.
    expect(await market.bank.balance(await shopperAccount())).toBe(50_000);
    const keys = await en.operation('keys.list', {});
    const accountKey = keys.keys.find((k) => k.purpose === 'account');
    expect(accountKey?.origin).toBe(market.bankUrl);
    expect(await market.bank.accountOfKey(accountKey!.keyId)).toBe(await shopperAccount());
    // A second opening with the same code is refused by the bank.
    const again = await launchExtension();
    try {
      const r = await again.operationResult('wallet.openAccount', { bankUrl: market.bankUrl, code });
      expect(r).toMatchObject({ ok: false, error: { code: 'ERR_REGISTRATION_CODE' } });
    } finally {
      await again.close();
    }
  });

  it('withdraws in the popup and shows the balance and coins (English)', async () => {
    const page = await popup(en);
    const input = page.locator('.wallet-withdraw input');
    await input.fill('123.40');
    await input.press('Enter'); // keyboard: the form submits
    await page.locator('.wallet-withdraw [role=status]', { hasText: '€123.40' }).waitFor({ timeout: 60_000 });
    await page.reload();
    await page.locator('.purse .wallet-balance[data-amount="12340"]').waitFor();
    expect(await page.locator('.purse .wallet-balance').textContent()).toBe('€123.40');
    expect(await page.locator('.purse .wallet-coins').textContent()).toContain('2 × €50.00');
    expect(await page.locator('.wallet-history tbody tr').first().getAttribute('data-kind')).toBe('withdrawal');
    expect(await market.bank.balance(await shopperAccount())).toBe(50_000 - 12_340);
    await page.locator('#wallet').screenshot({ path: join(RESULTS, 'wallet-en.png') });
    await expectAccessible(page, 'popup, wallet (en)');
  });

  it('downloads an encrypted backup and restores it in another profile (German): the same balance', async () => {
    const page = await popup(en);
    await page.fill('#wallet-backup-passphrase', PASSPHRASE);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.click('#wallet-backup-button')]);
    expect(download.suggestedFilename()).toMatch(/^semper-wallet-\d{4}-\d{2}-\d{2}\.json$/);
    const path = join(dataDir.path, download.suggestedFilename());
    await download.saveAs(path);
    backupFile = readFileSync(path, 'utf8');
    expect(JSON.parse(backupFile)).toMatchObject({ format: 'semper.wallet-backup', version: 1, kdf: { name: 'PBKDF2', iterations: 600_000 } });

    de = await launchExtension({ lang: 'de' });
    const dePage = await popup(de);
    expect(await dePage.locator('#wallet-heading').textContent()).toBe('Geldbörse');
    await dePage.setInputFiles('#wallet-restore-file', path);
    await dePage.fill('#wallet-restore-passphrase', 'not the passphrase');
    await dePage.click('#wallet-restore-button');
    await dePage.locator('#wallet-backup-note.error').waitFor({ timeout: 60_000 });
    await dePage.fill('#wallet-restore-passphrase', PASSPHRASE);
    await dePage.click('#wallet-restore-button');
    await dePage.locator('#wallet-backup-note.ok', { hasText: 'Wiederhergestellt' }).waitFor({ timeout: 60_000 });
    await dePage.reload();
    await dePage.locator('.purse .wallet-balance[data-amount="12340"]').waitFor();
    expect((await dePage.locator('.purse .wallet-balance').textContent())?.replace(/\s/g, ' ')).toBe('123,40 €');
    expect(await dePage.locator('.purse .bank-fingerprint').textContent()).toBe(market.bankKeyId);
    await dePage.locator('#wallet').screenshot({ path: join(RESULTS, 'wallet-de.png') });
  });

  it('a restored coin spent in the other profile shows as double-spent with the proof, not lost', async () => {
    // The German profile renews all its coins first (they are spent at the bank for new ones).
    const dePage = await popup(de!);
    await dePage.click('.wallet-renew button');
    await dePage.locator('.wallet-renew [role=status]').waitFor({ timeout: 60_000 });
    expect((await de!.operation('wallet.status', {})).purses[0]!.balance).toEqual({ amount: 12_340, currency: 'EUR' });
    // The English profile renews the same coins: the bank refuses with the first spend as proof.
    const page = await popup(en);
    await page.click('.wallet-renew button');
    await page.locator('.wallet-renew [role=alert]', { hasText: 'already been spent' }).waitFor({ timeout: 90_000 });
    await page.reload();
    const row = page.locator('.wallet-history tbody tr[data-kind="double-spend"]').first();
    await row.waitFor();
    expect(await row.locator('[data-proof-type]').getAttribute('data-proof-type')).toBe('semper.cash.spend');
    const status = (await en.operation('wallet.status', {})).purses[0]!;
    const found = status.history.filter((h) => h.kind === 'double-spend');
    // Every coin the other profile renewed is found, one refusal at a time, each with the spend that proves where it went.
    expect(found.length).toBe(11);
    for (const f of found) expect(f.proof?.type).toBe('semper.cash.spend');
    expect(found.reduce((n, f) => n + f.amount!.amount, 0)).toBe(12_340);
    expect(status.balance!.amount).toBe(0);
  });

  it('a worker stopped after the bank served a withdrawal, before its answer came back, loses nothing: the balance is right after the restart', async () => {
    const before = (await en.operation('wallet.status', {})).purses[0]!.balance!.amount;
    const debitedBefore = await market.bank.balance(await shopperAccount());
    // The bank serves the withdrawal (debit and blind signatures committed), then holds the answer.
    const original = market.bank.withdraw.bind(market.bank);
    let served!: () => void;
    const servedNow = new Promise<void>((r) => (served = r));
    market.bank.withdraw = (async (input: unknown) => {
      const answer = await original(input);
      served();
      await new Promise((r) => setTimeout(r, 15_000));
      return answer;
    }) as typeof market.bank.withdraw;
    try {
      void en.operationResult('wallet.withdraw', { bankUrl: market.bankUrl, amount: { amount: 2_000, currency: 'EUR' } }).catch(() => undefined);
      await servedNow;
      expect(await market.bank.balance(await shopperAccount())).toBe(debitedBefore - 2_000);
      await stopServiceWorker(en);
    } finally {
      market.bank.withdraw = original;
    }
    // Woken by an operation of the start script alone (extension/worker/background.ts): the purse has a withdrawal in
    // flight, so its record is not idle and the start loads the rest of the worker, which re-sends it to the bank.
    let resent = 0;
    market.bank.withdraw = (async (input: unknown) => {
      resent++;
      return original(input);
    }) as typeof market.bank.withdraw;
    try {
      expect(await en.operation('settings.get', {})).toMatchObject({ caUrl: expect.any(String) });
      await expect.poll(() => resent, { timeout: 30_000, interval: 200 }).toBeGreaterThan(0);
    } finally {
      market.bank.withdraw = original;
    }
    // Later messages find it resumed.
    await expect
      .poll(async () => (await en.operationResult('wallet.status', {})).ok && (await en.operation('wallet.status', {})).purses[0]!.balance!.amount, {
        timeout: 60_000,
        interval: 500,
      })
      .toBe(before + 2_000);
    const status = (await en.operation('wallet.status', {})).purses[0]!;
    expect(status.pending).toEqual([]);
    expect(await market.bank.balance(await shopperAccount())).toBe(debitedBefore - 2_000);
    const page = await popup(en);
    expect(await balanceShown(page)).toBe(before + 2_000);
  });
});

describe('IndexedDB version 2 → 4 in Chromium', () => {
  it("an extension's version-2 database gets the wallets store and keeps its deals and settings", async () => {
    const h = await launchExtension({ onboarded: false });
    try {
      await h.operation('listDeals', {});
      await stopServiceWorker(h);
      // Put back a version-2 database as this release's predecessor left it (store layout of worker/migrations.ts createStores).
      const made = await h.opsPage.evaluate(async () => {
        const req = <T>(r: IDBRequest<T>) =>
          new Promise<T>((resolve, reject) => {
            r.onsuccess = () => resolve(r.result);
            r.onerror = () => reject(r.error);
          });
        await new Promise<void>((resolve, reject) => {
          const del = indexedDB.deleteDatabase('semper');
          del.onsuccess = () => resolve();
          del.onerror = () => reject(del.error);
          del.onblocked = () => reject(new Error('blocked'));
        });
        const open = indexedDB.open('semper', 2);
        open.onupgradeneeded = () => {
          const db = open.result;
          db.createObjectStore('deals', { keyPath: 'dealId' }).createIndex('byCreated', 'createdAt');
          db.createObjectStore('archive', { keyPath: ['dealId', 'digest'] }).createIndex('byDeal', 'dealId');
          db.createObjectStore('roots', { keyPath: 'fingerprint' });
          db.createObjectStore('keys', { keyPath: 'keyId' }).createIndex('byPurpose', 'purpose');
          db.createObjectStore('tokens', { keyPath: 'credentialId' });
          db.createObjectStore('settings');
          db.createObjectStore('ttps', { keyPath: 'fingerprint' });
          db.createObjectStore('meta');
        };
        const db = await req(open);
        const tx = db.transaction(['deals', 'settings', 'meta'], 'readwrite');
        tx.objectStore('deals').put({
          kind: 'purchase',
          dealId: 'deal-v2-0000000000000000',
          origin: 'https://shop.example',
          createdAt: 1,
          updatedAt: 2,
          state: { phase: 'failed', dealId: 'deal-v2-0000000000000000', error: { code: 'ERR_OFFER_EXPIRED', message: 'expired' } },
          status: 'failed',
          terminal: true,
          result: { kind: 'failed', error: { code: 'ERR_OFFER_EXPIRED', message: 'expired' } },
        });
        tx.objectStore('settings').put({ personalisation: { phrase: 'version two phrase', picture: 3, setAt: 1 } }, 'shopper');
        tx.objectStore('meta').put(true, 'legacyImported');
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
        const version = db.version;
        db.close();
        return version;
      });
      expect(made).toBe(2);
      // The worker wakes, opens 'semper' at its current version and upgrades it (3: wallets, 4: arbiters, 5: tsas).
      const deals = await h.operation('listDeals', {});
      expect(deals.deals.map((d) => d.dealId)).toEqual(['deal-v2-0000000000000000']);
      expect((await h.operation('identity.status', {})).personalisation).toEqual({ phrase: 'version two phrase', picture: 3 });
      expect(await h.operation('wallet.status', {})).toEqual({ purses: [] });
      const after = await h.opsPage.evaluate(async () => {
        const open = indexedDB.open('semper');
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        const out = { version: db.version, stores: [...db.objectStoreNames].sort() };
        db.close();
        return out;
      });
      expect(after).toEqual({ version: 5, stores: ['arbiters', 'archive', 'deals', 'keys', 'meta', 'roots', 'settings', 'tokens', 'tsas', 'ttps', 'wallets'] });
    } finally {
      await h.close();
    }
  });
});
