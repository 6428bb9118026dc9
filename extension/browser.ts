/**
 * The one place the extension's code gets its browser API from: `browser.*` with promises, the same
 * in Chromium and Firefox. In Firefox webextension-polyfill is `globalThis.browser` itself; in
 * Chromium it wraps `chrome.*` (callbacks → promises, a promise returned from an onMessage
 * listener becomes the response). APIs the polyfill has no metadata for (`storage.session`,
 * `action`) are passed through to `chrome.*`, whose MV3 methods return promises already.
 *
 * Import this only from code that runs in an extension context (the worker / event page, the
 * isolated-world content script, extension pages): the polyfill throws anywhere else, so the
 * MAIN-world provider and the Node-tested modules never import it.
 */
import browser from 'webextension-polyfill';

export { browser };
export type { Alarms, Runtime, Windows } from 'webextension-polyfill';
