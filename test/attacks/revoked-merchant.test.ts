/**
 * A merchant whose certificate the CA revoked (key compromise: someone else may hold its key)
 * must not reach the trusted window: the worker fetches the CRL the certificate names, verifies
 * it against the CA, and refuses the offer. Against the real marketplace, in real Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCertificate } from '../../core/pki/index.js';
import { startMarketplace, type Marketplace } from '../../server/marketplace.js';
import { launchExtension, pageResult, tempDir, trustedWindows, waitForTrustedWindow, clickInTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';

let market: Marketplace;
let dataDir: ReturnType<typeof tempDir>;
let harness: ExtensionHarness | undefined;

beforeAll(async () => {
  dataDir = tempDir('semper-revoked-');
  market = await startMarketplace({ dataDir: dataDir.path, caPort: 0, shopPort: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await harness?.close();
  await market?.close();
  dataDir?.remove();
});

/** A fresh browser profile: no CRL cached yet (a worker keeps a verified CRL until its nextUpdate). */
async function freshShopper(): Promise<ExtensionHarness> {
  await harness?.close();
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: market.rootCertificate });
  return harness;
}

describe('revoked merchant certificate', () => {
  it('the certificate names the CA CRL; before revocation the offer reaches the window, after it the page gets 4100 ERR_CERT_REVOKED and no window opens', async () => {
    const info = await readCertificate(market.merchantCertificate);
    expect(info.crlUrls).toEqual([`${market.caUrl}/ca/crl.der`]);

    const first = await freshShopper();
    const page = await first.context.newPage();
    await page.goto(`${market.shopUrl}/product/ink-drying-report`);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(first);
    await clickInTrustedWindow(tw, '#decline');
    expect((await pageResult(page)).code).toBe('4001');

    await market.revokeCertificate(info.serialNumber);
    const second = await freshShopper();
    const again = await second.context.newPage();
    await again.goto(`${market.shopUrl}/product/ink-drying-report`);
    await again.click('#buy');
    const result = await pageResult(again);
    expect({ code: result.code, reason: result.reason }).toEqual({ code: '4100', reason: 'ERR_CERT_REVOKED' });
    expect(trustedWindows(second)).toHaveLength(0);
  });
});
