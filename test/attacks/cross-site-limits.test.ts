/**
 * Attack 11 (issue 8): another site uses up the shopper's rate limits. Any web page can send
 * no-cors POSTs — to the shop's Semper endpoint and to the CA — and they come from the shopper's
 * own address, the one the shop and the CA count. Before the fix a page of any origin could spend
 * the shop's signed-statement budget and the CA's registration budget in a second, and the
 * shopper's next purchase and registration were refused with 429.
 *
 * Here a hostile page floods both (text/plain bodies that are otherwise perfect requests, a JSON
 * Blob whose type a no-cors fetch drops, form posts, garbage), well past both limits; then the
 * shopper registers with the CA and buys at the shop, through the built extension in Chromium,
 * and both succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { SHOP_LEGAL_NAME } from '../../server/shop/catalog.js';
import { DEFAULT_SIGNED_STATEMENTS_PER_MINUTE } from '../../server/http/rate-limit.js';
import { clickInTrustedWindow, launchExtension, pageResult, tempDir, waitForTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';
import { startAttackServer, type AttackServer } from './helpers.js';

const PRODUCT = 'ink-drying-report';
/** The CA's default registration attempts per address and minute (server/ca/app.ts). */
const REGISTRATION_ATTEMPTS = 10;

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let hostile: AttackServer;
let harness: ExtensionHarness;

beforeAll(async () => {
  dataDir = tempDir('semper-cross-site-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1' });
  hostile = await startAttackServer();
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: market.rootPem });
});

afterAll(async () => {
  await harness?.close();
  await hostile?.close();
  await market?.close();
  dataDir?.remove();
});

describe('11. a page of another site cannot use up the shopper’s limits at the shop and the CA', () => {
  it('after a no-cors flood of the shop and the CA from a hostile page, the shopper still registers and buys', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${hostile.url}/`);
    const sent = await page.evaluate(
      async ({ shop, ca, offers, registrations }) => {
        const randomId = (bytes: number) => {
          const b = crypto.getRandomValues(new Uint8Array(bytes));
          return btoa(String.fromCharCode(...b))
            .replace(/\+/g, '-')
            .replace(/\//g, '_')
            .replace(/=+$/, '');
        };
        const offer = () => JSON.stringify({ dealId: randomId(16), nonce: randomId(32), items: [{ sku: 'ink-drying-report', quantity: 1 }] });
        const register = () => JSON.stringify({ registrationCode: 'ZZZZ-ZZZZ-ZZZZ-ZZZZ', csr: 'MIIB' });
        const noCors = (url: string, body: BodyInit) =>
          fetch(url, { method: 'POST', mode: 'no-cors', body }).then(
            (r) => r.type,
            () => 'failed',
          );
        const shots: Promise<string>[] = [];
        for (let i = 0; i < offers; i++) {
          // A perfect offer request sent as text/plain; the same as a JSON Blob (the type is not CORS-safelisted, so it is dropped); a form.
          shots.push(noCors(`${shop}/semper/offer`, offer()));
          if (i % 3 === 0) shots.push(noCors(`${shop}/semper/offer`, new Blob([offer()], { type: 'application/json' })));
          if (i % 3 === 1) shots.push(noCors(`${shop}/semper/offer`, new URLSearchParams({ dealId: randomId(16) })));
        }
        for (let i = 0; i < registrations; i++) {
          shots.push(noCors(`${ca}/ca/register`, register()));
          shots.push(noCors(`${ca}/ca/register`, new Blob([register()], { type: 'application/json' })));
        }
        // And the classic: a form posting text/plain that looks like JSON.
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = `${ca}/ca/register`;
        form.enctype = 'text/plain';
        form.target = 'sink';
        const field = document.createElement('input');
        field.name = '{"registrationCode":"ZZZZ-ZZZZ-ZZZZ-ZZZZ","csr":"MIIB","x":"';
        field.value = '"}';
        form.append(field);
        const sink = document.createElement('iframe');
        sink.name = 'sink';
        document.body.append(sink, form);
        form.submit();
        const results = await Promise.all(shots);
        return { total: results.length, opaque: results.filter((r) => r === 'opaque').length };
      },
      { shop: market.shopUrl, ca: market.caUrl, offers: DEFAULT_SIGNED_STATEMENTS_PER_MINUTE + 30, registrations: 3 * REGISTRATION_ATTEMPTS },
    );
    // Every shot reached the servers (an opaque answer is an answer).
    expect(sent.opaque).toBe(sent.total);
    expect(sent.total).toBeGreaterThan(DEFAULT_SIGNED_STATEMENTS_PER_MINUTE + 2 * REGISTRATION_ATTEMPTS);
    await page.close();

    // The shopper registers with the CA (the extension's service worker, the same address) …
    const registered = await harness.operationResult('identity.register', { caUrl: market.caUrl, registrationCode: market.demoRegistrationCode });

    // … and buys at the shop: the offer reaches the trusted window (or the page learns why not).
    const shop = await harness.context.newPage();
    await shop.goto(`${market.shopUrl}/product/${PRODUCT}`);
    await shop.click('#buy');
    const shown = await Promise.race([waitForTrustedWindow(harness).then((tw) => ({ tw })), pageResult(shop).then((result) => ({ result }))]);
    expect({ registered: registered.ok, offerShown: 'tw' in shown ? true : shown.result }).toEqual({ registered: true, offerShown: true });
    const tw = (shown as { tw: Awaited<ReturnType<typeof waitForTrustedWindow>> }).tw;
    await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe(SHOP_LEGAL_NAME);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    expect(await pageResult(shop)).toMatchObject({ status: 'completed' });
    await shop.close();
  });
});
