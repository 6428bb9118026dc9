/**
 * Onboarding through the trusted window, in Chromium with the real marketplace: the first
 * purchase of an un-set-up Semper opens the setup (identity, security phrase + picture, CA
 * registration with a one-time code) and then continues to the offer, whose window shows the
 * phrase; the key store afterwards: rotation, and revocation at the CA signed by the certified key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { RESULTS, clickInTrustedWindow, launchExtension, pageResult, tempDir, waitForTrustedWindow, popupSection, type ExtensionHarness } from './harness.js';
import { expectAccessible } from './first-sight.js';

const PHRASE = 'Otters juggle plums at dawn';
const PICTURE = 7;
let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness;

beforeAll(async () => {
  dataDir = tempDir('semper-onboarding-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1' });
  harness = await launchExtension({ onboarded: false });
  await harness.operation('settings.addRoot', { certificate: market.rootPem });
});

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

describe('onboarding in the trusted window', () => {
  it('the first purchase sets Semper up (identity, phrase, picture, CA registration), then shows the offer with the phrase', async () => {
    expect((await harness.operation('identity.status', {})).personalised).toBe(false);
    const page = await harness.context.newPage();
    await page.goto(`${market.shopUrl}/product/ink-drying-report`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);

    // 1. identity
    await tw.locator('#ob-for-deal').waitFor();
    await expect.poll(() => tw.locator('#security-phrase-missing').isVisible()).toBe(true);
    await tw.click('#create-identity');
    // 2. phrase + picture (too short first: refused in place)
    await tw.locator('#phrase').fill('ab');
    await tw.click(`label[for=emblem-${PICTURE}]`);
    await tw.click('#save-personalisation');
    await expect.poll(() => tw.locator('#ob-error').textContent()).toContain('3 to 64');
    await tw.locator('#phrase').fill(PHRASE);
    await tw.click('#save-personalisation');
    // The header shows the phrase and picture from now on.
    await expect.poll(() => tw.locator('#security-phrase').textContent()).toBe(PHRASE);
    expect(await tw.locator('#security-emblem').getAttribute('data-emblem')).toBe(String(PICTURE));

    // 3. CA registration: the URL of this marketplace's CA, a wrong code, then the right one.
    await tw.locator('#ca-url').fill(market.caUrl);
    await tw.locator('#registration-code').fill('ABCD-EFGH-JKMN-PQRS');
    await tw.click('#register');
    await expect.poll(() => tw.locator('#ob-error').textContent()).toMatch(/registration code/);
    const code = await market.createRegistrationCode('Alice Example');
    await tw.locator('#registration-code').fill(code.toLowerCase()); // typing is forgiving
    await tw.click('#register');
    await expect.poll(() => tw.locator('#certified-name').textContent()).toBe('Alice Example');
    expect(await tw.locator('#certificate-untrusted').count()).toBe(0); // chains to the root we trust
    await expectAccessible(tw, 'trusted window, onboarding (en)');
    await tw.screenshot({ path: join(RESULTS, 'onboarding.png'), fullPage: true });
    await tw.click('#certify-next');

    // 4. security key: skipped here (test/e2e/tokens.test.ts), continue to the offer.
    await tw.click('#finish-setup');
    await tw.locator('#merchant-name').waitFor();
    expect(await tw.locator('#security-phrase').textContent()).toBe(PHRASE);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    expect(await pageResult(page)).toMatchObject({ status: 'completed' });

    // The certificate is stored with the identity key, which signed the order.
    const status = await harness.operation('identity.status', {});
    expect(status).toMatchObject({ personalised: true, personalisation: { phrase: PHRASE, picture: PICTURE }, caUrl: market.caUrl });
    expect(status.identity?.certificate).toMatchObject({ name: 'Alice Example', trusted: true });
    const serial = status.identity!.certificate!.serial;
    const record = (await (await fetch(`${market.caUrl}/ca/certificates/${serial}`)).json()) as { commonName: string; role: string };
    expect(record).toMatchObject({ commonName: 'Alice Example', role: 'shopper' });

    // The next offer window goes straight to the offer, with the phrase in its header.
    await page.reload();
    await page.click('#buy');
    const next = await waitForTrustedWindow(harness);
    await next.locator('#merchant-name').waitFor();
    expect(await next.locator('#security-phrase').textContent()).toBe(PHRASE);
    expect(await next.locator('#create-identity').count()).toBe(0);
    await clickInTrustedWindow(next, '#decline');
    expect(await pageResult(page)).toMatchObject({ status: 'error', code: '4001' });
    await page.close();
  });

  it('the popup opens the setup window; keys: rotation keeps the old key, revocation at the CA is signed by the certified key', async () => {
    const popup = await harness.context.newPage();
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'identity');
    await expect.poll(() => popup.locator('#popup-phrase').textContent()).toBe(PHRASE);
    const setupOpened = harness.context.waitForEvent('page', { predicate: (p) => p.url().includes('trusted-window/index.html?view=setup') });
    await popup.click('#setup-semper');
    const setup = await setupOpened;
    await expect.poll(() => setup.locator('#security-phrase').textContent()).toBe(PHRASE);
    await setup.close();

    const before = await harness.operation('identity.status', {});
    const certifiedKeyId = before.identity!.keyId;
    const serial = before.identity!.certificate!.serial;

    // Rotate from the popup: a new identity; the old one is kept, marked rotated, with its certificate.
    await popup.click('#rotate-identity');
    await popup.click('#rotate-yes');
    await expect.poll(async () => (await harness.operation('getIdentity', {})).keyId).not.toBe(certifiedKeyId);
    const keys = (await harness.operation('keys.list', {})).keys;
    expect(keys.find((k) => k.keyId === certifiedKeyId)).toMatchObject({ purpose: 'identity', status: 'rotated', certificate: { serial } });
    expect(keys.filter((k) => k.purpose === 'identity' && k.status === 'active')).toHaveLength(1);

    // Revoke the old certificate from the popup: the CA accepts the request signed by that key.
    await popup.reload();
    const row = popup.locator(`#keys tr[data-key="${certifiedKeyId}"]`);
    await row.getByRole('button', { name: /Revoke certificate/ }).click();
    await row.locator('select').selectOption('superseded');
    await row.getByRole('button', { name: 'Revoke at the CA' }).click();
    await expect.poll(() => popup.locator(`#keys tr[data-key="${certifiedKeyId}"]`).getAttribute('data-status')).toBe('revoked');
    const status = (await (await fetch(`${market.caUrl}/ca/status/${serial}`)).json()) as { status: string };
    expect(status.status).toBe('revoked');
    await popup.close();
  });
});
