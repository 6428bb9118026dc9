/**
 * Who is asking, and whom the worker may talk to. Who is asking is derived only from what the browser reports about a message's sender
 * (runtime.MessageSender), never from a message field.
 */

import { SemperError } from '../../core/errors.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The origin of another party the user names (a CA, a TTP): https, or http on this computer
 * (development and tests) — what the extension's host permissions allow; no credentials in it.
 */
export function partyOrigin(text: string, party: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new SemperError('ERR_SCHEMA', `the ${party} address is not a URL: ${JSON.stringify(text)}`);
  }
  if (url.username || url.password) throw new SemperError('ERR_SCHEMA', `the ${party} address must not carry credentials`);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url.origin;
  throw new SemperError('ERR_SCHEMA', `the ${party} must be reached over https (http only on this computer: 127.0.0.1, localhost)`);
}

/**
 * The web origin of a page's content script: `sender.origin`, else the origin of `sender.url`.
 * Only https origins, and http on loopback (development and tests), are accepted.
 */
export function pageOriginOf(sender: Pick<chrome.runtime.MessageSender, 'origin' | 'url'>): string | undefined {
  let origin = sender.origin;
  if (!origin && sender.url) {
    try {
      origin = new URL(sender.url).origin;
    } catch {
      return undefined;
    }
  }
  if (!origin || origin === 'null') return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  if (url.origin !== origin) return undefined;
  if (url.protocol === 'https:') return origin;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return origin;
  return undefined;
}

/** A message from one of this extension's own pages (not a content script, not another extension). */
export function isExtensionPage(sender: Pick<chrome.runtime.MessageSender, 'id' | 'url'>, extensionId: string, extensionBase: string): boolean {
  return sender.id === extensionId && typeof sender.url === 'string' && sender.url.startsWith(extensionBase);
}

/** A message from the trusted window page (any deal; the caller checks which window). */
export function isTrustedWindowPage(sender: Pick<chrome.runtime.MessageSender, 'id' | 'url'>, extensionId: string, extensionBase: string): boolean {
  if (!isExtensionPage(sender, extensionId, extensionBase)) return false;
  const url = new URL(sender.url!);
  return url.pathname === '/trusted-window/index.html';
}
