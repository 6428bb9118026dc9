/**
 * What the service worker's start script (background.ts) and the rest of the worker (main.ts)
 * share: the stores, the settings reader and the toolbar badge. One instance of each per worker:
 * in Chromium main.ts is a second classic script that takes these modules from the start script
 * (scripts/classic-worker.ts), in Firefox both are modules of one event page.
 */
import { browser } from '../browser.js';
import { noticesOf } from '../notices/notices.js';
import { SettingsReader } from '../identity/settings-view.js';
import { Badge } from './badge.js';
import { IdbDealStore, IdbSettingsRecords, IdbWalletStore } from './store.js';

export const extensionId = browser.runtime.id;
export const extensionBase = browser.runtime.getURL('');
/** Firefox's event page (moz-extension://): WebAuthn ceremonies name a web-domain RP ID there (main.ts). */
export const inFirefox = extensionBase.startsWith('moz-extension:');
export const log = (what: string, e: unknown) => console.warn(`[semper] ${what}:`, e);

export const store = new IdbDealStore();
/** The purses (extension/wallet): their own store, the same host. */
export const purses = new IdbWalletStore();
export const settingsRecords = new IdbSettingsRecords();
export const settings = new SettingsReader(settingsRecords, inFirefox);

/** The toolbar badge: deals awaiting the user, else "!" for unread notices. */
export const badge = new Badge({
  count: async () => (await store.listActive()).filter((d) => d.status === 'awaiting-confirmation').length,
  notices: async () => {
    // Only deals updated since the notices were read can hold an unread one (a notice's time is its deal's update).
    const seenAt = await settings.noticesSeenAt();
    return noticesOf(await store.listUpdatedSince(seenAt), seenAt).unseen;
  },
  async show(text) {
    await browser.action.setBadgeBackgroundColor({ color: '#8b0000' });
    await browser.action.setBadgeText({ text });
  },
  onError: (e) => log('badge', e),
});
