/**
 * The service worker: hosts the shopper's deals (deal-runner.ts), the trusted window
 * (trusted-window-manager.ts), the page bridge (page-ports.ts) and the operation API
 * (operation-handlers.ts). Every listener is registered synchronously at the top level, so
 * Chrome can wake a killed worker for the event; on every start, unfinished deals resume.
 * In Firefox the same module is the background event page (`background.scripts`, see
 * vite.config.firefox.ts); every browser API goes through `browser` (extension/browser.ts).
 */
import { randomId } from '../core/encoding/index.js';
import { DealRunner } from './deal-runner.js';
import { CrlRevocationChecker } from './revocation.js';
import { IdbDealStore } from './db.js';
import { deviceSigner, keyStore } from './device-key.js';
import { createWebAuthnVerifier } from '../core/crypto/webauthn.js';
import { Badge } from './badge.js';
import { IdbSettingsRecords, IdbTokenRecords } from './identity-db.js';
import { IdentityService, type PendingChallenge } from './identity-service.js';
import { postToMerchant } from './merchant-http.js';
import { handleOperation } from './operation-handlers.js';
import { PagePorts, type PortLike } from './page-ports.js';
import { PAGE_PORT_NAME, TRUSTED_WINDOW_PORT_NAME } from './bridge-protocol.js';
import { addRoot, listRoots, removeRoot, rootDers } from './trust-roots.js';
import { TrustedWindowManager, type CurrentWindow } from './trusted-window-manager.js';
import { isTrustedWindowPage } from './sender.js';
import { IdbExchangeStore } from './exchange-db.js';
import { ExchangeRunner, dealOfAlarm, exchangeAlarmName } from './exchange-runner.js';
import { httpExchangeTransport } from './exchange-http.js';
import { addTtp, listTtps, removeTtp, ttpEntries } from './ttp-trust.js';
import type { WindowQueueStore } from './trusted-window-manager.js';
import { browser, type Runtime } from './browser.js';

const extensionId = browser.runtime.id;
const extensionBase = browser.runtime.getURL('');
const log = (what: string, e: unknown) => console.warn(`[semper] ${what}:`, e);

const store = new IdbDealStore();
const exchangeStore = new IdbExchangeStore();

/** One trusted window at a time for purchases and exchanges alike, oldest first. */
const queue: WindowQueueStore = {
  async get(dealId) {
    const purchase = await store.get(dealId);
    if (purchase) return purchase;
    const exchange = await exchangeStore.get(dealId);
    return exchange ? { dealId, status: exchange.status, createdAt: exchange.createdAt, kind: 'exchange' } : undefined;
  },
  async listActive() {
    const exchanges = (await exchangeStore.listActive()).map((e) => ({ dealId: e.dealId, status: e.status, createdAt: e.createdAt, kind: 'exchange' as const }));
    return [...(await store.listActive()), ...exchanges];
  },
};

// chrome-extension://<id> (pinned by the manifest key: extension/id.ts): origin and RP ID of every WebAuthn ceremony.
// Not in Firefox: there the page origin is moz-extension://<per-install UUID>, a ceremony without a web-domain
// rp.id is refused (SecurityError), and clientDataJSON.origin is moz-extension://<SHA-256 of the add-on id>
// (extension/README.md, "Firefox"): hardware tokens are Chromium-only so far.
const extensionOrigin = extensionBase.replace(/\/$/, '');
const CHALLENGES_KEY = 'tokenChallenges';
const identity = new IdentityService({
  keys: keyStore,
  tokens: new IdbTokenRecords(),
  settings: new IdbSettingsRecords(),
  roots: () => rootDers(),
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  randomId: (bytes) => randomId(bytes),
  extensionOrigin,
  challenges: {
    async get() {
      return ((await browser.storage.session.get(CHALLENGES_KEY))[CHALLENGES_KEY] as PendingChallenge[] | undefined) ?? [];
    },
    async set(value) {
      await browser.storage.session.set({ [CHALLENGES_KEY]: value });
    },
  },
});
// Token-signed orders are verified before they leave; UV is enforced by the machine where the view demands it.
const webauthn = createWebAuthnVerifier({ expectedOrigins: [extensionOrigin], expectedRpIds: [extensionOrigin], requireUserVerification: false });

/** The toolbar badge: deals awaiting the user. */
const badge = new Badge({
  count: async () => (await queue.listActive()).filter((d) => d.status === 'awaiting-confirmation').length,
  async show(text) {
    await browser.action.setBadgeBackgroundColor({ color: '#8b0000' });
    await browser.action.setBadgeText({ text });
  },
  onError: (e) => log('badge', e),
});
const refreshBadge = () => void badge.refresh();

/** The trusted window on its setup or token view (not tied to a deal). */
let setupWindowId: number | undefined;
async function openSetupWindow(view: 'setup' | 'token'): Promise<void> {
  if (setupWindowId !== undefined && (await browser.windows.get(setupWindowId).then(() => true, () => false))) {
    await browser.windows.remove(setupWindowId).catch(() => undefined);
  }
  const win = await browser.windows.create({
    type: 'popup',
    url: browser.runtime.getURL(`trusted-window/index.html?view=${view}`),
    ...TRUSTED_WINDOW_SIZE,
    focused: true,
  });
  setupWindowId = win?.id;
}

const TRUSTED_WINDOW_SIZE = { width: 480, height: 760 };
const SESSION_KEY = 'trustedWindow';

const windows: TrustedWindowManager = new TrustedWindowManager({
  store: queue,
  windows: {
    async open(dealId, kind) {
      const win = await browser.windows.create({
        type: 'popup',
        url: browser.runtime.getURL(`trusted-window/index.html?deal=${encodeURIComponent(dealId)}${kind === 'exchange' ? '&kind=exchange' : ''}`),
        ...TRUSTED_WINDOW_SIZE,
        focused: true,
      });
      if (win?.id === undefined) throw new Error('could not open the trusted window');
      return win.id;
    },
    async close(windowId) {
      await browser.windows.remove(windowId);
    },
    async exists(windowId) {
      return browser.windows.get(windowId).then(
        () => true,
        () => false,
      );
    },
    async focus(windowId) {
      await browser.windows.update(windowId, { focused: true });
    },
  },
  session: {
    async get() {
      const value = (await browser.storage.session.get(SESSION_KEY))[SESSION_KEY] as Partial<CurrentWindow> | undefined;
      if (value && typeof value.dealId === 'string' && typeof value.windowId === 'number') return { dealId: value.dealId, windowId: value.windowId };
      return undefined;
    },
    async set(value) {
      if (value) await browser.storage.session.set({ [SESSION_KEY]: value });
      else await browser.storage.session.remove(SESSION_KEY);
    },
  },
  onUserClosed(dealId) {
    runner.reject(dealId).catch(() => undefined); // not awaiting any more: nothing to decline
    exchanges.reject(dealId).catch(() => undefined);
  },
});

const pagePorts = new PagePorts({
  extensionId,
  version: browser.runtime.getManifest().version,
  startPurchase: (origin, items) => runner.start(origin, items),
  startExchange: (origin, use, documentId) => exchanges.start(origin, use, documentId),
  getDeal: async (dealId) => (await store.get(dealId)) ?? (await exchangeStore.get(dealId)),
  onError: (e) => log('page request', e),
});

/** CRLs named in merchant and TTP certificates, fetched and cached until their nextUpdate. */
const revocation = new CrlRevocationChecker({ now: () => Date.now() });

const runner: DealRunner = new DealRunner({
  store,
  context: async () => ({ roots: await rootDers(), signer: await deviceSigner(), webauthn, policy: await identity.policy(), isRevoked: revocation.isRevoked }),
  http: (origin, outbound) => postToMerchant(origin, outbound),
  now: () => Date.now(),
  randomId: (bytes) => randomId(bytes),
  onAwaitingUser: () => {
    windows.pump().catch((e: unknown) => log('trusted window', e));
  },
  onSettled: (record) => {
    pagePorts.settle(record);
    windows.release(record.dealId).catch((e: unknown) => log('trusted window', e));
  },
  onChanged: refreshBadge,
  onError: (dealId, e) => log(`deal ${dealId}`, e),
});

/** Exchange deals (certified mail, contract signing): the shopper as originator, timers through browser.alarms. */
const exchanges: ExchangeRunner = new ExchangeRunner({
  store: exchangeStore,
  context: async () => ({ roots: await rootDers(), signer: await deviceSigner(), ttps: ttpEntries(await listTtps()), isRevoked: revocation.isRevoked }),
  transport: httpExchangeTransport,
  alarms: {
    async set(dealId, when) {
      await browser.alarms.create(exchangeAlarmName(dealId), { when: Math.max(when, Date.now() + 50) });
    },
    async clear(dealId) {
      await browser.alarms.clear(exchangeAlarmName(dealId));
    },
  },
  now: () => Date.now(),
  randomId: (bytes) => randomId(bytes),
  onAwaitingUser: () => {
    windows.pump().catch((e: unknown) => log('trusted window', e));
  },
  // Once the user confirmed, the exchange runs on without the window (it may wait for the TTP).
  onDecided: (record) => {
    windows.release(record.dealId).catch((e: unknown) => log('trusted window', e));
  },
  onSettled: (record) => {
    pagePorts.settle(record);
    windows.release(record.dealId).catch((e: unknown) => log('trusted window', e));
  },
  onChanged: refreshBadge,
  onError: (dealId, e) => log(`exchange ${dealId}`, e),
});

browser.alarms.onAlarm.addListener((alarm) => {
  const dealId = dealOfAlarm(alarm.name);
  if (dealId) exchanges.timeout(dealId).catch((e: unknown) => log(`exchange ${dealId} timer`, e));
});

browser.runtime.onConnect.addListener((port) => {
  if (port.name === PAGE_PORT_NAME) {
    pagePorts.connect(port as unknown as PortLike);
    return;
  }
  if (port.name === TRUSTED_WINDOW_PORT_NAME && port.sender && isTrustedWindowPage(port.sender, extensionId, extensionBase)) {
    // The trusted window pings over this port while it is open: that keeps the worker alive
    // while the user reads the offer. Nothing else travels on it.
    port.onMessage.addListener(() => undefined);
    return;
  }
  port.disconnect();
});

// The returned promise is the response (webextension-polyfill in Chromium, natively in Firefox); it never rejects.
browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) => {
  return handleOperation(message, sender, {
    extensionId,
    extensionBase,
    store,
    runner,
    currentWindow: () => windows.current(),
    signer: deviceSigner,
    roots: { add: addRoot, list: listRoots, remove: removeRoot },
    identity: { service: identity, keys: keyStore, openWindow: openSetupWindow, now: () => Date.now() },
    exchange: { store: exchangeStore, runner: exchanges, ttps: { add: addTtp, list: listTtps, remove: removeTtp } },
  }).catch((e: unknown) => {
    log('operation', e);
    return { ok: false, error: { code: 'ERR_INTERNAL', message: 'operation failed' } };
  });
});

browser.windows.onRemoved.addListener((windowId) => {
  windows.windowRemoved(windowId).catch((e: unknown) => log('trusted window', e));
});

// Worker start (install, browser start, or a wake-up after Chrome stopped an idle worker).
Promise.all([runner.resume(), exchanges.resume()])
  .then(() => windows.pump())
  .catch((e: unknown) => log('resume', e))
  .finally(refreshBadge);
