/**
 * Smoke test of the Firefox package in a real Firefox (`npm run smoke:firefox`; needs a Firefox on
 * PATH, e.g. Debian's `apt-get install firefox-esr`, and `npm run build:firefox` first). The e2e
 * suite runs it through test/firefox/smoke.test.ts. Headless, driven over Marionette (scripts/marionette.ts), against the real marketplace:
 *
 * 1. dist-firefox installs as a temporary add-on; the popup page gets answers from the event page;
 * 2. a shop page has the MAIN-world provider, and a purchase goes through the trusted window
 *    (windows.create) to a confirmed, signed order at the merchant; a second one while Firefox
 *    suspends the idle event page (idle timeout shortened to 3 s) under the open trusted window;
 * 3. WebAuthn on an extension page, with a virtual authenticator: a ceremony with rp.id left out
 *    (Chromium's way) or set to the page origin is refused (SecurityError); one with a web-domain RP ID
 *    in the host permissions works, with origin moz-extension://<SHA-256 of the add-on id>;
 * 4. hardware tokens end to end: a security key registered in the trusted window for the RP ID tied
 *    to the CA (`localhost` for the loopback marketplace), then an order the merchant demands a token
 *    for signed with it; the merchant holds it, and it verifies offline for the pinned add-on's origin
 *    only (not for another add-on id's).
 *
 * Usage: tsx scripts/firefox-smoke.ts [firefox binary]   (SEMPER_FIREFOX also names it)
 * It prints one line per step and ends with "Firefox smoke test passed" (exit 0) or "… FAILED" (exit 1);
 * test/firefox/smoke.test.ts runs it under Vitest. SEMPER_SMOKE_ARTIFACTS=<dir> writes the token-signed
 * order there (firefox-token-order.json: a real Firefox assertion, for test vectors).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createWebAuthnVerifier } from '../core/crypto/webauthn.js';
import { isSemperError } from '../core/errors.js';
import { STATEMENT_TYPES } from '../core/protocol/commerce.js';
import { FIREFOX_WEBAUTHN_ORIGIN } from '../core/protocol/extension-id.js';
import { verifyStatement } from '../core/statements/index.js';
import { startMarketplace } from '../server/marketplace.js';
import { GECKO_ID, firefoxWebAuthnOrigin } from './firefox-manifest.js';
import { Marionette } from './marionette.js';

const FIREFOX = process.argv[2] ?? process.env.SEMPER_FIREFOX ?? 'firefox-esr';
const DIST = resolve('dist-firefox');
/** Pinned through the extensions.webextensions.uuids pref, so extension pages have a known URL. */
const UUID = '5e3b2a1c-0d4f-4e6a-9b8c-7a6f5e4d3c2b';
const BASE = `moz-extension://${UUID}/`;
/** 0 (the default): Firefox picks a free port and writes it to <profile>/MarionetteActivePort, so runs never collide. */
const PORT = Number(process.env.SEMPER_MARIONETTE_PORT ?? 0);
const PRODUCT = 'ink-drying-report';
/** The shop's product whose signed offer demands a hardware token with user verification. */
const TOKEN_PRODUCT = 'standards-archive';
/** The RP ID the extension ties to the marketplace CA at 127.0.0.1 (core/protocol/extension-id.ts tokenRpIdFor). */
const TOKEN_RP_ID = 'localhost';
const IDLE_TIMEOUT_MS = 3000;

if (!existsSync(join(DIST, 'manifest.json'))) {
  console.error('dist-firefox/ is missing: run `npm run build:firefox` first');
  process.exit(1);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
let failures = 0;
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    const value = await fn();
    console.log(`ok    ${name}${value === undefined ? '' : `: ${JSON.stringify(value).slice(0, 300)}`} [${elapsed()}]`);
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

/** The port Firefox chose for Marionette (written once it listens). */
async function activePort(profileDir: string): Promise<number> {
  const file = join(profileDir, 'MarionetteActivePort');
  const port = await poll(
    async () => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0),
    (p) => p > 0,
    60_000,
  );
  return port;
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

// Firefox starts while the marketplace opens (each takes seconds).
const firefox = spawn(FIREFOX, ['--headless', '--marionette', '--remote-allow-system-access', '--no-remote', '--profile', profile], {
  stdio: 'ignore',
  env: { ...process.env, MOZ_HEADLESS: '1' },
});
// Stopped from outside (a test runner's timeout, Ctrl-C): take Firefox along rather than leave it running.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    firefox.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  });
}
const market = await startMarketplace({ dataDir, caPort: 0, shopPort: 0, host: '127.0.0.1' }).catch((e: unknown) => {
  firefox.kill('SIGTERM');
  throw e;
});
console.log(`marketplace [${elapsed()}]`);
let m: Marionette | undefined;

try {
  m = await Marionette.open(PORT || (await activePort(profile)));
  const mn = m;
  const session = await mn.send<{ capabilities: { browserName: string; browserVersion: string } }>('WebDriver:NewSession', { capabilities: {} });
  console.log(`${session.capabilities.browserName} ${session.capabilities.browserVersion}, shop ${market.shopUrl} [${elapsed()}]`);

  await step('installs as a temporary add-on', async () => {
    const id = await mn.value<string>('Addon:Install', { path: DIST, temporary: true });
    check(id === GECKO_ID, `add-on id ${id}`);
    return id;
  });

  /**
   * Switch to a window and wait until its document has the focus: Firefox refuses a WebAuthn ceremony
   * in an unfocused document (NotAllowedError), and on a loaded machine the focus follows a switch late.
   */
  const focusOn = async (handle: string) => {
    await mn.send('WebDriver:SwitchToWindow', { handle, focus: true });
    await poll(
      () => mn.value<boolean>('WebDriver:ExecuteScript', { script: 'return document.hasFocus();' }),
      (focused) => focused,
      10_000,
    ).catch(() => undefined); // the ceremony then fails and says so
  };

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

  /**
   * The add-on's background (event page) as Firefox tracks it — starting | running | suspending |
   * stopped — watched from the chrome context every 10 ms for up to `ms`, until it is stopped: the
   * distinct states in the order seen. Polled in Firefox itself because the trusted window reconnects
   * its port 200 ms after a stop, which starts the event page again: a poll over Marionette (two
   * context switches a round) missed that short stop on a loaded machine.
   */
  const watchBackground = async (ms: number): Promise<string[]> => {
    await mn.send('Marionette:SetContext', { value: 'chrome' });
    try {
      return await mn.value<string[]>('WebDriver:ExecuteAsyncScript', {
        script: `const [id, ms, done] = arguments;
          const extension = WebExtensionPolicy.getByID(id).extension;
          const seen = [];
          const end = Date.now() + ms;
          const tick = () => {
            const state = extension.backgroundState;
            if (seen[seen.length - 1] !== state) seen.push(state);
            if (state === 'stopped' || Date.now() >= end) done(seen);
            else setTimeout(tick, 10);
          };
          tick();`,
        args: [GECKO_ID, ms],
      });
    } finally {
      await mn.send('Marionette:SetContext', { value: 'content' });
    }
  };

  /** Buy on the shop page, decide in the trusted window after `dwellMs` (clicking `confirmWith`), check the outcome at the merchant. */
  const purchase = async (label: string, product: string, total: string, dwellMs: number, confirmWith = '#confirm') => {
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
    await focusOn(trusted);
    await step(`${label}: the trusted window shows the verified offer`, async () => {
      const v = await poll(
        () =>
          mn.value<{ url: string; merchant: string | null; total: string | null; confirm: boolean; said: string | null; focused: boolean }>(
            'WebDriver:ExecuteScript',
            {
              // What the window says besides the offer (a status or an error), for a failure's message.
              script:
                "const [sel] = arguments; const q = (s) => document.querySelector(s); return { url: location.href, merchant: q('#merchant-name')?.textContent ?? null, total: q('#total')?.textContent ?? null, confirm: !!q(sel) && !q(sel).disabled, said: [...document.querySelectorAll('[role=alert], [role=status], h1')].map((e) => e.textContent).join(' | ') || null, focused: document.hasFocus() };",
              args: [confirmWith],
            },
          ),
        (x) => x.merchant !== null && x.confirm,
        // A loaded machine (CI runs two e2e files at once) may take a while to fetch and verify the offer.
        40_000,
      );
      check(v.url.startsWith(`${BASE}trusted-window/index.html?deal=`) && v.total === total, JSON.stringify(v));
      return { merchant: v.merchant, total: v.total };
    });
    if (dwellMs > 0) {
      await step(`${label}: the event page is stopped while the window waits`, async () => {
        const seen = await watchBackground(dwellMs);
        // Stopped, or starting after another state: an event page only starts from stopped.
        check(seen.includes('stopped') || seen.lastIndexOf('starting') > 0, `background states seen, in order: ${seen.join(' → ')}`);
        return seen;
      });
    }
    const confirm = await mn.value<Record<string, string>>('WebDriver:FindElement', { using: 'css selector', value: confirmWith });
    await mn.send('WebDriver:ElementClick', { id: Object.values(confirm)[0] });
    await step(`${label}: the trusted window shows the result`, async () => {
      const outcome = await poll(
        () => mn.value<string | null>('WebDriver:ExecuteScript', { script: "return document.querySelector('#result')?.getAttribute('data-outcome') ?? null;" }),
        (o) => o !== null && o !== 'pending',
        30_000,
      );
      check(outcome === 'done', `outcome ${outcome}`);
      const close = await mn.value<Record<string, string>>('WebDriver:FindElement', { using: 'css selector', value: '#result-close' });
      await mn.send('WebDriver:ElementClick', { id: Object.values(close)[0] }).catch(() => undefined); // the window closes under the click
      return outcome;
    });
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
    return result.dealId!;
  };
  const firstDeal = await purchase('purchase', PRODUCT, '€12.00', 0);
  const secondDeal = await purchase(
    `purchase across event-page suspension (idle timeout ${IDLE_TIMEOUT_MS / 1000} s)`,
    'fm-screening-abstract',
    '€2.50',
    3 * IDLE_TIMEOUT_MS,
  );

  // WebAuthn on an extension page (the popup tab), with a virtual authenticator (Firefox keeps it for
  // the whole browser: the trusted windows below use the same one, as they would one physical key).
  await focusOn(opsTab);
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
  await step('WebAuthn with rp.id left out (Chromium’s way) is refused: SecurityError', async () => {
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
    const r = await create(TOKEN_RP_ID);
    check(r.origin === (await firefoxWebAuthnOrigin()) && r.origin === FIREFOX_WEBAUTHN_ORIGIN, JSON.stringify(r));
    check(r.rpIdHash === createHash('sha256').update(TOKEN_RP_ID).digest('hex'), `rpIdHash ${r.rpIdHash}`);
    return r;
  });

  await step(`the security-key RP ID is tied to the CA: ${TOKEN_RP_ID}`, async () => {
    const settings = (await operation('settings.get', {})) as { tokenRpId?: string | null };
    check(settings.tokenRpId === TOKEN_RP_ID, JSON.stringify(settings));
    return settings.tokenRpId;
  });
  await step("the popup's Settings show that domain (Firefox only) and refuse an IP address", async () => {
    const tab = await mn.value<Record<string, string>>('WebDriver:FindElement', { using: 'css selector', value: '#tab-settings' });
    await mn.send('WebDriver:ElementClick', { id: Object.values(tab)[0] });
    const shown = await poll(
      () => mn.value<string | null>('WebDriver:ExecuteScript', { script: "return document.querySelector('#token-rp-id-value')?.value ?? null;" }),
      (v) => v !== null,
    );
    check(shown === TOKEN_RP_ID, `field shows ${shown}`);
    await mn.send('WebDriver:ExecuteScript', {
      script: "const el = document.querySelector('#token-rp-id-value'); el.value = '127.0.0.1'; el.dispatchEvent(new Event('input', { bubbles: true }));",
    });
    // A click of its own: the form re-renders with the typed value first.
    const save = await mn.value<Record<string, string>>('WebDriver:FindElement', { using: 'css selector', value: '#save-token-rp-id' });
    await mn.send('WebDriver:ElementClick', { id: Object.values(save)[0] });
    const note = await poll(
      () =>
        mn.value<{ role: string | null; text: string }>('WebDriver:ExecuteScript', {
          script: "const n = document.querySelector('#token-rp-id-note'); return n ? { role: n.getAttribute('role'), text: n.textContent } : null;",
        }),
      (n) => n !== null,
    );
    check(note.role === 'alert' && /ERR_SCHEMA|web domain/.test(note.text), JSON.stringify(note));
    const kept = (await operation('settings.get', {})) as { tokenRpId?: string | null };
    check(kept.tokenRpId === TOKEN_RP_ID, `setting after the refused save: ${kept.tokenRpId}`);
    return { shown, refused: note.text.slice(0, 80) };
  });
  await step("axe-core finds no violations on the popup's Settings section in Firefox (WCAG 2.1 A/AA)", async () => {
    const axe = readFileSync(resolve('node_modules/axe-core/axe.min.js'), 'utf8');
    // Marionette evaluates scripts in a sandbox over the page, so the page's CSP does not block axe here.
    const { violations, rules } = await mn.value<{ violations: string[]; rules: number }>('WebDriver:ExecuteAsyncScript', {
      script: `${axe}
        const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })
          .then((r) => done({ violations: r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => JSON.stringify(n.target)).join(' ')), rules: r.passes.length + r.violations.length }),
                (e) => done({ violations: ['axe failed: ' + e], rules: 0 }));`,
    });
    // rules: how many rules applied (passed or not): axe really read the page.
    check(violations.length === 0 && rules > 10, `${violations.join('; ')} (${rules} rules applied)`);
    if (process.env.SEMPER_SMOKE_ARTIFACTS) {
      mkdirSync(process.env.SEMPER_SMOKE_ARTIFACTS, { recursive: true });
      const png = await mn.value<string>('WebDriver:TakeScreenshot', { full: true, hash: false });
      writeFileSync(join(process.env.SEMPER_SMOKE_ARTIFACTS, 'popup-settings-firefox.png'), Buffer.from(png, 'base64'));
    }
    return { violations: violations.length, rulesApplied: rules };
  });
  await step('registers a security key in the trusted window (worker-verified attestation)', async () => {
    const before = await mn.value<string[]>('WebDriver:GetWindowHandles');
    await operation('identity.openSetup', { view: 'token' });
    const tw = await poll(
      () => mn.value<string[]>('WebDriver:GetWindowHandles'),
      (h) => h.length > before.length,
    ).then((h) => h.find((x) => !before.includes(x))!);
    await focusOn(tw);
    const button = await poll(
      () => mn.value<Record<string, string>>('WebDriver:FindElement', { using: 'css selector', value: '#register-token' }),
      () => true,
    );
    await mn.send('WebDriver:ElementClick', { id: Object.values(button)[0] });
    const shown = await poll(
      () =>
        mn.value<{ ok: string | null; error: string | null }>('WebDriver:ExecuteScript', {
          script:
            "return { ok: document.querySelector('#token-registered')?.textContent ?? null, error: document.querySelector('#token-error')?.textContent ?? null };",
        }),
      (x) => x.ok !== null || x.error !== null,
    );
    check(shown.ok !== null, `registration failed: ${shown.error}`);
    await mn.send('WebDriver:CloseWindow');
    const { tokens } = (await (async () => {
      await mn.send('WebDriver:SwitchToWindow', { handle: opsTab, focus: true });
      return operation('tokens.list', {});
    })()) as { tokens: { rpId: string; userVerifiedAtRegistration: boolean }[] };
    check(tokens.length === 1 && tokens[0]!.rpId === TOKEN_RP_ID && tokens[0]!.userVerifiedAtRegistration, JSON.stringify(tokens));
    return tokens[0];
  });
  const tokenDeal = await purchase('order signed with the security key', TOKEN_PRODUCT, '€149.00', 0, '#sign-with-token');
  await step('the stored order is token-signed and verifies for the pinned add-on only', async () => {
    const stored = (await (await fetch(`${market.shopUrl}/semper/deals/${tokenDeal}`)).json()) as { state: { order: unknown } };
    if (process.env.SEMPER_SMOKE_ARTIFACTS) {
      mkdirSync(process.env.SEMPER_SMOKE_ARTIFACTS, { recursive: true });
      writeFileSync(join(process.env.SEMPER_SMOKE_ARTIFACTS, 'firefox-token-order.json'), `${JSON.stringify(stored.state.order, null, 2)}\n`);
    }
    const pinned = createWebAuthnVerifier({ relyingParties: [{ origin: FIREFOX_WEBAUTHN_ORIGIN, rpIds: [TOKEN_RP_ID] }] });
    const verified = await verifyStatement(stored.state.order, { types: [STATEMENT_TYPES.order], webauthn: pinned });
    const signer = verified.statement.signature.signer;
    check(signer.kind === 'webauthn' && signer.rpId === TOKEN_RP_ID && verified.userVerified === true, JSON.stringify(signer));
    const foreign = createWebAuthnVerifier({ relyingParties: [{ origin: await firefoxWebAuthnOrigin('other@add-on.example'), rpIds: [TOKEN_RP_ID] }] });
    const refused = await verifyStatement(stored.state.order, { types: [STATEMENT_TYPES.order], webauthn: foreign }).then(
      () => 'accepted',
      (e: unknown) => (isSemperError(e) ? `${e.code}:${(e.details as { check?: string } | undefined)?.check}` : String(e)),
    );
    check(refused === 'ERR_WEBAUTHN:origin', `another add-on's origin: ${refused}`);
    return {
      alg: verified.statement.signature.alg,
      rpId: signer.kind === 'webauthn' ? signer.rpId : null,
      userVerified: verified.userVerified,
      anotherAddOn: refused,
    };
  });
  // The popup's lists walk IndexedDB newest first in batches (extension/worker/newest-walk.ts):
  // getAllRecords where the browser has it (IndexedDB 3.0), else a cursor. Firefox's path, paged.
  await step("the popup's purchases list pages newest first: two pages of the three deals", async () => {
    await mn.send('WebDriver:SwitchToWindow', { handle: opsTab, focus: true });
    const first = (await operation('listDeals', { limit: 2 })) as { deals: { dealId: string }[]; next?: unknown };
    check(!!first.next, `first page has no next: ${JSON.stringify(first)}`);
    const rest = (await operation('listDeals', { limit: 2, after: first.next })) as { deals: { dealId: string }[]; next?: unknown };
    const ids = [...first.deals, ...rest.deals].map((d) => d.dealId);
    check(JSON.stringify(ids) === JSON.stringify([tokenDeal, secondDeal, firstDeal]) && rest.next === undefined, JSON.stringify({ ids, next: rest.next }));
    const history = (await operation('history.search', { limit: 2 })) as { deals: { dealId: string }[] };
    check(JSON.stringify(history.deals.map((d) => d.dealId)) === JSON.stringify([tokenDeal, secondDeal]), JSON.stringify(history.deals.map((d) => d.dealId)));
    const getAllRecords = await mn.value<boolean>('WebDriver:ExecuteScript', { script: "return 'getAllRecords' in IDBIndex.prototype;" });
    return { pages: [first.deals.length, rest.deals.length], getAllRecords };
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
console.log(failures ? `Firefox smoke test FAILED (${failures}) [${elapsed()}]` : `Firefox smoke test passed [${elapsed()}]`);
process.exit(failures ? 1 : 0);
