/**
 * Attacks by a hostile web page on the extension's boundary, in real Chromium with the built
 * extension:
 *   1. reaching the trusted window (TINGUIN) by URL: window.open, iframe, navigation, fetch,
 *      <img>/<link>/<script> probes, and a tab that shows the window's URL by another route;
 *   2. a cross-origin frame (and a cross-origin opener) spoofing bridge messages;
 *   4. asking for signatures or operations the provider does not offer.
 * The hostile merchant is a real origin on 127.0.0.1 with a correct certificate (the attack
 * server in 'merchant' mode): it knows every deal id it is asked about, as any merchant does.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, Page } from 'playwright-core';
import { makeTestCa } from '../helpers/pki.js';
import { DIST, clickInTrustedWindow, launchExtension, trustedWindows, waitForTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';
import { OPERATION_NAMES } from '../../extension/operations/table.js';
import { PROVIDER_METHODS } from '../../extension/content/port-protocol.js';
import { CONTENT_TO_PAGE, PAGE_TO_CONTENT } from '../../extension/content/bridge-protocol.js';
import {
  ATTACK_LEGAL_NAME,
  ATTACK_SKU,
  dealsOf,
  providerRequest,
  recordMessages,
  recordedMessages,
  serviceWorkerOf,
  sleep,
  startAttackServer,
  type AttackServer,
} from './helpers.js';

let harness: ExtensionHarness;
let shop: AttackServer; // origin A: the page that asks for deals (a certified merchant)
let other: AttackServer; // origin B: another origin (frames, openers)
/** Every trusted-window page that appeared in this browser during the file. */
const windowsSeen: string[] = [];

const PURCHASE = { method: 'semper_purchase', params: { items: [{ sku: ATTACK_SKU, quantity: 1 }] } } as const;

beforeAll(async () => {
  const ca = await makeTestCa('Attack Test Root');
  shop = await startAttackServer({ ca });
  other = await startAttackServer({ ca, legalName: 'Other Origin GmbH' });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: ca.root });
  harness.context.on('page', (p) => {
    if (p.url().startsWith(harness.url('trusted-window/'))) windowsSeen.push(p.url());
  });
});

afterAll(async () => {
  await harness?.close();
  await shop?.close();
  await other?.close();
});

function twUrl(dealId: string): string {
  return harness.url(`trusted-window/index.html?deal=${encodeURIComponent(dealId)}`);
}

/** Start a purchase in `page` without awaiting it; the outcome lands in window.__outcome. */
async function startPurchase(page: Page): Promise<void> {
  await page.evaluate((args) => {
    const w = window as unknown as { semper: { request(a: unknown): Promise<unknown> }; __outcome?: unknown };
    w.semper.request(args).then(
      (value) => (w.__outcome = { ok: true, value }),
      (e: { code: number; data: { reason: string } }) => (w.__outcome = { ok: false, code: e.code, reason: e.data.reason }),
    );
  }, PURCHASE);
}

function outcomeOf(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { __outcome?: unknown }).__outcome ?? null);
}

/** The deal id the merchant was asked for last: what a hostile merchant knows from its own logs. */
function lastDealIdAtMerchant(server: AttackServer): string {
  const offer = [...server.requests].reverse().find((r) => r.method === 'POST' && r.path === '/semper/offer');
  if (!offer) throw new Error('the merchant was never asked for an offer');
  return (JSON.parse(offer.body) as { dealId: string }).dealId;
}

/** Open a purchase from a fresh page of `shop` and wait until its trusted window shows the offer. */
async function pendingDeal(): Promise<{ page: Page; tw: Page; dealId: string }> {
  const page = await harness.context.newPage();
  await page.goto(`${shop.url}/`);
  await startPurchase(page);
  const tw = await waitForTrustedWindow(harness);
  await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe(ATTACK_LEGAL_NAME);
  const dealId = lastDealIdAtMerchant(shop);
  expect(new URL(tw.url()).searchParams.get('deal')).toBe(dealId);
  return { page, tw, dealId };
}

async function declineAndExpect4001(page: Page, tw: Page): Promise<void> {
  await expect.poll(() => tw.locator('#decline').isEnabled()).toBe(true);
  await clickInTrustedWindow(tw, '#decline');
  await expect.poll(() => outcomeOf(page)).toEqual({ ok: false, code: 4001, reason: 'ERR_USER_REJECTED' });
  await expect.poll(() => trustedWindows(harness).length).toBe(0);
}

async function statusOf(dealId: string): Promise<string | undefined> {
  return (await dealsOf(harness)).find((d) => d.dealId === dealId)?.status;
}

function ordersAt(server: AttackServer): number {
  return server.requests.filter((r) => r.path === '/semper/order').length;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(DIST, path).split('\\').join('/')];
  });
}

describe('1. the trusted window cannot be reached from a page', () => {
  it('dist/manifest.json makes no extension page or asset web-accessible and accepts no external messages', () => {
    const manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as {
      web_accessible_resources?: { resources: string[] }[];
      externally_connectable?: unknown;
    };
    const files = filesUnder(DIST);
    const pages = files.filter((f) => f.endsWith('.html'));
    // The assertion below must look at the real pages, or it would pass on an empty list.
    expect(pages).toEqual(expect.arrayContaining(['trusted-window/index.html', 'popup/index.html']));
    const globToRegExp = (glob: string) =>
      new RegExp(
        `^${glob
          .replace(/^\//, '')
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')}$`,
      );
    const exposed = (manifest.web_accessible_resources ?? []).flatMap((entry) =>
      files.filter((f) => entry.resources.some((glob) => globToRegExp(glob).test(f)) && !f.startsWith('extension/') && !f.startsWith('_locales/')),
    );
    // Pages and the scripts/styles they run are never exposed (a content script chunk could be).
    expect(exposed.filter((f) => f.endsWith('.html') || f.startsWith('assets/') || f.startsWith('trusted-window/') || f.startsWith('popup/'))).toEqual([]);
    expect(manifest.externally_connectable).toBeUndefined();
  });

  it("window.open, iframe, navigation, fetch, XHR and <img>/<link>/<script> probes of a live deal's window URL yield nothing", async () => {
    const { page, tw, dealId } = await pendingDeal();
    // The hostile page is the merchant's own origin, which knows the deal id from the offer request.
    const hostile = await harness.context.newPage();
    await hostile.goto(`${shop.url}/`);
    const url = twUrl(dealId);

    // Subresource probes: every one fails, for an existing and a non-existing extension path alike
    // (so there is not even an "is Semper installed" oracle), while the same probes of a web URL load.
    const probe = (target: string) =>
      hostile.evaluate(async (u) => {
        const element = (tag: 'img' | 'link' | 'script') =>
          new Promise<string>((resolve) => {
            const el = document.createElement(tag);
            el.onload = () => resolve('load');
            el.onerror = () => resolve('error');
            if (el instanceof HTMLImageElement) el.src = u;
            else if (el instanceof HTMLLinkElement) {
              el.rel = 'stylesheet';
              el.href = u;
              document.head.append(el);
            } else if (el instanceof HTMLScriptElement) {
              el.src = u;
              document.head.append(el);
            }
            setTimeout(() => resolve('timeout'), 5000);
          });
        const fetched = await fetch(u).then(
          async (r) => `status ${r.status} ${(await r.text()).length}`,
          (e: unknown) => `rejected ${(e as Error).name}`,
        );
        const noCors = await fetch(u, { mode: 'no-cors' }).then(
          (r) => `opaque ${r.type}`,
          (e: unknown) => `rejected ${(e as Error).name}`,
        );
        const xhr = await new Promise<string>((resolve) => {
          const x = new XMLHttpRequest();
          x.onload = () => resolve(`load ${x.responseText.length}`);
          x.onerror = () => resolve('error');
          x.open('GET', u);
          x.send();
        });
        return { fetched, noCors, xhr, img: await element('img'), link: await element('link'), script: await element('script') };
      }, target);
    const blocked = { fetched: 'rejected TypeError', noCors: 'rejected TypeError', xhr: 'error', img: 'error', link: 'error', script: 'error' };
    expect(await probe(url)).toEqual(blocked);
    expect(await probe(harness.url('extension/provider.iife.js'))).toEqual(blocked);
    expect(await probe(harness.url('popup/index.html'))).toEqual(blocked);
    expect(await probe(harness.url('no-such-file.html'))).toEqual(blocked);
    // Control: the probe itself works (a web resource of the page's own origin loads).
    expect((await probe(`${shop.url}/shop.js`)).fetched).toMatch(/^status 200 [1-9]/);

    // window.open: Chromium opens an error page in place of the extension page.
    const opened = harness.context.waitForEvent('page', { predicate: (p) => p !== hostile && p !== tw, timeout: 10_000 });
    await hostile.evaluate((u) => void window.open(u, '_blank'), url);
    const popup = await opened;
    await popup.waitForLoadState('domcontentloaded');
    await expect.poll(() => popup.url()).toMatch(/^chrome-error:/);
    expect(await popup.evaluate(() => document.getElementById('app'))).toBeNull();

    // iframe: an error document, not the TINGUIN.
    await hostile.evaluate((u) => {
      const frame = document.createElement('iframe');
      frame.src = u;
      document.body.append(frame);
    }, url);
    let framed: Frame | undefined;
    await expect
      .poll(() => {
        framed = hostile.frames().find((f) => f !== hostile.mainFrame());
        return framed?.url();
      })
      .toMatch(/^chrome-error:/);
    expect(
      await framed!.evaluate(() => ({ app: document.getElementById('app') !== null, merchant: document.getElementById('merchant-name') !== null })),
    ).toEqual({
      app: false,
      merchant: false,
    });

    // Top-level navigation of the page itself.
    await hostile.evaluate((u) => {
      location.href = u;
    }, url);
    await expect.poll(() => hostile.url()).toMatch(/^chrome-error:/);

    // None of these is a trusted window: still exactly the one the worker opened, and no other
    // page ever showed the trusted window's URL.
    expect(trustedWindows(harness)).toEqual([tw]);
    expect(windowsSeen.filter((u) => u.includes(dealId))).toHaveLength(1);
    expect(await statusOf(dealId)).toBe('awaiting-confirmation');
    await popup.close();
    await hostile.close();
    await declineAndExpect4001(page, tw);
    await page.close();
  });

  it("a tab showing the trusted window's URL by another route (e.g. the user pastes a link) can neither see nor decide the deal", async () => {
    const { page, tw, dealId } = await pendingDeal();
    const ordersBefore = ordersAt(shop);
    // Browser-initiated navigation, as from the address bar: Chromium loads the page this time.
    const forged = await harness.context.newPage();
    await forged.goto(twUrl(dealId));
    // The detector used elsewhere in this suite does see such a page (so "no window" there means something).
    expect(trustedWindows(harness)).toHaveLength(2);
    // The TINGUIN code in this tab asked for the offer and was refused: it shows an error, no offer, no buttons.
    await forged.locator('#tw-error').waitFor();
    expect(await forged.locator('#merchant-name').count()).toBe(0);
    expect(await forged.locator('#confirm').count()).toBe(0);
    // Calling the operations directly from this (genuine extension) page: refused, it is not the
    // window the worker opened for this deal.
    const calls = await forged.evaluate(async (d) => {
      const send = (op: string) => chrome.runtime.sendMessage({ op, request: { dealId: d } }) as Promise<{ ok: boolean; error?: { code: string } }>;
      return { offer: await send('getPendingOffer'), confirm: await send('confirmDeal'), reject: await send('rejectDeal') };
    }, dealId);
    expect(calls).toEqual({
      offer: { ok: false, error: expect.objectContaining({ code: 'ERR_FORBIDDEN' }) },
      confirm: { ok: false, error: expect.objectContaining({ code: 'ERR_FORBIDDEN' }) },
      reject: { ok: false, error: expect.objectContaining({ code: 'ERR_FORBIDDEN' }) },
    });
    await sleep(300);
    expect(await statusOf(dealId)).toBe('awaiting-confirmation');
    expect(ordersAt(shop)).toBe(ordersBefore); // nothing was signed or sent
    expect(await outcomeOf(page)).toBeNull();
    await forged.close();
    // The real window still works.
    expect(await tw.locator('#merchant-name').textContent()).toBe(ATTACK_LEGAL_NAME);
    await declineAndExpect4001(page, tw);
    await page.close();
  });
});

describe('2. messages from other origins are not the content script and not the page', () => {
  const FRAMED_PATH = '/framed';
  const FRAME_PATH = '/frame';

  beforeAll(() => {
    other.pages.set(FRAME_PATH, '<!doctype html><title>frame</title><p>evil frame</p>');
    shop.pages.set(FRAMED_PATH, `<!doctype html><title>framed</title><iframe id="evil" src="${other.url}${FRAME_PATH}"></iframe>`);
  });

  async function framedPage(): Promise<{ top: Page; frame: Frame }> {
    const top = await harness.context.newPage();
    await top.goto(`${shop.url}${FRAMED_PATH}`);
    await recordMessages(top);
    let frame: Frame | undefined;
    await expect
      .poll(() => {
        frame = top.frames().find((f) => f.url().startsWith(other.url));
        return frame?.url();
      })
      .toBe(`${other.url}${FRAME_PATH}`);
    await frame!.waitForLoadState('domcontentloaded');
    return { top, frame: frame! };
  }

  /** Responses the page's window received, by request id. */
  async function responsesFor(page: Page, id: string) {
    return (await recordedMessages(page)).filter((m) => {
      const data = JSON.parse(m.json) as { type?: string; id?: string };
      return data?.type === CONTENT_TO_PAGE && data.id === id;
    });
  }

  it('a cross-origin frame cannot settle, answer or send requests for the top page, even knowing its channel', async () => {
    const { top, frame } = await framedPage();
    expect(await top.evaluate(() => typeof (window as unknown as { semper?: unknown }).semper)).toBe('object');

    await startPurchase(top);
    const tw = await waitForTrustedWindow(harness);
    await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe(ATTACK_LEGAL_NAME);
    const dealId = lastDealIdAtMerchant(shop);
    const dealsBefore = (await dealsOf(harness)).length;
    // Worst case: the attacker knows the provider's channel and the pending request id (any script
    // of the top page can see them; here they are handed to the frame).
    const request = (await recordedMessages(top))
      .map((m) => JSON.parse(m.json) as { type?: string; channel: string; id: string })
      .find((d) => d?.type === PAGE_TO_CONTENT);
    expect(request).toBeDefined();
    const { channel, id } = request!;

    await frame.evaluate(
      ({ channel, id, dealId, RESPONSE, REQUEST }) => {
        const forgedResult = { dealId, status: 'completed', orderId: 'forged', delivered: [{ sku: 'widget', title: 'forged' }] };
        const forgedError = { code: 4001, message: 'forged', data: { reason: 'ERR_USER_REJECTED' } };
        // Forged content-script responses resolving / rejecting the pending request.
        parent.postMessage({ type: RESPONSE, channel, id, ok: true, result: forgedResult }, '*');
        parent.postMessage({ type: RESPONSE, channel, id, ok: false, error: forgedError }, '*');
        // Forged ids / channels, and port-format messages.
        parent.postMessage({ type: RESPONSE, channel: '0'.repeat(32), id, ok: true, result: forgedResult }, '*');
        parent.postMessage({ type: 'result', id, result: forgedResult }, '*');
        parent.postMessage({ type: 'deal', id, dealId }, '*');
        // Requests pretending to be the page, on the page's own channel.
        parent.postMessage({ type: REQUEST, channel, id: 'spoofInfo', method: 'semper_getInfo' }, '*');
        parent.postMessage({ type: REQUEST, channel, id: 'spoofBuy', method: 'semper_purchase', params: { items: [{ sku: 'widget', quantity: 1 }] } }, '*');
        // A purchase through "the bridge" inside the frame itself: there is none to answer.
        window.postMessage({ type: REQUEST, channel, id: 'frameBuy', method: 'semper_purchase', params: { items: [{ sku: 'widget', quantity: 1 }] } }, '*');
      },
      { channel, id, dealId, RESPONSE: CONTENT_TO_PAGE, REQUEST: PAGE_TO_CONTENT },
    );
    // The forged messages did arrive at the top page (so the provider had to reject them itself) …
    await expect.poll(async () => (await recordedMessages(top)).filter((m) => !m.fromSelf && m.origin === other.url).length).toBe(7);
    // … and a request the page itself sends on the same channel is answered (so the bridge is listening).
    await top.evaluate(({ channel, REQUEST }) => window.postMessage({ type: REQUEST, channel, id: 'selfInfo', method: 'semper_getInfo' }, location.origin), {
      channel,
      REQUEST: PAGE_TO_CONTENT,
    });
    await expect.poll(async () => (await responsesFor(top, 'selfInfo')).length).toBe(1);
    await sleep(500);
    expect(await responsesFor(top, 'spoofInfo')).toEqual([]);
    expect(await responsesFor(top, 'spoofBuy')).toEqual([]);
    expect(await outcomeOf(top)).toBeNull(); // not settled by the forgeries
    const deals = await dealsOf(harness);
    expect(deals).toHaveLength(dealsBefore);
    expect(deals.filter((d) => d.origin === other.url)).toEqual([]);
    expect(other.requests.filter((r) => r.path.startsWith('/semper/'))).toEqual([]);
    expect(trustedWindows(harness)).toEqual([tw]);

    // The real decision still settles it, with the real answer.
    await declineAndExpect4001(top, tw);
    await top.close();
  });

  it('a purchase asked from inside a cross-origin frame is refused', async () => {
    const { top, frame } = await framedPage();
    const dealsBefore = (await dealsOf(harness)).length;
    const offersBefore = shop.requests.filter((r) => r.path === '/semper/offer').length;
    const outcome = await frame.evaluate(
      ({ args, REQUEST, RESPONSE }) => {
        const semper = (window as unknown as { semper?: { request(a: unknown): Promise<unknown> } }).semper;
        if (!semper) {
          // No provider in frames (content scripts run in top frames only): speak the bridge's
          // protocol directly, in case a bridge listens here anyway.
          return new Promise<unknown>((resolve) => {
            window.addEventListener('message', (e: MessageEvent) => {
              const d = e.data as { type?: string; id?: string; error?: { code: number; data: { reason: string } } };
              if (d?.type === RESPONSE && d.id === 'frameBuy') resolve(d.error ? { code: d.error.code, reason: d.error.data.reason } : 'accepted');
            });
            window.postMessage({ type: REQUEST, channel: '12'.repeat(16), id: 'frameBuy', ...args }, '*');
            setTimeout(() => resolve('no bridge'), 1500);
          });
        }
        return Promise.race([
          semper.request(args).then(
            () => 'accepted',
            (e: { code: number; data: { reason: string } }) => ({ code: e.code, reason: e.data.reason }),
          ),
          new Promise((resolve) => setTimeout(() => resolve('pending'), 3000)),
        ]);
      },
      { args: PURCHASE, REQUEST: PAGE_TO_CONTENT, RESPONSE: CONTENT_TO_PAGE },
    );
    // Either nothing in the frame answers, or the worker refuses a purchase from a non-top frame.
    expect(['no bridge', { code: 4100, reason: 'ERR_PROTOCOL_STATE' }]).toContainEqual(outcome);
    expect(await dealsOf(harness)).toHaveLength(dealsBefore);
    expect(other.requests.filter((r) => r.path.startsWith('/semper/'))).toEqual([]);
    expect(shop.requests.filter((r) => r.path === '/semper/offer')).toHaveLength(offersBefore);
    expect(trustedWindows(harness)).toEqual([]);
    await top.close();
  });

  it("a page of another origin that opened the shop cannot make requests in the shop's name", async () => {
    const attacker = await harness.context.newPage();
    await attacker.goto(`${other.url}/`);
    const openedShop = harness.context.waitForEvent('page', { predicate: (p) => p.url().startsWith(shop.url) });
    await attacker.evaluate((u) => {
      (window as unknown as { victim: Window | null }).victim = window.open(u, '_blank');
    }, `${shop.url}/`);
    const victim = await openedShop;
    await victim.waitForLoadState('domcontentloaded');
    await recordMessages(victim);
    const dealsBefore = (await dealsOf(harness)).length;
    const channel = 'ab'.repeat(16);
    await attacker.evaluate(
      ({ channel, REQUEST }) => {
        const v = (window as unknown as { victim: Window }).victim;
        v.postMessage({ type: REQUEST, channel, id: 'openerInfo', method: 'semper_getInfo' }, '*');
        v.postMessage({ type: REQUEST, channel, id: 'openerBuy', method: 'semper_purchase', params: { items: [{ sku: 'widget', quantity: 1 }] } }, '*');
      },
      { channel, REQUEST: PAGE_TO_CONTENT },
    );
    await expect.poll(async () => (await recordedMessages(victim)).filter((m) => !m.fromSelf).length).toBe(2);
    await victim.evaluate(({ channel, REQUEST }) => window.postMessage({ type: REQUEST, channel, id: 'selfInfo', method: 'semper_getInfo' }, location.origin), {
      channel,
      REQUEST: PAGE_TO_CONTENT,
    });
    await expect.poll(async () => (await responsesFor(victim, 'selfInfo')).length).toBe(1);
    await sleep(500);
    expect(await responsesFor(victim, 'openerInfo')).toEqual([]);
    expect(await responsesFor(victim, 'openerBuy')).toEqual([]);
    expect(await dealsOf(harness)).toHaveLength(dealsBefore);
    expect(trustedWindows(harness)).toEqual([]);
    await victim.close();
    await attacker.close();
  });
});

describe('4. no signing oracle and no way to the operation API', () => {
  let page: Page;

  beforeAll(async () => {
    page = await harness.context.newPage();
    await page.goto(`${shop.url}/`);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('only the documented methods exist: everything else (signing, wallet, operation, prototype names) → 4200', async () => {
    const info = await providerRequest(page, { method: 'semper_getInfo' });
    expect(info).toEqual({ ok: true, value: { name: 'Semper', version: expect.any(String), methods: [...PROVIDER_METHODS] } });
    const hostile = [
      'semper_sign',
      'semper_signData',
      'semper_signMessage',
      'semper_getKeys',
      'semper_exportKey',
      'semper_confirm',
      'eth_sign',
      'personal_sign',
      'eth_signTypedData_v4',
      'eth_sendTransaction',
      'eth_requestAccounts',
      'wallet_requestPermissions',
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      'semper_getinfo',
      'SEMPER_PURCHASE',
      ' semper_purchase',
      'semper_purchase ',
      'semper_purchase\u0000',
      'semper_purchase\u200b',
      'op',
      ...OPERATION_NAMES,
    ];
    expect(hostile.filter((m) => (PROVIDER_METHODS as readonly string[]).includes(m))).toEqual([]);
    const dealsBefore = (await dealsOf(harness)).length;
    for (const method of hostile) {
      for (const params of [undefined, {}, { dealId: 'a'.repeat(24), data: 'sign me' }]) {
        expect({ method, params, outcome: await providerRequest(page, params === undefined ? { method } : { method, params }) }).toEqual({
          method,
          params,
          outcome: { ok: false, code: 4200, reason: 'ERR_SCHEMA', message: expect.any(String) },
        });
      }
    }
    expect(await dealsOf(harness)).toHaveLength(dealsBefore);
    expect(trustedWindows(harness)).toEqual([]);
  });

  it('params with extra, polluting or out-of-range fields → -32602, and nothing starts', async () => {
    const offersBefore = shop.requests.filter((r) => r.path === '/semper/offer').length;
    const dealsBefore = (await dealsOf(harness)).length;
    const item = { sku: ATTACK_SKU, quantity: 1 };
    // Built in the page with JSON.parse, so "__proto__" and "constructor" are real own keys.
    const cases: [string, string][] = [
      ['semper_purchase', JSON.stringify({ items: [item], total: { amount: 1, currency: 'EUR' } })],
      ['semper_purchase', JSON.stringify({ items: [{ ...item, unitPrice: { amount: 1, currency: 'EUR' } }] })],
      ['semper_purchase', JSON.stringify({ items: [item], origin: 'https://bank.example' })],
      ['semper_purchase', JSON.stringify({ items: [item], dealId: 'a'.repeat(24), nonce: 'b'.repeat(43) })],
      ['semper_purchase', `{"items":[${JSON.stringify(item)}],"__proto__":{"polluted":true}}`],
      ['semper_purchase', `{"items":[{"sku":"widget","quantity":1,"__proto__":{"polluted":true}}]}`],
      ['semper_purchase', `{"items":[${JSON.stringify(item)}],"constructor":{"prototype":{"polluted":true}}}`],
      ['semper_purchase', JSON.stringify({})],
      ['semper_purchase', JSON.stringify([item])],
      ['semper_purchase', JSON.stringify('widget')],
      ['semper_purchase', JSON.stringify(null)],
      ['semper_purchase', JSON.stringify({ items: [] })],
      ['semper_purchase', JSON.stringify({ items: Array.from({ length: 21 }, () => item) })],
      ['semper_purchase', JSON.stringify({ items: [{ sku: ATTACK_SKU, quantity: 0 }] })],
      ['semper_purchase', JSON.stringify({ items: [{ sku: ATTACK_SKU, quantity: 1.5 }] })],
      ['semper_purchase', JSON.stringify({ items: [{ sku: ATTACK_SKU, quantity: 100 }] })],
      ['semper_purchase', JSON.stringify({ items: [{ sku: '../semper/order', quantity: 1 }] })],
      ['semper_purchase', JSON.stringify({ items: [{ sku: 'Widget', quantity: 1 }] })],
      ['semper_getInfo', JSON.stringify({ verbose: true })],
      ['semper_getInfo', `{"__proto__":{"polluted":true}}`],
    ];
    for (const [method, json] of cases) {
      const outcome = await page.evaluate(
        ({ method, json }) =>
          Promise.race([
            (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper.request({ method, params: JSON.parse(json) as unknown }).then(
              () => ({ ok: true }),
              (e: { code: number; data: { reason: string } }) => ({ ok: false, code: e.code, reason: e.data.reason }),
            ),
            // Accepted requests wait for the shopper: do not wait for them here.
            new Promise((resolve) => setTimeout(() => resolve({ pending: true }), 3000)),
          ]),
        { method, json },
      );
      expect({ method, json, outcome }).toEqual({ method, json, outcome: { ok: false, code: -32602, reason: 'ERR_SCHEMA' } });
    }
    // Not even structured-cloneable: refused before it leaves the page.
    expect(
      await page.evaluate(() =>
        (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper
          .request({ method: 'semper_purchase', params: { items: [{ sku: 'widget', quantity: 1, toJSON: () => 1 }] } })
          .catch((e: { code: number }) => e.code),
      ),
    ).toBe(-32602);
    expect(await dealsOf(harness)).toHaveLength(dealsBefore);
    expect(shop.requests.filter((r) => r.path === '/semper/offer')).toHaveLength(offersBefore);
    // Nothing was polluted, neither in the page nor in the worker.
    expect(await page.evaluate(() => Object.getOwnPropertyNames(Object.prototype).filter((k) => k === 'polluted'))).toEqual([]);
    expect(
      await serviceWorkerOf(harness).evaluate(() => ({ polluted: ({} as { polluted?: unknown }).polluted ?? null, keys: Object.keys(Object.prototype) })),
    ).toEqual({
      polluted: null,
      keys: [],
    });
  });

  it('the page has no chrome.runtime, and postMessage with an op (or in the port format) does nothing to a live deal', async () => {
    const { page: buyer, tw, dealId } = await pendingDeal();
    const ordersBefore = ordersAt(shop);
    await recordMessages(page);
    const runtime = await page.evaluate(() => {
      const c = (window as unknown as { chrome?: { runtime?: { sendMessage?: unknown; connect?: unknown } } }).chrome;
      return { sendMessage: typeof c?.runtime?.sendMessage, connect: typeof c?.runtime?.connect };
    });
    expect(runtime).toEqual({ sendMessage: 'undefined', connect: 'undefined' });

    const channel = 'cd'.repeat(16);
    await page.evaluate(
      ({ dealId, channel, REQUEST }) => {
        const send = (m: unknown) => window.postMessage(m, location.origin);
        // The operation API's own message shape.
        send({ op: 'confirmDeal', request: { dealId } });
        send({ op: 'getIdentity', request: {} });
        // Operation names as provider methods, and extra op fields on a valid request.
        send({ type: REQUEST, channel, id: 'asMethod', method: 'confirmDeal', params: { dealId } });
        send({ type: REQUEST, channel, id: 'extraOp', method: 'semper_getInfo', op: 'confirmDeal', request: { dealId } });
        // The content script ↔ worker port format, posted to the window.
        send({ type: 'attach', id: 'attach1', dealId });
        send({ type: 'request', id: 'portReq', method: 'confirmDeal', params: { dealId } });
      },
      { dealId, channel, REQUEST: PAGE_TO_CONTENT },
    );
    const responses = async () =>
      (await recordedMessages(page))
        .map((m) => JSON.parse(m.json) as { type?: string; id?: string; ok?: boolean; result?: unknown; error?: { code: number } })
        .filter((d) => d?.type === CONTENT_TO_PAGE);
    await expect.poll(async () => (await responses()).length).toBe(2);
    const byId = Object.fromEntries((await responses()).map((r) => [r.id, r]));
    expect(byId.asMethod).toMatchObject({ ok: false, error: { code: 4200 } });
    // The op field was dropped: it is a plain getInfo.
    expect(byId.extraOp).toMatchObject({ ok: true, result: { name: 'Semper', methods: [...PROVIDER_METHODS] } });
    await sleep(500);
    expect(await responses()).toHaveLength(2);
    expect(await statusOf(dealId)).toBe('awaiting-confirmation');
    expect(ordersAt(shop)).toBe(ordersBefore);
    expect(await outcomeOf(buyer)).toBeNull();
    await declineAndExpect4001(buyer, tw);
    await buyer.close();
  });
});
