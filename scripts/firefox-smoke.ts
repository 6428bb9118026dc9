/**
 * Smoke test of the Firefox package in a real Firefox (`npm run smoke:firefox`; needs a Firefox on
 * PATH, e.g. Debian's `apt-get install firefox-esr`, and `npm run build:firefox` first). Not part of
 * `npm test`. Headless, driven over Marionette (scripts/marionette.ts), against the real marketplace:
 *
 * 1. dist-firefox installs as a temporary add-on; the popup page gets answers from the event page;
 * 2. a shop page has the MAIN-world provider, and a purchase goes through the trusted window
 *    (windows.create) to a confirmed, signed order at the merchant; a second one while Firefox
 *    suspends the idle event page (idle timeout shortened to 3 s) under the open trusted window;
 * 3. WebAuthn on an extension page, with a virtual authenticator: what Firefox does with Semper's
 *    way (rp.id left out) and with a web-domain RP ID (the origin it reports).
 *
 * Usage: tsx scripts/firefox-smoke.ts [firefox binary]   (SEMPER_FIREFOX also names it)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startMarketplace } from '../server/marketplace.js';
import { GECKO_ID, firefoxWebAuthnOrigin } from './firefox-manifest.js';
import { Marionette } from './marionette.js';

const FIREFOX = process.argv[2] ?? process.env.SEMPER_FIREFOX ?? 'firefox-esr';
const DIST = resolve('dist-firefox');
/** Pinned through the extensions.webextensions.uuids pref, so extension pages have a known URL. */
const UUID = '5e3b2a1c-0d4f-4e6a-9b8c-7a6f5e4d3c2b';
const BASE = `moz-extension://${UUID}/`;
const PORT = Number(process.env.SEMPER_MARIONETTE_PORT ?? 2829);
const PRODUCT = 'ink-drying-report';
const IDLE_TIMEOUT_MS = 3000;

if (!existsSync(join(DIST, 'manifest.json'))) {
  console.error('dist-firefox/ is missing: run `npm run build:firefox` first');
  process.exit(1);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    const value = await fn();
    console.log(`ok    ${name}${value === undefined ? '' : `: ${JSON.stringify(value).slice(0, 300)}`}`);
    return value;
  } catch (e) {
    failures += 1;
    console.log(`FAIL  ${name}: ${(e as Error).message}`);
    throw e;
  }
}
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}
async function poll<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeout = 20_000): Promise<T> {
  const end = Date.now() + timeout;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      if (Date.now() > end) throw e;
    }
    if (Date.now() > end) throw new Error(`timed out; last value ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'semper-ff-market-'));
const profile = mkdtempSync(join(tmpdir(), 'semper-ff-profile-'));
writeFileSync(
  join(profile, 'user.js'),
  [
    ['marionette.port', PORT],
    ['extensions.webextensions.uuids', JSON.stringify({ [GECKO_ID]: UUID })],
    ['browser.shell.checkDefaultBrowser', false],
    ['datareporting.policy.dataSubmissionEnabled', false],
    ['toolkit.telemetry.reportingpolicy.firstRun', false],
    ['browser.startup.homepage_override.mstone', 'ignore'],
    ['app.update.disabledForTesting', true],
    // Firefox suspends an idle event page after 30 s; 3 s here, so a purchase spans a suspension.
    ['extensions.background.idle.timeout', IDLE_TIMEOUT_MS],
    // Marionette's virtual authenticators stand in for a security key.
    ['security.webauth.webauthn_enable_softtoken', true],
    ['security.webauth.webauthn_enable_usbtoken', false],
  ]
    .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
    .join('\n'),
);

const market = await startMarketplace({ dataDir, caPort: 0, shopPort: 0, host: '127.0.0.1' });
const firefox = spawn(FIREFOX, ['--headless', '--marionette', '--remote-allow-system-access', '--no-remote', '--profile', profile], {
  stdio: 'ignore',
  env: { ...process.env, MOZ_HEADLESS: '1' },
});
let m: Marionette | undefined;

try {
  m = await Marionette.open(PORT);
  const mn = m;
  const session = await mn.send<{ capabilities: { browserName: string; browserVersion: string } }>('WebDriver:NewSession', { capabilities: {} });
  console.log(`${session.capabilities.browserName} ${session.capabilities.browserVersion}, shop ${market.shopUrl}`);

  await step('installs as a temporary add-on', async () => {
    const id = await mn.value<string>('Addon:Install', { path: DIST, temporary: true });
    check(id === GECKO_ID, `add-on id ${id}`);
    return id;
  });

  const shopTab = await mn.value<string>('WebDriver:GetWindowHandle');
  // Content can't navigate to moz-extension: pages; open one as the browser would (chrome context).
  const opsTab = await step('opens the popup page', async () => {
    const before = await mn.value<string[]>('WebDriver:GetWindowHandles');
    await mn.send('Marionette:SetContext', { value: 'chrome' });
    await mn.send('WebDriver:ExecuteScript', {
      script:
        "const w = Services.wm.getMostRecentWindow('navigator:browser'); w.gBrowser.selectedTab = w.gBrowser.addTab(arguments[0], { triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() });",
      args: [`${BASE}popup/index.html`],
    });
    await mn.send('Marionette:SetContext', { value: 'content' });
    const after = await poll(
      () => mn.value<string[]>('WebDriver:GetWindowHandles'),
      (h) => h.length > before.length,
    );
    const tab = after.find((h) => !before.includes(h))!;
    await mn.send('WebDriver:SwitchToWindow', { handle: tab, focus: true });
    await poll(
      () => mn.value<string>('WebDriver:GetCurrentURL'),
      (u) => u.startsWith(BASE),
    );
    return tab;
  });

  const operation = async (op: string, request: unknown) => {
    const r = await mn.value<{ ok: boolean; response?: unknown; error?: { code: string; message: string } }>('WebDriver:ExecuteAsyncScript', {
      script:
        'const [op, request, done] = arguments; browser.runtime.sendMessage({ op, request }).then(done, (e) => done({ ok: false, error: { code: "THROWN", message: String(e) } }));',
      args: [op, request],
    });
    if (!r?.ok) throw new Error(`${op}: ${JSON.stringify(r?.error)}`);
    return r.response;
  };
  await step('the event page answers operations (getIdentity)', () =>
    poll(
      () => operation('getIdentity', {}),
      () => true,
    ),
  );
  await step('onboarding and a trusted root through operations', async () => {
    await operation('identity.personalise', { phrase: 'smoke phrase: green kettle', picture: 0 });
    return operation('settings.addRoot', { certificate: market.rootPem });
  });

  await mn.send('WebDriver:SwitchToWindow', { handle: shopTab, focus: true });
  await mn.send('WebDriver:Navigate', { url: `${market.shopUrl}/product/${PRODUCT}` });
  await step('the MAIN-world provider is in the shop page, frozen', async () => {
    const info = await mn.value<{ isSemper: boolean; frozen: boolean } | null>('WebDriver:ExecuteScript', {
      script: 'const s = window.semper; return s ? { isSemper: s.isSemper, frozen: Object.isFrozen(s) } : null;',
    });
    check(info?.isSemper === true && info.frozen, JSON.stringify(info));
    return info;
  });
  await step('provider → content script → event page → provider (bad params: -32602)', async () => {
    const r = await mn.value<{ code: number; reason: string }>('WebDriver:ExecuteAsyncScript', {
      script:
        "const done = arguments[0]; window.semper.request({ method: 'semper_purchase', params: { items: [{ sku: 'NOT A SKU', quantity: 1 }] } }).then(() => done(null), (e) => done({ code: e.code, reason: e.data && e.data.reason }));",
    });
    check(r?.code === -32602 && r.reason === 'ERR_SCHEMA', JSON.stringify(r));
    return r;
  });

  /** starting | running | suspending | stopped: the add-on's background (event page) as Firefox tracks it. */
  const backgroundState = async (): Promise<string> => {
    await mn.send('Marionette:SetContext', { value: 'chrome' });
    try {
      return await mn.value<string>('WebDriver:ExecuteScript', {
        script: 'return WebExtensionPolicy.getByID(arguments[0]).extension.backgroundState;',
        args: [GECKO_ID],
      });
    } finally {
      await mn.send('Marionette:SetContext', { value: 'content' });
    }
  };

  /** Buy on the shop page, decide in the trusted window after `dwellMs`, check the outcome at the merchant. */
  const purchase = async (label: string, product: string, total: string, dwellMs: number) => {
    await mn.send('WebDriver:SwitchToWindow', { handle: shopTab, focus: true });
    await mn.send('WebDriver:Navigate', { url: `${market.shopUrl}/product/${product}` });
    const before = await mn.value<string[]>('WebDriver:GetWindowHandles');
    const buy = await mn.value<Record<string, string>>('WebDriver:FindElement', { using: 'css selector', value: '#buy' });
    await mn.send('WebDriver:ElementClick', { id: Object.values(buy)[0] });
    const trusted = await step(`${label}: Buy opens the trusted window (windows.create)`, async () => {
      const after = await poll(
        () => mn.value<string[]>('WebDriver:GetWindowHandles'),
        (h) => h.length > before.length,
      );
      return after.find((h) => !before.includes(h))!;
    });
    await mn.send('WebDriver:SwitchToWindow', { handle: trusted, focus: true });
    await step(`${label}: the trusted window shows the verified offer`, async () => {
      const v = await poll(
        () =>
          mn.value<{ url: string; merchant: string | null; total: string | null; confirm: boolean }>('WebDriver:ExecuteScript', {
            script:
              "const q = (s) => document.querySelector(s); return { url: location.href, merchant: q('#merchant-name')?.textContent ?? null, total: q('#total')?.textContent ?? null, confirm: !!q('#confirm') && !q('#confirm').disabled };",
          }),
        (x) => x.merchant !== null && x.confirm,
      );
      check(v.url.startsWith(`${BASE}trusted-window/index.html?deal=`) && v.total === total, JSON.stringify(v));
      return { merchant: v.merchant, total: v.total };
    });
    if (dwellMs > 0) {
      await step(`${label}: the event page is stopped while the window waits`, async () => {
        const states = new Set<string>();
        const end = Date.now() + dwellMs;
        while (Date.now() < end) {
          states.add(await backgroundState());
          await sleep(200);
        }
        check(states.has('stopped'), `background states seen: ${[...states].join(', ')}`);
        return [...states];
      });
    }
    const confirm = await mn.value<Record<string, string>>('WebDriver:FindElement', { using: 'css selector', value: '#confirm' });
    await mn.send('WebDriver:ElementClick', { id: Object.values(confirm)[0] }).catch(() => undefined); // the window may close under the click
    await mn.send('WebDriver:SwitchToWindow', { handle: shopTab, focus: true });
    const result = await step(`${label}: the page gets the outcome`, async () => {
      const r = await poll(
        () =>
          mn.value<{ status: string | null; dealId: string | null; text: string }>('WebDriver:ExecuteScript', {
            script:
              "const el = document.querySelector('#semper-result'); return { status: el && el.getAttribute('data-status'), dealId: el && el.getAttribute('data-deal-id'), text: el ? el.textContent : '' };",
          }),
        (x) => x.status === 'completed' || x.status === 'error',
        30_000,
      );
      check(r.status === 'completed' && !!r.dealId, JSON.stringify(r));
      return { status: r.status, dealId: r.dealId };
    });
    await step(`${label}: the merchant holds the confirmed, signed order; the window closed`, async () => {
      const stored = (await (await fetch(`${market.shopUrl}/semper/deals/${result.dealId}`)).json()) as { state: { phase: string } };
      check(stored.state.phase === 'confirmed', `phase ${stored.state.phase}`);
      await poll(
        () => mn.value<string[]>('WebDriver:GetWindowHandles'),
        (h) => !h.includes(trusted),
      );
      return stored.state.phase;
    });
  };
  await purchase('purchase', PRODUCT, '€12.00', 0);
  await purchase(`purchase across event-page suspension (idle timeout ${IDLE_TIMEOUT_MS / 1000} s)`, 'fm-screening-abstract', '€2.50', 3 * IDLE_TIMEOUT_MS);

  // WebAuthn on an extension page (the popup tab), with a virtual authenticator.
  await mn.send('WebDriver:SwitchToWindow', { handle: opsTab, focus: true });
  await mn.send('WebAuthn:AddVirtualAuthenticator', {
    protocol: 'ctap2',
    transport: 'usb',
    hasResidentKey: true,
    hasUserVerification: true,
    isUserConsenting: true,
    isUserVerified: true,
  });
  const create = (rpId: string | null) =>
    mn.value<{ error?: string; origin?: string; rpIdHash?: string }>('WebDriver:ExecuteAsyncScript', {
      script: `const [rpId, done] = arguments;
        const rp = rpId === null ? { name: 'Semper' } : { name: 'Semper', id: rpId };
        navigator.credentials.create({ publicKey: { rp, user: { id: new Uint8Array([1]), name: 'smoke', displayName: 'smoke' }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: 'public-key', alg: -7 }], timeout: 10000 } })
          .then((c) => done({ origin: JSON.parse(new TextDecoder().decode(c.response.clientDataJSON)).origin,
                              rpIdHash: Array.from(new Uint8Array(c.response.getAuthenticatorData()).slice(0, 32), (b) => b.toString(16).padStart(2, '0')).join('') }),
                (e) => done({ error: e.name }));`,
      args: [rpId],
    });
  await step('WebAuthn with rp.id left out (Semper today) is refused: SecurityError', async () => {
    const r = await create(null);
    check(r.error === 'SecurityError', JSON.stringify(r));
    return r;
  });
  await step('WebAuthn with rp.id = the page origin is refused too: SecurityError', async () => {
    const r = await create(`moz-extension://${UUID}`);
    check(r.error === 'SecurityError', JSON.stringify(r));
    return r;
  });
  await step('WebAuthn with a web-domain RP ID in the host permissions works; origin = moz-extension://<SHA-256 of the add-on id>', async () => {
    const r = await create('example.com');
    check(r.origin === (await firefoxWebAuthnOrigin()), JSON.stringify(r));
    check(r.rpIdHash === createHash('sha256').update('example.com').digest('hex'), `rpIdHash ${r.rpIdHash}`);
    return r;
  });
} catch (e) {
  if (failures === 0) {
    failures += 1;
    console.log(`FAIL  ${(e as Error).message}`);
  }
} finally {
  m?.close();
  firefox.kill('SIGTERM');
  await sleep(1000);
  await market.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(failures ? `Firefox smoke test FAILED (${failures})` : 'Firefox smoke test passed');
process.exit(failures ? 1 : 0);
