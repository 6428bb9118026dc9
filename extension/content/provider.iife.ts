/**
 * The in-page provider: `window.semper`, injected into the page's MAIN world at document_start
 * (the file is `*.iife.ts` so crxjs emits a classic script that runs before any page script).
 *
 *   window.semper.request({ method: 'semper_purchase', params: { items } }) → Promise
 *
 * EIP-1193 style. The page is an untrusted business application: this object only forwards
 * requests; the worker validates them, takes the origin from the browser, and shows the user
 * what it verified. Checks here are for the page's convenience, not for security.
 */
import { PAGE_TO_CONTENT, PROVIDER_ERRORS, isPageResponse, type PageRequestMessage, type ProviderErrorShape } from './bridge-protocol.js';

// Capture what we use before any page script can replace it.
const win = window;
const postMessage = win.postMessage.bind(win);
const addEventListener = win.addEventListener.bind(win);
const targetOrigin = win.location.origin === 'null' ? '*' : win.location.origin;

class SemperProviderError extends Error {
  override readonly name = 'SemperProviderError';
  readonly code: number;
  readonly data: { reason: string };
  constructor(shape: ProviderErrorShape) {
    super(shape.message);
    this.code = shape.code;
    this.data = Object.freeze({ reason: shape.data.reason });
  }
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const channel = randomHex(16);
let counter = 0;
const pending = new Map<string, { resolve(v: unknown): void; reject(e: SemperProviderError): void }>();

addEventListener('message', (event: MessageEvent) => {
  if (event.source !== win) return;
  const data: unknown = event.data;
  if (!isPageResponse(data) || data.channel !== channel) return;
  const waiter = pending.get(data.id);
  if (!waiter) return;
  pending.delete(data.id);
  if (data.ok) waiter.resolve(data.result);
  else waiter.reject(new SemperProviderError(data.error));
});

function fail(code: number, message: string, reason: string): Promise<never> {
  return Promise.reject(new SemperProviderError({ code: code as ProviderErrorShape['code'], message, data: { reason } }));
}

function request(args: unknown): Promise<unknown> {
  if (typeof args !== 'object' || args === null) return fail(PROVIDER_ERRORS.invalidParams, 'request expects { method, params }', 'ERR_SCHEMA');
  const { method, params } = args as { method?: unknown; params?: unknown };
  if (typeof method !== 'string' || method.length === 0 || method.length > 64) {
    return fail(PROVIDER_ERRORS.invalidParams, 'method must be a non-empty string', 'ERR_SCHEMA');
  }
  const id = `r${++counter}`;
  const message: PageRequestMessage = { type: PAGE_TO_CONTENT, channel, id, method, ...(params === undefined ? {} : { params }) };
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    try {
      // Structured clone: functions, DOM nodes and the like cannot cross and are refused here.
      postMessage(message, targetOrigin);
    } catch {
      pending.delete(id);
      reject(new SemperProviderError({ code: PROVIDER_ERRORS.invalidParams, message: 'params must be plain JSON data', data: { reason: 'ERR_SCHEMA' } }));
    }
  });
}

const provider = Object.freeze({
  isSemper: true as const,
  version: '0.1.0',
  request,
});

try {
  Object.defineProperty(win, 'semper', { value: provider, writable: false, configurable: false, enumerable: true });
  win.dispatchEvent(new Event('semper#initialized'));
} catch {
  // Another script defined window.semper first (cannot happen at document_start): leave it.
}
