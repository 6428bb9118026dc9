/**
 * The rest of the service worker (issue 13, worker start): wires the one host (worker/host.ts)
 * with its deal kinds (extension/deals/), the trusted window (trusted-window-manager.ts), the page
 * bridge (content/page-ports.ts) and the operation API (operations/dispatch.ts). The start script
 * (background.ts) registers every listener and loads this the first time an event needs more than
 * it answers itself; this hands its handlers back (main-script.ts). When it is evaluated,
 * unfinished deals resume. In Chromium it is the classic script worker-main.js, in Firefox a module
 * of the event page (firefox-background.ts); every browser API goes through `browser`
 * (extension/browser.ts).
 */
import { z } from '../../core/zod.js';
import { createWebAuthnVerifier, useWebAuthnLibrary } from '../../core/crypto/webauthn.js';
import { SemperError } from '../../core/errors.js';
import { firefoxWebAuthnOrigin } from '../../core/protocol/extension-id.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/verify.js';
import { cryptoRandom } from '../../core/machine.js';
import { browser, type Alarms, type Runtime } from '../browser.js';
import { PAGE_PORT_NAME, TRUSTED_WINDOW_PORT_NAME } from '../content/bridge-protocol.js';
import { PagePorts, type PortLike } from '../content/page-ports.js';
import { exchangeKind } from '../deals/exchange.js';
import { fairPurchaseKind } from '../deals/fair-purchase.js';
import type { PaymentService } from '../payments/service.js';
import { walletPayments } from '../payments/wallet-payments.js';
import { CardPayments, withCard } from '../payments/card-payments.js';
import { purchaseKind } from '../deals/purchase.js';
import { KindRoutedStore, type DealRecord } from '../deals/records.js';
import { KeyStore } from '../identity/key-store.js';
import { IdentityService } from '../identity/service.js';
import { handleOperation } from '../operations/dispatch.js';
import { TrustRoots } from '../settings/trust-roots.js';
import { TrustedTtps } from '../settings/ttp-trust.js';
import { TrustedArbiters } from '../settings/arbiter-trust.js';
import { TrustedTsas } from '../settings/tsa-trust.js';
import { MachineHost } from './host.js';
import { getJson, httpTransport, MAX_RESPONSE_BYTES, postJson } from './http.js';
import { offscreenCash } from '../wallet/cash-tasks.js';
import { walletKind } from '../wallet/purse.js';
import { WalletService } from '../wallet/service.js';
import { CrlRevocationChecker } from './revocation.js';
import { chromeOffscreenDocument, OffscreenTasks, offscreenWebAuthnLibrary } from './offscreen.js';
import { encodeBase64url } from '../../core/encoding/base64url.js';
import { isTrustedWindowPage } from './sender.js';
import {
  IdbKeyRecords,
  IdbTokenRecords,
  dropLegacyDeviceKey,
  legacyDeviceKey,
  rootRecords,
  ttpRecords,
  ttpPolicyRecord,
  cardRecords,
  arbiterRecords,
  tsaRecords,
} from './store.js';
import { TrustedWindowManager, type QueuedDeal, type WindowQueueStore } from './trusted-window-manager.js';
import { WindowPresenter, type PresentPort } from './window-presentation.js';
import { provideWorkerMain } from './main-script.js';
import { readTrustedWindowSession, writeTrustedWindowSession } from './trusted-window-session.js';
import { badge, extensionBase, extensionId, inFirefox, log, purses, settingsRecords, store } from './services.js';

const now = () => Date.now();

const keys = new KeyStore({ records: new IdbKeyRecords(), now, legacyDeviceKey, legacyMigrated: dropLegacyDeviceKey });
const roots = new TrustRoots(rootRecords);
const ttps = new TrustedTtps(ttpRecords, Date.now, ttpPolicyRecord);
const arbiters = new TrustedArbiters(arbiterRecords);
const tsas = new TrustedTsas(tsaRecords);

// chrome-extension://<id> (pinned by the manifest key: core/protocol/extension-id.ts): origin and RP ID of every WebAuthn
// ceremony. Not in Firefox: there the page origin is moz-extension://<per-install UUID>, a ceremony without a web-domain
// rp.id is refused (SecurityError), and clientDataJSON.origin is moz-extension://<SHA-256 of the add-on id>
// (extension/README.md, "Firefox"), so ceremonies name a web-domain RP ID from the settings.
const extensionOrigin = extensionBase.replace(/\/$/, '');
const firefox = inFirefox ? { webauthnOrigin: firefoxWebAuthnOrigin(extensionId) } : undefined;
const CHALLENGES_KEY = 'tokenChallenges';
const PendingChallenges = z.array(z.strictObject({ challenge: z.string(), expiresAt: z.number() }));
const identity = new IdentityService({
  keys,
  tokens: new IdbTokenRecords(),
  settings: settingsRecords,
  roots: () => roots.ders(),
  fetch: (input, init) => fetch(input, init),
  now,
  randomId: (bytes) => cryptoRandom.id(bytes),
  extensionOrigin,
  ...(firefox ? { firefox } : {}),
  challenges: {
    async get() {
      return PendingChallenges.safeParse((await browser.storage.session.get(CHALLENGES_KEY))[CHALLENGES_KEY]).data ?? [];
    },
    async set(value) {
      await browser.storage.session.set({ [CHALLENGES_KEY]: value });
    },
  },
});
// Token-signed orders are verified before they leave; UV is enforced by the machine where the view demands it.
// In Firefox the origin is the add-on's WebAuthn origin and the RP IDs those of the registered tokens.
const webauthn: WebAuthnStatementVerifier = firefox
  ? {
      async verify(signature, input) {
        const rpIds = [...new Set((await identity.listTokens()).map((t) => t.rpId))];
        if (rpIds.length === 0) throw new SemperError('ERR_WEBAUTHN', 'no security key is registered');
        const relyingParties = [{ origin: await firefox.webauthnOrigin, rpIds }];
        return createWebAuthnVerifier({ relyingParties, requireUserVerification: false }).verify(signature, input);
      },
    }
  : createWebAuthnVerifier({ expectedOrigins: [extensionOrigin], expectedRpIds: [extensionOrigin], requireUserVerification: false });

/**
 * Rarely used heavy code, out of the start bundle (issue 13): Chromium's offscreen document, or
 * import() where it works (Firefox's event page).
 */
const offscreenDocument = chromeOffscreenDocument();
const offscreen = new OffscreenTasks({
  ...(offscreenDocument ? { document: offscreenDocument } : {}),
  importTasks: () => import('../offscreen/tasks.js'),
});
// @simplewebauthn/server (token registration, unusual assertions): where import() works it is imported on first use.
if (offscreenDocument) {
  const library = offscreenWebAuthnLibrary(offscreen);
  useWebAuthnLibrary(async () => library);
}
/** E-cash blinding and unblinding (@cloudflare/blindrsa-ts): tasks in Chromium and Firefox alike. */
const cash = offscreenCash(offscreen);

/** CRLs named in merchant and TTP certificates, fetched and cached until their nextUpdate; prepared before each step. */
const revocation = new CrlRevocationChecker({});

const ALARM_PREFIX = 'semper-deal:';
/** The first release named exchange timers so; a timer it left behind still reaches its deal. */
const FIRST_RELEASE_ALARM_PREFIX = 'semper-exchange:';
function dealOfAlarm(name: string): string | undefined {
  for (const prefix of [ALARM_PREFIX, FIRST_RELEASE_ALARM_PREFIX]) if (name.startsWith(prefix)) return name.slice(prefix.length);
  return undefined;
}

const host: MachineHost = new MachineHost({
  store: new KindRoutedStore(store, purses),
  kinds: [
    purchaseKind({
      roots: () => roots.ders(),
      signer: (origin, anonymous) => keys.dealSigner(origin, anonymous),
      policy: () => identity.policy(),
      webauthn,
      isRevoked: revocation.isRevoked,
      random: cryptoRandom,
    }),
    exchangeKind({
      roots: () => roots.ders(),
      signer: () => keys.identitySigner(),
      ttps: () => ttps.entries(),
      ttpPolicy: () => ttps.policy(),
      isRevoked: revocation.isRevoked,
      random: cryptoRandom,
    }),
    fairPurchaseKind({
      roots: () => roots.ders(),
      signer: () => keys.identitySigner(),
      ttps: () => ttps.entries(),
      isRevoked: revocation.isRevoked,
      random: cryptoRandom,
    }),
    walletKind({ random: cryptoRandom, accountSigner: (keyId) => keys.accountSigner(keyId) }),
  ],
  // A fair purchase's payment goes to the payment service (the purse, the bank account); everything else is HTTP.
  transport: httpTransport(
    fetch,
    (request) => payments.pay(request),
    (outbound) => cash.unblind(outbound),
  ),
  alarms: {
    async set(dealId, when) {
      await browser.alarms.create(`${ALARM_PREFIX}${dealId}`, { when: Math.max(when, Date.now() + 50) });
    },
    async clear(dealId) {
      await browser.alarms.clear(`${ALARM_PREFIX}${dealId}`);
    },
  },
  revocation,
  now,
  onAwaitingUser: () => {
    windows.pump().catch((e: unknown) => log('trusted window', e));
  },
  // An exchange runs on without its window once the user confirmed (it may wait for the TTP).
  onReleased: (record) => {
    windows.release(record.dealId).catch((e: unknown) => log('trusted window', e));
  },
  onSettled: (record) => {
    pagePorts.settle(record);
    windows.release(record.dealId).catch((e: unknown) => log('trusted window', e));
  },
  onChanged: (record) => {
    presenter.dealChanged(record.dealId);
    wallet.onChanged(record);
    void badge.refresh();
  },
  onError: (dealId, e) => log(`deal ${dealId}`, e),
});

/** The wallet: purses on the host; `wallet.pay` is what the fair purchase calls. */
const wallet: WalletService = new WalletService({
  host: { start: (kind, origin, params) => host.start(kind, origin, params), event: (purseId, event) => host.event(purseId, event) },
  purses,
  keys: { newAccountKey: (bank) => keys.newAccountKey(bank), accountSigner: (keyId) => keys.accountSigner(keyId) },
  getJson: (url) => getJson(url),
  roots: () => roots.ders(),
  now,
  prepareCoins: (denominations) => cash.prepareCoins(denominations),
});
/** The payment service fair purchases pay through (the host's transport hands it their `pay` sends). */
/** The saved card, paid through the card adapter the offer names (its operator key pinned when the card was added). */
const cards = new CardPayments({
  records: cardRecords,
  getJson: (url) => getJson(url),
  post: (base, path, body) => postJson(base, path, body, { maxResponseBytes: MAX_RESPONSE_BYTES }),
  random: cryptoRandom,
  now,
});
const payments: PaymentService = withCard(walletPayments(wallet), cards);

/** One trusted window at a time for every kind of deal, oldest first. */
const queued = (record: DealRecord): QueuedDeal => ({
  dealId: record.dealId,
  status: record.status,
  createdAt: record.createdAt,
  kind: record.kind,
  holdsWindow: host.holdsWindow(record),
});
const queue: WindowQueueStore = {
  async get(dealId) {
    const record = await store.get(dealId);
    return record ? queued(record) : undefined;
  },
  async listActive() {
    return (await store.listActive()).map(queued);
  },
};

const TRUSTED_WINDOW_SIZE = { width: 480, height: 760 };

/** The trusted windows' ports: the worker tells a window before and after it brings it forward (Confirm re-arms). */
const presenter = new WindowPresenter();

/** The trusted window on its setup or token view (not tied to a deal), or on a finished deal's disputes. */
let setupWindowId: number | undefined;
async function openSetupWindow(view: 'setup' | 'token' | 'dispute', dealId?: string): Promise<void> {
  if (
    setupWindowId !== undefined &&
    (await browser.windows.get(setupWindowId).then(
      () => true,
      () => false,
    ))
  ) {
    await browser.windows.remove(setupWindowId).catch(() => undefined);
  }
  const win = await browser.windows.create({
    type: 'popup',
    url: browser.runtime.getURL(`trusted-window/index.html?view=${view}${dealId ? `&deal=${encodeURIComponent(dealId)}` : ''}`),
    ...TRUSTED_WINDOW_SIZE,
    focused: true,
  });
  setupWindowId = win?.id;
}

const windows: TrustedWindowManager = new TrustedWindowManager({
  store: queue,
  windows: {
    async open(dealId, kind) {
      const win = await browser.windows.create({
        type: 'popup',
        url: browser.runtime.getURL(
          `trusted-window/index.html?deal=${encodeURIComponent(dealId)}${kind === 'exchange' ? '&kind=exchange' : kind === 'fair-purchase' ? '&kind=fair' : ''}`,
        ),
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
      // Only a window that disarmed Confirm is brought forward (worker/window-presentation.ts).
      const shown = await presenter.present(windowId, async () => {
        await browser.windows.update(windowId, { focused: true });
      });
      if (!shown) log('trusted window', 'not brought forward: it did not answer');
    },
  },
  session: { get: readTrustedWindowSession, set: writeTrustedWindowSession },
  onUserClosed(dealId) {
    // Closing the window is declining; a deal that no longer awaits the user refuses the event, which is fine.
    host.event(dealId, { type: 'user-rejected', now: now() }).catch(() => undefined);
  },
});

const pagePorts = new PagePorts({
  extensionId,
  version: browser.runtime.getManifest().version,
  startPurchase: (origin, items, requestKey) => host.start('purchase', origin, { items }, requestKey ? { pageRequest: requestKey } : {}),
  startExchange: (origin, use, documentId, requestKey) => host.start('exchange', origin, { use, documentId }, requestKey ? { pageRequest: requestKey } : {}),
  startFairPurchase: (origin, sku, requestKey) => host.start('fair-purchase', origin, { sku }, requestKey ? { pageRequest: requestKey } : {}),
  getDeal: (dealId) => store.get(dealId),
  onError: (e) => log('page request', e),
});

function onAlarm(alarm: Alarms.Alarm): void {
  const dealId = dealOfAlarm(alarm.name);
  if (dealId) host.timeout(dealId).catch((e: unknown) => log(`deal ${dealId} timer`, e));
}

function onConnect(port: Runtime.Port): void {
  if (port.name === PAGE_PORT_NAME) {
    pagePorts.connect(port as unknown as PortLike);
    return;
  }
  if (port.name === TRUSTED_WINDOW_PORT_NAME && port.sender && isTrustedWindowPage(port.sender, extensionId, extensionBase)) {
    // The trusted window pings over this port while it is open: that keeps the worker alive
    // while the user reads the offer. The worker also tells the window before and after it brings
    // it forward, and the window answers (worker/window-presentation.ts).
    port.onMessage.addListener(() => undefined);
    const windowId = port.sender.tab?.windowId;
    if (windowId !== undefined) {
      const presentPort = port as unknown as PresentPort;
      presenter.attach(windowId, presentPort);
      port.onDisconnect.addListener(() => presenter.detach(windowId, presentPort));
    }
    return;
  }
  port.disconnect();
}

// The returned promise is the response (webextension-polyfill in Chromium, natively in Firefox); it never rejects.
function onMessage(message: unknown, sender: Runtime.MessageSender): Promise<unknown> {
  return handleOperation(message, sender, {
    extensionId,
    extensionBase,
    currentWindow: () => windows.current(),
    keepForResult: (dealId, keep) => windows.keepForResult(dealId, keep),
    store,
    host,
    keys,
    identity,
    roots,
    ttps,
    arbiters,
    tsas,
    checkTimestamp: (token, digest, trust) =>
      offscreen.run('timestamp.check', {
        token,
        digest: encodeBase64url(digest),
        roots: [...trust.roots],
        tsas: trust.tsas.map(({ fingerprint }) => ({ fingerprint })),
      }),
    openWindow: openSetupWindow,
    payments,
    wallet,
    cards,
    webauthn,
    now,
    onNoticesRead: () => void badge.refresh(),
    getJson: (url) => getJson(url),
  }).catch((e: unknown) => {
    log('operation', e);
    return { ok: false, error: { code: 'ERR_INTERNAL', message: 'operation failed' } };
  });
}

function onWindowRemoved(windowId: number): void {
  windows.windowRemoved(windowId).catch((e: unknown) => log('trusted window', e));
}

provideWorkerMain({ onMessage, onConnect, onAlarm, onWindowRemoved });

// Loaded (at install, or the first time a start needed more than the start script answers): unfinished deals resume.
host
  .resume()
  .then(() => windows.pump())
  .catch((e: unknown) => log('resume', e))
  .finally(() => void badge.refresh());
