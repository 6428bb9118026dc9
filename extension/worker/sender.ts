/**
 * Who is asking: derived only from what the browser reports about a message's sender
 * (runtime.MessageSender), never from a message field.
 */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

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
