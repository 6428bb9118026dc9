/**
 * End-to-end harness: the BUILT extension (dist/, made by `npm run build` before the suite) in
 * Debian's Chromium through playwright-core, plus the real marketplace in-process.
 *
 * Each launch gets a fresh user-data directory; callers close it in afterAll.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { EXTENSION_ID } from '../../core/protocol/extension-id.js';
import type { OperationName, OperationRequest, OperationResponses, OperationResult } from '../../extension/operations/table.js';

/** The built extension; SEMPER_DIST lets parallel builds (several engineers, CI shards) keep apart. */
export const DIST = resolve(process.env.SEMPER_DIST ?? 'dist');
export const RESULTS = resolve('test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface LaunchOptions {
  /** UI language of the browser (chrome.i18n follows it), e.g. 'de'. */
  lang?: string;
  /**
   * Choose a security phrase and picture through the operation API before the test runs (default
   * true), so the first purchase goes straight to its offer. `false` leaves Semper un-set-up: the
   * first purchase then opens the onboarding in the trusted window (test/e2e/onboarding.test.ts).
   */
  onboarded?: boolean;
  /** Another build of the extension (default DIST), e.g. an earlier release for the migration test. */
  dist?: string;
  /** A profile directory to use and keep (default: a fresh one, removed on close). */
  userDataDir?: string;
}

/** The security phrase a pre-onboarded harness chooses. */
export const HARNESS_PHRASE = 'harness phrase: blue teapot';

export interface ExtensionHarness {
  context: BrowserContext;
  extensionId: string;
  worker: Worker;
  /** An extension page (the popup, opened as a tab) used to call the operation API. */
  opsPage: Page;
  url(path: string): string;
  operation<O extends OperationName>(op: O, request: OperationRequest<O>): Promise<OperationResponses[O]>;
  /** The raw result, for tests that expect a refusal. */
  operationResult<O extends OperationName>(op: O, request: OperationRequest<O>): Promise<OperationResult<O>>;
  close(): Promise<void>;
}

export async function launchExtension(options: LaunchOptions = {}): Promise<ExtensionHarness> {
  const dist = options.dist ?? DIST;
  if (!existsSync(join(dist, 'manifest.json'))) throw new Error(`${dist} has no manifest.json: run \`npm run build\` first`);
  mkdirSync(RESULTS, { recursive: true });
  const keepProfile = options.userDataDir !== undefined;
  const userDataDir = options.userDataDir ?? mkdtempSync(join(tmpdir(), 'semper-e2e-'));
  const removeProfile = () => {
    if (!keepProfile) rmSync(userDataDir, { recursive: true, force: true });
  };
  const lang = options.lang ?? 'en';
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    // Pages get their window's size (the trusted window is opened 480×760 by the worker).
    viewport: null,
    locale: lang,
    // On Linux, Chromium takes its UI language from the environment; --lang alone is not enough.
    env: { ...process.env, LANGUAGE: lang, LANG: lang === 'de' ? 'de_DE.UTF-8' : 'en_US.UTF-8' },
    args: [
      `--disable-extensions-except=${dist}`,
      `--load-extension=${dist}`,
      `--lang=${lang}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    let worker = context.serviceWorkers().find((w) => w.url().startsWith('chrome-extension://'));
    worker ??= await context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith('chrome-extension://'), timeout: 20_000 });
    const extensionId = new URL(worker.url()).host;
    if (extensionId !== EXTENSION_ID) throw new Error(`extension id ${extensionId} is not the pinned ${EXTENSION_ID}`);
    const url = (path: string) => `chrome-extension://${extensionId}/${path.replace(/^\//, '')}`;
    const opsPage = await context.newPage();
    await opsPage.goto(url('popup/index.html'));

    const operationResult = async <O extends OperationName>(op: O, request: OperationRequest<O>): Promise<OperationResult<O>> =>
      (await opsPage.evaluate(([o, r]) => chrome.runtime.sendMessage({ op: o, request: r }), [op, request] as [string, unknown])) as OperationResult<O>;

    if (options.onboarded !== false) {
      const set = await operationResult('identity.personalise', { phrase: HARNESS_PHRASE, picture: 0 });
      if (!set.ok) throw new Error(`identity.personalise: ${set.error.code} ${set.error.message}`);
    }

    return {
      context,
      extensionId,
      worker,
      opsPage,
      url,
      operationResult,
      async operation(op, request) {
        const result = await operationResult(op, request);
        if (!result.ok) throw new Error(`${op}: ${result.error.code} ${result.error.message}`);
        return result.response;
      },
      async close() {
        await context.close().catch(() => undefined);
        removeProfile();
      },
    };
  } catch (e) {
    await context.close().catch(() => undefined);
    removeProfile();
    throw e;
  }
}

/**
 * Stop the extension's service worker, as Chrome does to an idle MV3 worker (CDP
 * ServiceWorker.stopAllWorkers), and wait until it has stopped. The next event wakes it.
 */
export async function stopServiceWorker(harness: ExtensionHarness): Promise<void> {
  const cdp = await harness.context.newCDPSession(harness.opsPage);
  try {
    const scope = harness.url('');
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    cdp.on('ServiceWorker.workerVersionUpdated', (event) => {
      if (event.versions.some((v) => v.scriptURL.startsWith(scope) && v.runningStatus === 'stopped')) resolveStopped();
    });
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    await Promise.race([stopped, new Promise((_, reject) => setTimeout(() => reject(new Error('service worker did not stop')), 10_000))]);
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

/**
 * A trusted window on its result screen (after Confirm: trusted-window/Result.tsx marks its address
 * with `screen=result`). It no longer asks anything; the next deal's window replaces it.
 */
export function isResultScreen(page: Page): boolean {
  return new URL(page.url()).searchParams.get('screen') === 'result';
}

/** Wait until the window shows the deal's final result (not the progress), and return its outcome. */
export async function waitForResult(tw: Page, timeout = 30_000): Promise<string> {
  const main = tw.locator('#result:not([data-outcome=pending])');
  await main.waitFor({ timeout });
  return (await main.getAttribute('data-outcome')) ?? '';
}

/** Close a result screen with its Close button (the window closes itself). */
export async function closeResult(tw: Page): Promise<void> {
  const closed = tw.waitForEvent('close');
  await clickInTrustedWindow(tw, '#result-close');
  await closed;
}

/**
 * Click a trusted-window button whose effect closes the window (the worker closes it once the
 * deal ends). The close can race with the end of Playwright's click, which then reports the
 * page as closed; that is the expected outcome, not an error.
 */
export async function clickInTrustedWindow(page: Page, selector: string): Promise<void> {
  try {
    await page.click(selector);
  } catch (e) {
    if (!page.isClosed()) throw e;
  }
}

/** The next page whose URL is the trusted window (opened by the worker with windows.create). */
export async function waitForTrustedWindow(harness: ExtensionHarness, timeout = 20_000): Promise<Page> {
  const prefix = harness.url('trusted-window/index.html');
  // A window on its result screen is the last deal's: the next deal's window replaces it.
  const asks = (p: Page) => !p.isClosed() && p.url().startsWith(prefix) && !isResultScreen(p);
  const existing = harness.context.pages().find(asks);
  const page = existing ?? (await harness.context.waitForEvent('page', { predicate: asks, timeout }));
  await page.waitForLoadState('domcontentloaded');
  return page;
}

export function trustedWindows(harness: ExtensionHarness): Page[] {
  const prefix = harness.url('trusted-window/index.html');
  return harness.context.pages().filter((p) => p.url().startsWith(prefix) && !p.isClosed() && !isResultScreen(p));
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The result a shop page shows (server/shop/shop-script.ts writes it into #semper-result). */
export async function pageResult(page: Page, timeout = 30_000): Promise<{ status: string; code?: string; reason?: string; dealId?: string; text: string }> {
  const output = page.locator('#semper-result:is([data-status=completed], [data-status=error])');
  await output.waitFor({ timeout });
  return output.evaluate((el) => ({
    status: el.getAttribute('data-status') ?? '',
    ...(el.getAttribute('data-code') !== null ? { code: el.getAttribute('data-code')! } : {}),
    ...(el.getAttribute('data-reason') !== null ? { reason: el.getAttribute('data-reason')! } : {}),
    ...(el.getAttribute('data-deal-id') !== null ? { dealId: el.getAttribute('data-deal-id')! } : {}),
    text: el.textContent ?? '',
  }));
}

/** The popup's sections (popup/sections.ts). */
export type PopupSection = 'deals' | 'identity' | 'trust' | 'settings';

/** Shows a section of the popup (its tab; the popup remembers the last one, so tests choose). */
export async function popupSection(page: Page, section: PopupSection): Promise<void> {
  await page.click(`#tab-${section}`);
  await page.locator(`#panel-${section}`).waitFor();
}
