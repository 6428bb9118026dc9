/**
 * The service worker: hosts the shopper's deals (deal-runner.ts), the trusted window
 * (trusted-window-manager.ts), the page bridge (page-ports.ts) and the operation API
 * (operation-handlers.ts). Every listener is registered synchronously at the top level, so
 * Chrome can wake a killed worker for the event; on every start, unfinished deals resume.
 */
import { randomId } from '../core/encoding/index.js';
import { DealRunner } from './deal-runner.js';
import { IdbDealStore } from './db.js';
import { deviceSigner } from './device-key.js';
import { postToMerchant } from './merchant-http.js';
import { handleOperation } from './operation-handlers.js';
import { PagePorts, type PortLike } from './page-ports.js';
import { PAGE_PORT_NAME, TRUSTED_WINDOW_PORT_NAME } from './bridge-protocol.js';
import { addRoot, listRoots, removeRoot, rootDers } from './trust-roots.js';
import { TrustedWindowManager, type CurrentWindow } from './trusted-window-manager.js';
import { isTrustedWindowPage } from './sender.js';

const extensionId = chrome.runtime.id;
const extensionBase = chrome.runtime.getURL('');
const log = (what: string, e: unknown) => console.warn(`[semper] ${what}:`, e);

const store = new IdbDealStore();

const TRUSTED_WINDOW_SIZE = { width: 480, height: 760 };
const SESSION_KEY = 'trustedWindow';

const windows: TrustedWindowManager = new TrustedWindowManager({
  store,
  windows: {
    async open(dealId) {
      const win = await chrome.windows.create({
        type: 'popup',
        url: chrome.runtime.getURL(`trusted-window/index.html?deal=${encodeURIComponent(dealId)}`),
        ...TRUSTED_WINDOW_SIZE,
        focused: true,
      });
      if (win?.id === undefined) throw new Error('could not open the trusted window');
      return win.id;
    },
    async close(windowId) {
      await chrome.windows.remove(windowId);
    },
    async exists(windowId) {
      return chrome.windows.get(windowId).then(
        () => true,
        () => false,
      );
    },
    async focus(windowId) {
      await chrome.windows.update(windowId, { focused: true });
    },
  },
  session: {
    async get() {
      const value = (await chrome.storage.session.get(SESSION_KEY))[SESSION_KEY] as Partial<CurrentWindow> | undefined;
      if (value && typeof value.dealId === 'string' && typeof value.windowId === 'number') return { dealId: value.dealId, windowId: value.windowId };
      return undefined;
    },
    async set(value) {
      if (value) await chrome.storage.session.set({ [SESSION_KEY]: value });
      else await chrome.storage.session.remove(SESSION_KEY);
    },
  },
  onUserClosed(dealId) {
    runner.reject(dealId).catch(() => undefined); // not awaiting any more: nothing to decline
  },
});

const pagePorts = new PagePorts({
  extensionId,
  version: chrome.runtime.getManifest().version,
  startPurchase: (origin, items) => runner.start(origin, items),
  getDeal: (dealId) => store.get(dealId),
  onError: (e) => log('page request', e),
});

const runner: DealRunner = new DealRunner({
  store,
  context: async () => ({ roots: await rootDers(), signer: await deviceSigner() }),
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
  onError: (dealId, e) => log(`deal ${dealId}`, e),
});

chrome.runtime.onConnect.addListener((port) => {
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

chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
  handleOperation(message, sender, {
    extensionId,
    extensionBase,
    store,
    runner,
    currentWindow: () => windows.current(),
    signer: deviceSigner,
    roots: { add: addRoot, list: listRoots, remove: removeRoot },
  }).then(sendResponse, (e: unknown) => {
    log('operation', e);
    sendResponse({ ok: false, error: { code: 'ERR_INTERNAL', message: 'operation failed' } });
  });
  return true; // answer asynchronously
});

chrome.windows.onRemoved.addListener((windowId) => {
  windows.windowRemoved(windowId).catch((e: unknown) => log('trusted window', e));
});

// Worker start (install, browser start, or a wake-up after Chrome stopped an idle worker).
runner
  .resume()
  .then(() => windows.pump())
  .catch((e: unknown) => log('resume', e));
