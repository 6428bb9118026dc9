/**
 * Hardware-token signing in Chromium with a CDP virtual authenticator (WebAuthn domain): register
 * a security key in the trusted window, buy the product whose offer demands a token with user
 * verification, sign the order with the token, and check the merchant's stored order offline;
 * a token that does not verify the user is refused with a clear message and the deal stays open;
 * the toolbar badge counts deals awaiting the user; anonymous deals use one pseudonym per shop;
 * the shopper's own threshold makes the window ask for a token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { createWebAuthnVerifier } from '../../core/crypto/webauthn.js';
import { verifyStatement, type Statement } from '../../core/statements/index.js';
import { STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import { EXTENSION_ORIGIN } from '../../core/protocol/extension-id.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import {
  DIST,
  HARNESS_PHRASE,
  RESULTS,
  clickInTrustedWindow,
  launchExtension,
  pageResult,
  tempDir,
  waitForTrustedWindow,
  type ExtensionHarness,
  popupSection,
} from './harness.js';
import { expectAccessible } from './first-sight.js';

const ARCHIVE = 'standards-archive';
const CHEAP = 'fm-screening-abstract';
const REPORT = 'ink-drying-report';

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness;

beforeAll(async () => {
  dataDir = tempDir('semper-tokens-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1' });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: market.rootPem });
});

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

/** CDP WebAuthn.Credential (binary fields are base64). */
interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

/**
 * A virtual CTAP2 authenticator on one page (CDP WebAuthn domain). Chromium keeps virtual
 * authenticators per tab, and every trusted window is a new one: the registered credential is
 * carried over with WebAuthn.getCredentials / addCredential, as the same physical key would be.
 */
async function virtualAuthenticator(page: Page, userVerified: boolean, credential?: VirtualCredential): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await harness.context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: userVerified,
      automaticPresenceSimulation: true,
    },
  });
  if (credential) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
  return { cdp, authenticatorId };
}

async function buy(sku: string): Promise<{ page: Page; tw: Page; dealId: string }> {
  const page = await harness.context.newPage();
  await page.goto(`${market.shopUrl}/product/${sku}`);
  await page.click('#buy');
  const tw = await waitForTrustedWindow(harness);
  await tw.locator('#merchant-name').waitFor();
  return { page, tw, dealId: new URL(tw.url()).searchParams.get('deal')! };
}

async function awaitingCount(): Promise<number> {
  return (await harness.operation('listDeals', {})).deals.filter((d) => d.status === 'awaiting-confirmation').length;
}

async function badge(): Promise<string> {
  return harness.opsPage.evaluate(() => chrome.action.getBadgeText({}));
}

let credential: VirtualCredential;
let registeredId: string;
/** The deal the security key signed (then disputed). */
let tokenDeal: string;

describe('the built trusted window', () => {
  it('is not web-accessible and runs under the strict extension-page CSP (dist/manifest.json)', () => {
    const manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as {
      web_accessible_resources?: unknown;
      content_security_policy?: { extension_pages?: string };
    };
    expect(manifest.web_accessible_resources).toBeUndefined();
    const csp = manifest.content_security_policy?.extension_pages ?? '';
    for (const directive of ["script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'"])
      expect(csp).toContain(directive);
  });
});

describe('hardware tokens in the trusted window', () => {
  it('registers a security key in the trusted window (worker-verified attestation)', async () => {
    const opened = harness.context.waitForEvent('page', { predicate: (p) => p.url().includes('trusted-window/index.html?view=token') });
    await harness.operation('identity.openSetup', { view: 'token' });
    const tw = await opened;
    await tw.locator('#register-token').waitFor();
    expect(await tw.locator('#security-phrase').textContent()).toBe(HARNESS_PHRASE);
    const { cdp, authenticatorId } = await virtualAuthenticator(tw, true);
    await tw.locator('#token-label').fill('Virtual key');
    await tw.click('#register-token');
    await expect.poll(() => tw.locator('#token-registered').textContent()).toContain('Virtual key');
    const { credentials } = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as unknown as { credentials: VirtualCredential[] };
    expect(credentials).toHaveLength(1);
    credential = credentials[0]!;
    const tokens = (await harness.operation('tokens.list', {})).tokens;
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ label: 'Virtual key', rpId: EXTENSION_ORIGIN, userVerifiedAtRegistration: true });
    registeredId = tokens[0]!.credentialId;
    // Chromium's credential id (standard base64) is the one the worker stored (base64url).
    expect(Buffer.from(credential.credentialId, 'base64').toString('base64url')).toBe(registeredId);
    await tw.close();
  });

  it('the merchant demands a token with UV: signed with the token, stored order verifies offline with that credential', async () => {
    const { page, tw, dealId } = await buy(ARCHIVE);
    await virtualAuthenticator(tw, true, credential);
    expect(await tw.locator('#token-required').isVisible()).toBe(true);
    // 149.00 EUR: the merchant's demand (signed into the offer) and the default limit of 100.00 EUR.
    expect(await tw.locator('#token-reasons li').evaluateAll((els) => els.map((e) => e.getAttribute('data-reason')))).toEqual(['merchant', 'amount']);
    expect(await tw.locator('#confirm').count()).toBe(0); // no device-key confirm offered
    expect(await tw.locator('#security-phrase').textContent()).toBe(HARNESS_PHRASE);
    expect(await tw.locator('#tw-items-source').isVisible()).toBe(true);
    await expect.poll(() => tw.locator('#sign-with-token').isEnabled()).toBe(true);
    await expectAccessible(tw, 'trusted window, hardware token required (en)');
    await tw.screenshot({ path: join(RESULTS, 'trusted-window-token.png'), fullPage: true });

    // A device-key confirm is refused by the machine (ERR_HARDWARE_TOKEN_REQUIRED) and changes nothing.
    const forced = (await tw.evaluate((id) => chrome.runtime.sendMessage({ op: 'confirmDeal', request: { dealId: id } }), dealId)) as {
      ok: boolean;
      error?: { code: string };
    };
    expect(forced).toMatchObject({ ok: false, error: { code: 'ERR_HARDWARE_TOKEN_REQUIRED' } });
    expect((await harness.operation('getDeal', { dealId })).deal.status).toBe('awaiting-confirmation');

    await clickInTrustedWindow(tw, '#sign-with-token');
    expect(await pageResult(page)).toMatchObject({ status: 'completed', dealId });

    const stored = (await (await fetch(`${market.shopUrl}/semper/deals/${dealId}`)).json()) as { state: { phase: string; order: unknown } };
    expect(stored.state.phase).toBe('confirmed');
    const webauthn = createWebAuthnVerifier({ expectedOrigins: [EXTENSION_ORIGIN], expectedRpIds: [EXTENSION_ORIGIN], requireUserVerification: true });
    const verified = await verifyStatement(stored.state.order, { types: [STATEMENT_TYPES.order], webauthn });
    expect(verified.userVerified).toBe(true);
    expect(verified.statement.signature).toMatchObject({
      alg: 'webauthn-ES256',
      signer: { kind: 'webauthn', credentialId: registeredId, rpId: EXTENSION_ORIGIN },
    });
    tokenDeal = dealId;
    await page.close();
  });

  it('a dispute about that deal: the popup sends the shopper to the window, where the security key signs the complaint; upheld', async () => {
    await harness.operation('settings.addArbiter', { certificate: market.arbiterCertificate, url: market.arbiterUrl });
    // The popup cannot run the ceremony: it says where to go, and nothing is filed.
    const popup = harness.opsPage;
    await popup.reload();
    await popupSection(popup, 'deals');
    await popup.click(`#deals tr[data-deal="${tokenDeal}"] button`);
    await popup.locator('#dispute-claim').selectOption('offer-denied');
    await popup.click('#dispute-submit');
    await expect.poll(() => popup.locator('#dispute-error').textContent()).toContain('signed with your security key');
    expect(market.arbiter.count()).toBe(0);

    const opened = harness.context.waitForEvent('page', { predicate: (p) => p.url().includes('view=dispute') });
    await popup.click('#dispute-open-window');
    const dw = await opened;
    await dw.locator('#dispute-claim').waitFor();
    await virtualAuthenticator(dw, true, credential);
    await dw.locator('#dispute-claim').selectOption('offer-denied');
    await dw.click('#dispute-submit');
    await expect.poll(() => dw.locator('#verdicts .verdict').getAttribute('data-decision'), { timeout: 15_000 }).toBe('upheld');
    expect(await dw.locator('#verdicts .verdict').getAttribute('data-rule')).toBe('offer-denied/certified-offer');
    await expectAccessible(dw, 'trusted window, dispute about a token-signed deal (en)');
    await dw.screenshot({ path: join(RESULTS, 'dispute-window-token-en.png'), fullPage: true });
    // The complaint in the archive is the token's, and the arbiter judged exactly one.
    expect(market.arbiter.count()).toBe(1);
    const bundle = JSON.parse((await harness.operation('exportEvidence', { dealId: tokenDeal })).json) as { statements: { statement: Statement }[] };
    const complaint = bundle.statements.map((x) => x.statement).find((x) => x.type === 'semper.arbiter.complaint');
    expect(complaint?.signature).toMatchObject({ alg: 'webauthn-ES256', signer: { kind: 'webauthn', credentialId: registeredId } });
    await dw.close();
  });

  it('UV required but the token does not verify the user: refused with a clear message, the deal stays open until declined', async () => {
    const { page, tw, dealId } = await buy(ARCHIVE);
    await virtualAuthenticator(tw, false, credential);
    await expect.poll(() => tw.locator('#sign-with-token').isEnabled()).toBe(true);
    await tw.click('#sign-with-token');
    const notice = tw.locator('#tw-notice');
    await notice.waitFor();
    // Chromium refuses the ceremony (NotAllowedError) when UV is required and fails; the window says why it may have failed.
    expect(await notice.textContent()).toMatch(/could not verify you \(PIN or fingerprint\)/);
    expect(await tw.locator('#sign-with-token').isEnabled()).toBe(true); // may retry
    expect((await harness.operation('getDeal', { dealId })).deal.status).toBe('awaiting-confirmation');
    expect(await page.locator('#semper-result').getAttribute('data-status')).toBe('pending');
    await clickInTrustedWindow(tw, '#decline');
    expect(await pageResult(page)).toMatchObject({ status: 'error', code: '4001' });
    await page.close();
  });

  it('the toolbar badge counts the deals awaiting the user', async () => {
    await expect.poll(badge).toBe('');
    const first = await buy(CHEAP);
    const second = await harness.context.newPage();
    await second.goto(`${market.shopUrl}/product/${REPORT}`);
    await second.click('#buy');
    await expect.poll(awaitingCount).toBe(2);
    await expect.poll(badge).toBe('2');
    await clickInTrustedWindow(first.tw, '#decline');
    expect(await pageResult(first.page)).toMatchObject({ code: '4001' });
    await expect.poll(badge).toBe('1');
    const tw2 = await waitForTrustedWindow(harness);
    await tw2.locator('#merchant-name').waitFor();
    await clickInTrustedWindow(tw2, '#decline');
    expect(await pageResult(second)).toMatchObject({ code: '4001' });
    await expect.poll(badge).toBe('');
    await first.page.close();
    await second.close();
  });

  it('anonymous deals: a pseudonym (not the identity key) per shop, the same one on the next deal there', async () => {
    const identity = await harness.operation('getIdentity', {});
    const signers: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const { page, tw, dealId } = await buy(CHEAP);
      // A token is registered: the window says what each of the two confirm buttons does.
      expect(await tw.locator('#two-ways').textContent()).toContain('Sign with security key');
      expect(await tw.locator('#sign-with-token').count()).toBe(1);
      await tw.check('#anonymous');
      expect(await tw.locator('#two-ways').count()).toBe(0);
      expect(await tw.locator('#signing-key-note').textContent()).toMatch(/pseudonym/);
      await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
      await clickInTrustedWindow(tw, '#confirm');
      expect(await pageResult(page)).toMatchObject({ status: 'completed' });
      const stored = (await (await fetch(`${market.shopUrl}/semper/deals/${dealId}`)).json()) as { state: { order: unknown } };
      signers.push((await verifyStatement(stored.state.order, { types: [STATEMENT_TYPES.order] })).signerJwk);
      await page.close();
    }
    expect(signers[0]).not.toEqual(identity.publicJwk);
    expect(signers[1]).toEqual(signers[0]);
    const pseudonyms = (await harness.operation('keys.list', {})).keys.filter((k) => k.purpose === 'pseudonym');
    expect(pseudonyms).toHaveLength(1);
    expect(pseudonyms[0]).toMatchObject({ origin: market.shopUrl, publicJwk: signers[0] });
  });

  it("the shopper's own limit (popup setting) makes an order above it need the token", async () => {
    const popup = await harness.context.newPage();
    await popup.goto(harness.url('popup/index.html'));
    await popupSection(popup, 'settings');
    // The limit is shown in the shopper's notation (English here: 100.00).
    await expect.poll(() => popup.locator('#threshold-amount').inputValue()).toMatch(/^\d+\.\d{2}$/);
    await popup.locator('#threshold-amount').fill('10.00');
    await popup.click('#save-threshold');
    await expect.poll(() => popup.locator('#threshold-note').textContent()).toBe('Saved.');
    expect((await harness.operation('settings.get', {})).hardwareTokenAbove).toEqual({ amount: 1000, currency: 'EUR' });
    await popup.close();

    const { page, tw } = await buy(REPORT); // 12.00 EUR > 10.00 EUR
    await virtualAuthenticator(tw, true, credential);
    expect(await tw.locator('#token-reasons li').evaluateAll((els) => els.map((e) => e.getAttribute('data-reason')))).toEqual(['amount']);
    await expect.poll(() => tw.locator('#token-reasons li').textContent()).toContain('€10.00');
    await expect.poll(() => tw.locator('#sign-with-token').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#sign-with-token');
    expect(await pageResult(page)).toMatchObject({ status: 'completed' });
    await harness.operation('settings.set', { hardwareTokenAbove: { amount: 10_000, currency: 'EUR' } });
    await page.close();
  });
});
