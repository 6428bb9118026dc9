/**
 * The shopper's secrets against a hostile page (and against the extension's own code):
 *   5. a page draws a look-alike trusted window; it cannot learn the security phrase that makes
 *      the real one recognisable — the phrase appears nowhere a page or a merchant can reach;
 *   6. a page tries to read keys or the phrase: IndexedDB of its own origin is not the
 *      extension's, `window.semper` exposes nothing but the provider, no key material arrives;
 *   7. every stored private key is non-extractable: enumerated from the worker's own IndexedDB,
 *      `exportKey`/`wrapKey` reject for each (and there is at least one key: a purchase ran).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeTestCa } from '../helpers/pki.js';
import { clickInTrustedWindow, launchExtension, trustedWindows, waitForTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';
import { OPERATION_NAMES } from '../../extension/operations/table.js';
import { CONTENT_TO_PAGE, PAGE_TO_CONTENT } from '../../extension/content/bridge-protocol.js';
import {
  ATTACK_LEGAL_NAME,
  ATTACK_SKU,
  dealsOf,
  providerRequest,
  rawOperation,
  recordMessages,
  recordedMessages,
  serviceWorkerOf,
  startAttackServer,
  type AttackServer,
} from './helpers.js';

let harness: ExtensionHarness;
let shop: AttackServer;

beforeAll(async () => {
  const ca = await makeTestCa('Attack Test Root');
  shop = await startAttackServer({ ca });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: ca.root });
});

afterAll(async () => {
  await harness?.close();
  await shop?.close();
});

/** A page of the hostile shop that records every message its window receives from the start. */
async function hostilePage(path = '/'): Promise<Page> {
  const page = await harness.context.newPage();
  await page.goto(`${shop.url}${path}`);
  await recordMessages(page);
  return page;
}

/** Buy in `page` through its "Buy with Semper" button and decide in the trusted window. */
async function purchase(
  page: Page,
  decision: 'confirm' | 'decline',
  options: { anonymous?: boolean } = {},
): Promise<{ dealId: string; tw: Page; anonymous: boolean }> {
  await page.click('#buy');
  const tw = await waitForTrustedWindow(harness);
  await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe(ATTACK_LEGAL_NAME);
  const dealId = new URL(tw.url()).searchParams.get('deal')!;
  // Anonymous (signed with a per-merchant pseudonym), where the trusted window offers it.
  const anonymous = options.anonymous === true && (await tw.locator('#anonymous').count()) > 0;
  if (anonymous) await tw.locator('#anonymous').check();
  const button = decision === 'confirm' ? '#confirm' : '#decline';
  await expect.poll(() => tw.locator(button).isEnabled()).toBe(true);
  if (decision === 'confirm') {
    // Inspect the window while it is still open (it closes when the deal ends).
    await clickInTrustedWindow(tw, button);
    await page.locator('#semper-result[data-status=completed]').waitFor({ timeout: 20_000 });
  } else {
    await clickInTrustedWindow(tw, button);
    await page.locator('#semper-result[data-status=error]').waitFor({ timeout: 20_000 });
  }
  await expect.poll(() => trustedWindows(harness).length).toBe(0);
  return { dealId, tw, anonymous };
}

/** Everything a page (and its server) can see, as one string per source. */
async function pageReachable(page: Page): Promise<Record<string, string>> {
  const inPage = await page.evaluate(async () => {
    const walk = (v: unknown, depth: number, seen: Set<unknown>): unknown => {
      if (depth > 6) return '…';
      if (typeof v === 'function')
        return { fn: String(v), props: Object.getOwnPropertyNames(v).map((k) => [k, walk((v as unknown as Record<string, unknown>)[k], depth + 1, seen)]) };
      if (typeof v !== 'object' || v === null) return v;
      if (seen.has(v)) return '[seen]';
      seen.add(v);
      const proto = Object.getPrototypeOf(v) as object | null;
      return {
        own: Reflect.ownKeys(v).map((k) => [String(k), walk((v as Record<PropertyKey, unknown>)[k], depth + 1, seen)]),
        proto: proto === Object.prototype ? 'Object.prototype' : walk(proto, depth + 1, seen),
      };
    };
    const semperish = Object.getOwnPropertyNames(window).filter((n) => /semper/i.test(n));
    return {
      dom: document.documentElement.outerHTML,
      text: document.body.textContent ?? '',
      title: document.title,
      semper: JSON.stringify(walk((window as unknown as { semper: unknown }).semper, 0, new Set())),
      globals: JSON.stringify(semperish),
      storage: JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, dbs: await indexedDB.databases() }),
      resources: JSON.stringify(performance.getEntries().map((e) => e.name)),
    };
  });
  return {
    ...inPage,
    messages: JSON.stringify(await recordedMessages(page)),
    server: JSON.stringify(shop.requests),
  };
}

/** Where `secret` shows up in `sources`, in plain text or in the usual encodings. */
function leaksOf(sources: Record<string, string>, secret: string): string[] {
  const forms = [
    secret,
    secret.toLowerCase(),
    encodeURIComponent(secret),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(secret).toString('hex'),
  ];
  return Object.entries(sources).flatMap(([where, text]) => (forms.some((f) => text.toLowerCase().includes(f.toLowerCase())) ? [where] : []));
}

describe('5. a look-alike trusted window cannot show the security phrase', () => {
  it('after the shopper set a phrase, it appears in the real trusted window and nowhere a page or merchant can reach', async (ctx) => {
    // The phrase is set through the extension's own settings/onboarding operation.
    const op = OPERATION_NAMES.find((name) => /phrase|personali[sz]e/i.test(name));
    if (!op) return ctx.skip('the extension has no security-phrase operation yet (looked for /phrase|personalise/ in extension/operations.ts)');
    const phrase = `Lilac otter ${randomBytes(6).toString('hex')}`;
    const set = await rawOperation(harness, op, { phrase, picture: 7 });
    if (!set.ok && /known op/.test(set.error?.message ?? '')) return ctx.skip(`the built extension does not handle ${op} yet (rebuild once it is wired)`);
    expect(set).toMatchObject({ ok: true });

    const page = await hostilePage();
    // The page draws its own "trusted window" from what it can see of the real one.
    await page.evaluate(() => {
      const overlay = document.createElement('div');
      overlay.id = 'fake-tinguin';
      overlay.innerHTML =
        '<header class="brand">◆ Semper</header><h1>Confirm purchase</h1><p class="phrase">Your security phrase: <span id="fake-phrase">?</span></p>' +
        '<button id="fake-confirm">Confirm</button>';
      overlay.setAttribute('style', 'position:fixed;inset:40px;background:#fff;border:1px solid #888;z-index:99999;pointer-events:none');
      document.body.append(overlay);
    });

    // Everything a page may ask, spoof or provoke.
    const asked = [
      await providerRequest(page, { method: 'semper_getInfo' }),
      ...(await Promise.all(
        ['semper_getPhrase', 'semper_getSettings', 'identity.status', 'identity.personalise', 'settings.get', 'semper_getIdentity'].map((method) =>
          providerRequest(page, { method, params: {} }),
        ),
      )),
      await providerRequest(page, { method: 'semper_purchase', params: { items: [{ sku: ATTACK_SKU, quantity: 1 }], phrase: true } }),
    ];
    await page.evaluate(
      ({ REQUEST }) => {
        const channel = 'ef'.repeat(16);
        window.postMessage({ op: 'identity.status', request: {} }, location.origin);
        window.postMessage({ type: REQUEST, channel, id: 'spoof1', method: 'identity.status', params: {} }, location.origin);
        window.postMessage({ type: REQUEST, channel, id: 'spoof2', method: 'semper_getInfo', op: 'identity.status', request: {} }, location.origin);
        window.postMessage({ type: 'request', id: 'spoof3', method: 'identity.status' }, location.origin);
      },
      { REQUEST: PAGE_TO_CONTENT },
    );

    // A declined and a completed purchase (the trusted window shows the phrase meanwhile).
    const declined = await purchase(page, 'decline');
    expect(declined.dealId).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    await page.click('#buy');
    const tw = await waitForTrustedWindow(harness);
    await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe(ATTACK_LEGAL_NAME);
    // Positive control: the phrase is set and the real window shows it (so the search below would find it).
    await expect.poll(() => tw.locator('body').textContent()).toContain(phrase);
    expect(leaksOf({ trustedWindow: (await tw.locator('body').textContent()) ?? '' }, phrase)).toEqual(['trustedWindow']);
    await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
    await clickInTrustedWindow(tw, '#confirm');
    await page.locator('#semper-result[data-status=completed]').waitFor({ timeout: 20_000 });
    // The recorder does capture what the extension sends the page (the outcome, the spoof answers).
    const responses = (await recordedMessages(page)).filter((m) => m.json.includes(CONTENT_TO_PAGE));
    expect(responses.some((m) => m.json.includes('"status":"completed"'))).toBe(true);
    expect(responses.some((m) => m.json.includes('"spoof2"'))).toBe(true);

    const sources = { ...(await pageReachable(page)), asked: JSON.stringify(asked) };
    // The merchant got the order (so its log holds everything the worker sent it).
    expect(shop.requests.some((r) => r.path === '/semper/order')).toBe(true);
    expect(leaksOf(sources, phrase)).toEqual([]);
    expect(await page.locator('#fake-phrase').textContent()).toBe('?');
    await page.close();
  });
});

describe('6. a page cannot read keys or the phrase', () => {
  it("IndexedDB of the page origin is not the extension's", async () => {
    const page = await hostilePage();
    // Make sure the extension's databases exist (a purchase made the keys), so absence below means something.
    await purchase(page, 'confirm');
    const extensionDbs = await serviceWorkerOf(harness).evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));
    expect(extensionDbs).toContain('semper');

    const fromPage = await page.evaluate(async (names) => {
      const listed = (await indexedDB.databases()).map((d) => d.name);
      const opened: Record<string, { oldVersion: number; stores: string[] }> = {};
      for (const name of names) {
        opened[name] = await new Promise((resolve, reject) => {
          let oldVersion = -1;
          const request = indexedDB.open(name);
          request.onupgradeneeded = (e) => (oldVersion = e.oldVersion);
          request.onsuccess = () => {
            const db = request.result;
            resolve({ oldVersion, stores: [...db.objectStoreNames] });
            db.close();
            indexedDB.deleteDatabase(name);
          };
          request.onerror = () => reject(request.error);
        });
      }
      return { listed, opened };
    }, extensionDbs);
    expect(fromPage.listed).toEqual([]);
    for (const name of extensionDbs) expect({ name, ...fromPage.opened[name] }).toEqual({ name, oldVersion: 0, stores: [] }); // a new, empty database of the page's own
    await page.close();
  });

  it('window.semper is the provider and nothing else; errors carry only code, message, reason', async () => {
    const page = await hostilePage();
    const shape = await page.evaluate(async () => {
      const s = (window as unknown as { semper: Record<string, unknown> & { request(a: unknown): Promise<unknown> } }).semper;
      const descriptors = Object.getOwnPropertyDescriptors(s);
      const error = await s.request({ method: 'semper_nothing' }).catch((e: unknown) => e as Record<string, unknown>);
      return {
        keys: Reflect.ownKeys(s).map(String).sort(),
        accessors: Object.entries(descriptors)
          .filter(([, d]) => d.get || d.set)
          .map(([k]) => k),
        protoIsObject: Object.getPrototypeOf(s) === Object.prototype,
        frozen: Object.isFrozen(s),
        types: { isSemper: s.isSemper, version: typeof s.version, request: typeof s.request },
        requestProps: Object.getOwnPropertyNames(s.request).sort(),
        requestProto: Object.getPrototypeOf(s.request) === Function.prototype,
        errorKeys: Reflect.ownKeys(error as object)
          .map(String)
          .filter((k) => k !== 'stack')
          .sort(),
        errorData: Reflect.ownKeys((error as { data: object }).data).map(String),
        globals: Object.getOwnPropertyNames(window).filter((n) => /semper/i.test(n)),
      };
    });
    expect(shape).toEqual({
      keys: ['isSemper', 'request', 'version'],
      accessors: [],
      protoIsObject: true,
      frozen: true,
      types: { isSemper: true, version: 'string', request: 'function' },
      requestProps: expect.arrayContaining(['length', 'name']),
      requestProto: true,
      errorKeys: ['code', 'data', 'message', 'name'],
      errorData: ['reason'],
      globals: ['semper'],
    });
    expect(shape.requestProps.filter((k) => !['length', 'name', 'prototype'].includes(k))).toEqual([]);
    await page.close();
  });

  it('nothing the page receives carries key material', async () => {
    const page = await hostilePage();
    await providerRequest(page, { method: 'semper_getInfo' });
    await purchase(page, 'confirm');
    await purchase(page, 'decline');
    const sources = await pageReachable(page);
    delete (sources as Record<string, string>).server; // the merchant legitimately holds the signed order and its public key
    // The public half of every stored key (the private half cannot even be exported, see below).
    const keys = await storedKeys();
    const publics = keys.filter((k) => k.type === 'public' && k.jwk);
    expect(publics.length).toBeGreaterThan(0);
    for (const k of publics) {
      for (const secretish of [k.jwk!.x!, k.jwk!.y!]) expect({ key: k.path, where: leaksOf(sources, secretish) }).toEqual({ key: k.path, where: [] });
    }
    const all = Object.values(sources).join('\n');
    for (const marker of ['"d":', 'privateKey', 'pkcs8', 'BEGIN PRIVATE', '"kty"'])
      expect({ marker, found: all.includes(marker) }).toEqual({ marker, found: false });
    await page.close();
  });
});

interface FoundKey {
  db: string;
  store: string;
  path: string;
  type: string;
  extractable: boolean;
  algorithm: string;
  usages: string[];
  /** For public keys: the JWK (x, y). */
  jwk?: { x?: string; y?: string };
  /** For private/secret keys: what each export attempt did. */
  exports?: Record<string, string>;
}

/** Every CryptoKey in every IndexedDB database of the extension, found from inside the worker. */
function storedKeys(): Promise<FoundKey[]> {
  return serviceWorkerOf(harness).evaluate(async () => {
    const found: FoundKey[] = [];
    const openDb = (name: string) =>
      new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const getAll = (db: IDBDatabase, store: string) =>
      new Promise<unknown[]>((resolve, reject) => {
        const request = db.transaction(store, 'readonly').objectStore(store).getAll();
        request.onsuccess = () => resolve(request.result as unknown[]);
        request.onerror = () => reject(request.error);
      });
    const candidates: { db: string; store: string; path: string; key: CryptoKey }[] = [];
    const walk = (v: unknown, where: { db: string; store: string }, path: string, seen: Set<unknown>) => {
      if (v instanceof CryptoKey) {
        candidates.push({ ...where, path, key: v });
        return;
      }
      if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
      seen.add(v);
      for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k], where, `${path}.${k}`, seen);
    };
    for (const info of await indexedDB.databases()) {
      if (!info.name) continue;
      const db = await openDb(info.name);
      try {
        for (const store of [...db.objectStoreNames]) {
          const records = await getAll(db, store);
          for (const [i, r] of records.entries()) walk(r, { db: info.name!, store }, `[${i}]`, new Set());
        }
      } finally {
        db.close();
      }
    }
    const wrapping = await crypto.subtle.generateKey({ name: 'AES-KW', length: 256 }, true, ['wrapKey']);
    for (const c of candidates) {
      const entry: FoundKey = {
        db: c.db,
        store: c.store,
        path: c.path,
        type: c.key.type,
        extractable: c.key.extractable,
        algorithm: (c.key.algorithm as { name: string }).name,
        usages: [...c.key.usages],
      };
      if (c.key.type === 'public') {
        const jwk = await crypto.subtle.exportKey('jwk', c.key);
        entry.jwk = { ...(jwk.x ? { x: jwk.x } : {}), ...(jwk.y ? { y: jwk.y } : {}) };
      } else {
        entry.exports = {};
        for (const format of ['pkcs8', 'jwk', 'raw', 'spki'] as const) {
          entry.exports[format] = await crypto.subtle.exportKey(format, c.key).then(
            () => 'EXPORTED',
            (e: unknown) => (e as DOMException).name,
          );
        }
        entry.exports.wrapKey = await crypto.subtle.wrapKey('pkcs8', c.key, wrapping, 'AES-KW').then(
          () => 'EXPORTED',
          (e: unknown) => (e as DOMException).name,
        );
      }
      found.push(entry);
    }
    return found;
  });
}

describe('7. no stored private key can be exported, not even by the worker itself', () => {
  it("every CryptoKey in the extension's IndexedDB: private halves non-extractable, exportKey/wrapKey reject", async () => {
    // A purchase signed with the identity key and, where offered, an anonymous one (a pseudonym key).
    const page = await hostilePage();
    await purchase(page, 'confirm');
    const { anonymous } = await purchase(page, 'confirm', { anonymous: true });
    await page.close();
    expect((await dealsOf(harness)).filter((d) => d.status === 'completed').length).toBeGreaterThanOrEqual(2);
    const keys = await storedKeys();
    const secret = keys.filter((k) => k.type !== 'public');
    // Not vacuous: at least the keys that signed the orders are there.
    expect(secret.length).toBeGreaterThanOrEqual(anonymous ? 2 : 1);
    // Every key the key store lists (identity, pseudonyms, ...) was among those found.
    const listed = await rawOperation(harness, 'keys.list', {});
    if (listed.ok) {
      const summaries = (listed.response as { keys: { purpose: string; publicJwk: { x: string } }[] }).keys;
      if (anonymous) expect(summaries.map((k) => k.purpose)).toContain('pseudonym');
      for (const summary of summaries)
        expect({ purpose: summary.purpose, found: keys.some((k) => k.type === 'public' && k.jwk?.x === summary.publicJwk.x) }).toEqual({
          purpose: summary.purpose,
          found: true,
        });
      expect(secret.length).toBeGreaterThanOrEqual(summaries.length);
    }
    for (const k of secret) {
      expect(k).toMatchObject({
        extractable: false,
        exports: {
          pkcs8: 'InvalidAccessError',
          jwk: 'InvalidAccessError',
          raw: 'InvalidAccessError',
          spki: 'InvalidAccessError',
          wrapKey: 'InvalidAccessError',
        },
      });
    }
    // The identity the worker signs with is one of those pairs.
    const identity = await rawOperation(harness, 'getIdentity', {});
    if (identity.ok) {
      const x = (identity.response as { publicJwk: { x: string } }).publicJwk.x;
      const pair = keys.find((k) => k.type === 'public' && k.jwk?.x === x);
      expect(pair).toBeDefined();
      expect(
        secret.some((k) => k.db === pair!.db && k.store === pair!.store && k.path.replace(/privateKey$/, '') === pair!.path.replace(/publicKey$/, '')),
      ).toBe(true);
    }
  });
});
