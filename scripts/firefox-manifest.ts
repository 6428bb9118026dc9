/**
 * The Firefox manifest, derived at build time from the one manifest.json (the Chromium manifest
 * stays the source of truth). Used by vite.config.firefox.ts and asserted by
 * test/extension/firefox-package.test.ts.
 *
 * What differs for Firefox (MV3):
 * - `background.scripts` (an event page) instead of `background.service_worker`: Firefox has no
 *   extension service workers. `type: "module"` keeps the worker's ES-module output loadable. The
 *   page is extension/worker/firefox-background.ts: the start script with the rest of the worker.
 * - `browser_specific_settings.gecko`: the add-on id (Firefox does not derive an id from a `key`)
 *   and `strict_min_version`. Semper needs Firefox 128 (`world: "MAIN"` content scripts for the
 *   in-page provider; storage.session since 115; MV3 host permissions granted at install since
 *   127); the floor is 140 (the current ESR) because `data_collection_permissions`, which
 *   addons.mozilla.org requires of new add-ons, is read from 140 on (addons-linter warns below).
 *   `gecko_android` only keeps that key in range for Firefox for Android (142): Android is not a
 *   target (it has no `windows` API, so the trusted window cannot open there).
 * - no `key` and no `minimum_chrome_version` (Chromium-only keys).
 * - `data_collection_permissions` (Firefox's built-in data consent): Mozilla's policy counts any data
 *   handled outside the browser, not only data sent to the developer. Semper sends nothing to its
 *   developers, but its function is sending signed orders (items, totals: transactions) to the
 *   merchant the user buys from, so it declares `financialAndPaymentInfo` as required. (Registration
 *   sends the CA a CSR with a fixed informational CN and a one-time code, not personal data.)
 */

import { GECKO_ID, firefoxWebAuthnOrigin as coreFirefoxWebAuthnOrigin } from '../core/protocol/extension-id.js';

/** The add-on id and its WebAuthn origin are protocol constants (verifiers need them): core/protocol/extension-id.ts. */
export { FIREFOX_WEBAUTHN_ORIGIN, GECKO_ID } from '../core/protocol/extension-id.js';
export const FIREFOX_MIN_VERSION = '140.0';
export const FIREFOX_ANDROID_MIN_VERSION = '142.0';

export interface ChromiumManifest {
  manifest_version: 3;
  key?: string;
  minimum_chrome_version?: string;
  permissions?: string[];
  background: { service_worker: string; type?: 'module' };
  [field: string]: unknown;
}

export interface FirefoxManifest {
  manifest_version: 3;
  permissions?: string[];
  background: { scripts: string[]; type: 'module' };
  browser_specific_settings: {
    gecko: { id: string; strict_min_version: string; data_collection_permissions: { required: string[] } };
    gecko_android: { strict_min_version: string };
  };
  [field: string]: unknown;
}

/** Chromium-only permissions to drop (none are used today; listed so a new one is a conscious choice). */
const CHROMIUM_ONLY_PERMISSIONS = new Set(['offscreen', 'sidePanel', 'readingList']);

/**
 * The event page for the Chromium service worker's start script (extension/worker/background.ts):
 * its sibling firefox-background.ts, which imports the rest of the worker (main.ts) first.
 */
export function firefoxBackground(serviceWorker: string): string {
  return serviceWorker.replace(/background\.ts$/, 'firefox-background.ts');
}

export function firefoxManifest(chromium: ChromiumManifest): FirefoxManifest {
  const { key, minimum_chrome_version, background, permissions, ...rest } = chromium;
  return {
    ...rest,
    manifest_version: 3,
    ...(permissions ? { permissions: permissions.filter((p) => !CHROMIUM_ONLY_PERMISSIONS.has(p)) } : {}),
    background: { scripts: [firefoxBackground(background.service_worker)], type: 'module' },
    browser_specific_settings: {
      gecko: { id: GECKO_ID, strict_min_version: FIREFOX_MIN_VERSION, data_collection_permissions: { required: ['financialAndPaymentInfo'] } },
      gecko_android: { strict_min_version: FIREFOX_ANDROID_MIN_VERSION },
    },
  };
}

/** The origin Firefox writes into a WebAuthn ceremony's clientDataJSON on this add-on's pages (core/protocol/extension-id.ts). */
export async function firefoxWebAuthnOrigin(geckoId: string = GECKO_ID): Promise<string> {
  return coreFirefoxWebAuthnOrigin(geckoId);
}
