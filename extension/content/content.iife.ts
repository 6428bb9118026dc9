/**
 * The isolated-world content script: bridges the page's `window.semper` (window.postMessage)
 * to the service worker (a runtime port). It adds no authority of its own: the worker takes the
 * page's origin from the port's sender, never from a message.
 */
import { PAGE_PORT_NAME, type PortRequest } from './bridge-protocol.js';
import { ContentBridge, type BridgePort } from './content-bridge.js';
import { browser } from '../browser.js';

const targetOrigin = window.location.origin === 'null' ? '*' : window.location.origin;

const bridge = new ContentBridge({
  connect(): BridgePort {
    const port = browser.runtime.connect({ name: PAGE_PORT_NAME });
    return {
      postMessage: (m: PortRequest) => port.postMessage(m),
      onMessage: (listener) => port.onMessage.addListener((m: unknown) => listener(m)),
      onDisconnect: (listener) =>
        port.onDisconnect.addListener(() => {
          void browser.runtime.lastError; // read it so Chrome does not log "unchecked lastError"
          listener();
        }),
    };
  },
  postToPage(message) {
    window.postMessage(message, targetOrigin);
  },
  setTimeout(fn, ms) {
    window.setTimeout(fn, ms);
  },
  randomKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    return btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
  },
});

window.addEventListener('message', (event: MessageEvent) => {
  bridge.onPageMessage(event.data, event.source === window);
});
