/** Provider ↔ content script ↔ worker messages: validation and the content script's reconnect logic. */
import { describe, expect, it } from 'vitest';
import { PROVIDER_ERRORS as CORE_CODES } from '../../../core/protocol/provider.js';
import {
  CONTENT_TO_PAGE,
  PAGE_TO_CONTENT,
  PROVIDER_ERRORS,
  isPageRequest,
  isPageResponse,
  isPortResponse,
  type PageResponseMessage,
  type PortRequest,
} from '../../../extension/content/bridge-protocol.js';
import { ContentBridge, MAX_PENDING, type BridgePort } from '../../../extension/content/content-bridge.js';
import { PortRequestSchema, parseProviderRequest } from '../../../extension/content/port-protocol.js';
import { pageOriginOf, isExtensionPage, isTrustedWindowPage, partyOrigin } from '../../../extension/worker/sender.js';

const CHANNEL = '0123456789abcdef0123456789abcdef';

describe('provider request validation (worker side, zod)', () => {
  it('accepts a purchase with valid items', () => {
    const r = parseProviderRequest('semper_purchase', { items: [{ sku: 'ink-drying-report', quantity: 2 }] });
    expect(r).toEqual({ ok: true, request: { method: 'semper_purchase', params: { items: [{ sku: 'ink-drying-report', quantity: 2 }] } } });
  });

  it('accepts getInfo without params', () => {
    expect(parseProviderRequest('semper_getInfo', undefined)).toMatchObject({ ok: true });
  });

  it.each([
    ['no items', {}],
    ['empty items', { items: [] }],
    ['bad sku', { items: [{ sku: '../etc', quantity: 1 }] }],
    ['zero quantity', { items: [{ sku: 'a', quantity: 0 }] }],
    ['fractional quantity', { items: [{ sku: 'a', quantity: 1.5 }] }],
    ['extra field (origin smuggling)', { items: [{ sku: 'a', quantity: 1 }], origin: 'https://bank.example' }],
    ['extra item field (price smuggling)', { items: [{ sku: 'a', quantity: 1, price: 1 }] }],
    ['too many items', { items: Array.from({ length: 21 }, (_, i) => ({ sku: `s${i}`, quantity: 1 })) }],
    ['not an object', 'items'],
  ])('refuses params: %s → -32602', (_name, params) => {
    const r = parseProviderRequest('semper_purchase', params);
    expect(r).toMatchObject({ ok: false, error: { code: -32602, data: { reason: 'ERR_SCHEMA' } } });
  });

  it('refuses unknown methods with 4200', () => {
    expect(parseProviderRequest('eth_sendTransaction', [])).toMatchObject({ ok: false, error: { code: 4200 } });
    expect(parseProviderRequest('__proto__', {})).toMatchObject({ ok: false, error: { code: 4200 } });
  });

  it('port messages are strict', () => {
    expect(PortRequestSchema.safeParse({ type: 'request', id: 'c1', method: 'semper_getInfo' }).success).toBe(true);
    expect(PortRequestSchema.safeParse({ type: 'request', id: 'c1', method: 'x', origin: 'https://evil.example' }).success).toBe(false);
    expect(PortRequestSchema.safeParse({ type: 'attach', id: 'c1', dealId: 'short' }).success).toBe(false);
    expect(PortRequestSchema.safeParse({ type: 'attach', id: 'c 1', dealId: 'abcdefghijklmnopqrstuvwx' }).success).toBe(false);
  });

  it("the content scripts repeat core's provider error codes exactly", () => {
    expect(PROVIDER_ERRORS).toEqual(CORE_CODES);
  });
});

describe('page message guards', () => {
  it('page requests need the type, a 128-bit channel, an id and a method', () => {
    expect(isPageRequest({ type: PAGE_TO_CONTENT, channel: CHANNEL, id: 'r1', method: 'semper_getInfo' })).toBe(true);
    expect(isPageRequest({ type: PAGE_TO_CONTENT, channel: 'short', id: 'r1', method: 'm' })).toBe(false);
    expect(isPageRequest({ type: PAGE_TO_CONTENT, channel: CHANNEL, id: '<img>', method: 'm' })).toBe(false);
    expect(isPageRequest({ type: PAGE_TO_CONTENT, channel: CHANNEL, id: 'r1', method: '' })).toBe(false);
    expect(isPageRequest({ type: CONTENT_TO_PAGE, channel: CHANNEL, id: 'r1', method: 'm' })).toBe(false);
    expect(isPageRequest(null)).toBe(false);
  });

  it('responses carry a known error code or a result', () => {
    expect(isPageResponse({ type: CONTENT_TO_PAGE, channel: CHANNEL, id: 'r1', ok: true, result: 1 })).toBe(true);
    expect(isPageResponse({ type: CONTENT_TO_PAGE, channel: CHANNEL, id: 'r1', ok: false, error: { code: 4001, message: 'no', data: { reason: 'x' } } })).toBe(
      true,
    );
    expect(isPageResponse({ type: CONTENT_TO_PAGE, channel: CHANNEL, id: 'r1', ok: false, error: { code: 1234, message: 'no', data: { reason: 'x' } } })).toBe(
      false,
    );
    expect(isPortResponse({ type: 'deal', id: 'c1', dealId: 'abcdefghijklmnopqrstuvwx' })).toBe(true);
    expect(isPortResponse({ type: 'deal', id: 'c1', dealId: 'x' })).toBe(false);
  });
});

describe('sender checks', () => {
  it('takes the origin from the browser-reported sender, https or loopback http only', () => {
    expect(pageOriginOf({ origin: 'https://shop.example', url: 'https://other.example/x' })).toBe('https://shop.example');
    expect(pageOriginOf({ url: 'http://127.0.0.1:8451/product/x' })).toBe('http://127.0.0.1:8451');
    expect(pageOriginOf({ url: 'http://shop.example/' })).toBeUndefined();
    expect(pageOriginOf({ origin: 'null', url: 'about:blank' })).toBeUndefined();
    expect(pageOriginOf({ url: 'chrome-extension://abc/popup/index.html' })).toBeUndefined();
    expect(pageOriginOf({})).toBeUndefined();
  });

  it("takes a sender's origin only in its exact serialised form", () => {
    // Deals are keyed and compared by origin: a port written out, a path, another case or a user
    // name would be a second spelling of one origin (or not an origin at all).
    for (const origin of ['https://shop.example:443', 'https://shop.example/checkout', 'HTTPS://SHOP.EXAMPLE', 'https://user@shop.example']) {
      expect(pageOriginOf({ origin })).toBeUndefined();
    }
    expect(pageOriginOf({ origin: 'https://shop.example' })).toBe('https://shop.example');
  });

  it('takes the address of another party (a CA, a TTP) over https, or http on this computer, without credentials', () => {
    expect(partyOrigin(' https://ttp.example/ttp ', 'TTP')).toBe('https://ttp.example');
    expect(partyOrigin('http://127.0.0.1:8452/', 'TTP')).toBe('http://127.0.0.1:8452');
    expect(partyOrigin('http://localhost:8452', 'CA')).toBe('http://localhost:8452');
    for (const address of ['http://ttp.example/', 'http://10.0.0.7:8452/', 'ftp://ttp.example/', 'file:///etc/ttp', 'javascript:alert(1)']) {
      expect(() => partyOrigin(address, 'TTP')).toThrow(/must be reached over https/);
    }
    expect(() => partyOrigin('https://user:secret@ttp.example/', 'TTP')).toThrow(/must not carry credentials/);
    expect(() => partyOrigin('https://user@ttp.example/', 'TTP')).toThrow(/must not carry credentials/);
    expect(() => partyOrigin('not an address', 'TTP')).toThrow(/is not a URL/);
  });

  it("recognises this extension's pages and the trusted window", () => {
    const base = 'chrome-extension://ogebgngddklbcapdihmjkemgigajimlo/';
    const id = 'ogebgngddklbcapdihmjkemgigajimlo';
    expect(isExtensionPage({ id, url: `${base}popup/index.html` }, id, base)).toBe(true);
    expect(isExtensionPage({ id, url: 'https://shop.example/' }, id, base)).toBe(false); // a content script
    expect(isExtensionPage({ id: 'other', url: `${base}popup/index.html` }, id, base)).toBe(false);
    expect(isTrustedWindowPage({ id, url: `${base}trusted-window/index.html?deal=x` }, id, base)).toBe(true);
    expect(isTrustedWindowPage({ id, url: `${base}popup/index.html` }, id, base)).toBe(false);
  });
});

class FakePort implements BridgePort {
  sent: PortRequest[] = [];
  private messageListeners: ((m: unknown) => void)[] = [];
  private disconnectListeners: (() => void)[] = [];
  postMessage(m: PortRequest) {
    this.sent.push(m);
  }
  onMessage(l: (m: unknown) => void) {
    this.messageListeners.push(l);
  }
  onDisconnect(l: () => void) {
    this.disconnectListeners.push(l);
  }
  deliver(m: unknown) {
    for (const l of this.messageListeners) l(m);
  }
  drop() {
    for (const l of this.disconnectListeners) l();
  }
}

function makeBridge() {
  const ports: FakePort[] = [];
  const toPage: PageResponseMessage[] = [];
  const timers: (() => void)[] = [];
  let broken = false;
  let keys = 0;
  const bridge = new ContentBridge({
    connect() {
      if (broken) throw new Error('Extension context invalidated.');
      const p = new FakePort();
      ports.push(p);
      return p;
    },
    postToPage: (m) => toPage.push(m),
    setTimeout: (fn) => timers.push(fn),
    randomKey: () => `key-${++keys}-0123456789abcdef`,
  });
  const request = (id: string, method = 'semper_purchase', params: unknown = { items: [{ sku: 'a', quantity: 1 }] }) =>
    bridge.onPageMessage({ type: PAGE_TO_CONTENT, channel: CHANNEL, id, method, params }, true);
  return { bridge, ports, toPage, timers, request, breakExtension: () => (broken = true) };
}

describe('content bridge', () => {
  it("forwards page requests with its own ids and answers on the page's channel", () => {
    const { ports, toPage, request } = makeBridge();
    request('r1');
    expect(ports).toHaveLength(1);
    const sent = ports[0]!.sent[0]!;
    expect(sent).toMatchObject({ type: 'request', method: 'semper_purchase' });
    ports[0]!.deliver({ type: 'result', id: sent.id, result: { dealId: 'd' } });
    expect(toPage).toEqual([{ type: CONTENT_TO_PAGE, channel: CHANNEL, id: 'r1', ok: true, result: { dealId: 'd' } }]);
  });

  it('ignores messages that are not from the page itself', () => {
    const { bridge, ports } = makeBridge();
    bridge.onPageMessage({ type: PAGE_TO_CONTENT, channel: CHANNEL, id: 'r1', method: 'm' }, false);
    expect(ports).toHaveLength(0);
  });

  it('forwards only well-formed page requests', () => {
    const { bridge, ports, toPage } = makeBridge();
    bridge.onPageMessage({ type: PAGE_TO_CONTENT, channel: 'short', id: 'r1', method: 'semper_purchase' }, true);
    bridge.onPageMessage({ type: 'semper-something-else', channel: CHANNEL, id: 'r1', method: 'semper_purchase' }, true);
    bridge.onPageMessage({ type: PAGE_TO_CONTENT, channel: CHANNEL, id: 'r1' }, true);
    bridge.onPageMessage('semper_purchase', true);
    expect(ports).toHaveLength(0);
    expect(toPage).toEqual([]);
  });

  it("passes on to the page only the worker's well-formed answers", () => {
    const { ports, toPage, request } = makeBridge();
    request('r1');
    const sent = ports[0]!.sent[0]!;
    // An error code the provider does not define, a result without one, an unknown kind of answer.
    ports[0]!.deliver({ type: 'error', id: sent.id, error: { code: 1234, message: 'made up' } });
    ports[0]!.deliver({ type: 'result', id: sent.id });
    ports[0]!.deliver({ type: 'surprise', id: sent.id, result: 1 });
    expect(toPage).toEqual([]);
    ports[0]!.deliver({ type: 'result', id: sent.id, result: { dealId: 'd' } });
    expect(toPage).toEqual([{ type: CONTENT_TO_PAGE, channel: CHANNEL, id: 'r1', ok: true, result: { dealId: 'd' } }]);
  });

  it('every request carries its own random key (the worker finds the deal it started by it)', () => {
    const { ports, request } = makeBridge();
    request('r1');
    request('r2');
    const [a, b] = ports[0]!.sent as Extract<PortRequest, { type: 'request' }>[];
    expect(a!.key).toMatch(/^[A-Za-z0-9_-]{22,64}$/);
    expect(b!.key).not.toBe(a!.key);
    expect(PortRequestSchema.safeParse(a).success).toBe(true);
  });

  it('issue 8 item 8: after a worker restart, re-attaches by deal id, and re-sends a request that had no deal id yet with its key (never "please retry")', () => {
    const { ports, toPage, timers, request } = makeBridge();
    request('r1');
    request('r2');
    const [a, b] = ports[0]!.sent;
    ports[0]!.deliver({ type: 'deal', id: a!.id, dealId: 'abcdefghijklmnopqrstuvwx' });
    ports[0]!.drop();
    // The page is told nothing: its deal may already be stored (the worker stopped between storing it and saying so).
    expect(toPage).toEqual([]);
    expect(timers).toHaveLength(1);
    timers.shift()!();
    expect(ports).toHaveLength(2);
    expect(ports[1]!.sent).toEqual([{ type: 'attach', id: a!.id, dealId: 'abcdefghijklmnopqrstuvwx' }, b]);
    ports[1]!.deliver({ type: 'error', id: a!.id, error: { code: 4001, message: 'declined', data: { reason: 'ERR_USER_REJECTED' } } });
    expect(toPage.at(-1)).toMatchObject({ id: 'r1', ok: false, error: { code: 4001 } });
    // The resumed request goes on: its deal id, then its outcome.
    ports[1]!.deliver({ type: 'deal', id: b!.id, dealId: 'bcdefghijklmnopqrstuvwxy' });
    ports[1]!.deliver({ type: 'result', id: b!.id, result: { dealId: 'bcdefghijklmnopqrstuvwxy' } });
    expect(toPage.at(-1)).toMatchObject({ id: 'r2', ok: true, result: { dealId: 'bcdefghijklmnopqrstuvwxy' } });
    // A second restart re-attaches nothing that has settled.
    ports[1]!.drop();
    expect(timers).toHaveLength(0);
  });

  it('fails everything cleanly when the extension is gone', () => {
    const { ports, toPage, timers, request, breakExtension } = makeBridge();
    request('r1');
    ports[0]!.deliver({ type: 'deal', id: ports[0]!.sent[0]!.id, dealId: 'abcdefghijklmnopqrstuvwx' });
    breakExtension();
    ports[0]!.drop();
    while (timers.length) timers.shift()!();
    expect(toPage).toEqual([expect.objectContaining({ id: 'r1', ok: false, error: expect.objectContaining({ code: -32603 }) })]);
  });

  it('limits pending requests per page', () => {
    const { toPage, request } = makeBridge();
    for (let i = 0; i < MAX_PENDING + 1; i++) request(`r${i}`);
    expect(toPage).toEqual([expect.objectContaining({ id: `r${MAX_PENDING}`, ok: false, error: expect.objectContaining({ code: 4100 }) })]);
  });
});
