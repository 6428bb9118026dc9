/**
 * Attack 10 (issue 8): refocusing re-presents an armed Confirm. The trusted window arms Confirm
 * CONFIRM_ARM_DELAY_MS after it first shows an offer, so a click aimed at the page cannot land
 * on it as it pops up. A page that can make the extension bring the window forward later — with
 * a request that fails at once — gets the window in front of the user's next click 40–100 ms
 * later, with Confirm armed.
 *
 * Asserted in real Chromium with the built extension:
 *   - a page's request that adds no deal (a product the merchant does not have, a malformed
 *     request, one from another origin) never brings the window forward: the worker does not
 *     call windows.update({ focused }) at all;
 *   - a request that does add a deal may bring the window forward, but only with Confirm
 *     disarmed before the window moves, and armed again no sooner than CONFIRM_ARM_DELAY_MS
 *     after it moved;
 *   - the window disarms on its own focus and blur events as well (whatever else brings it
 *     forward: the user, another application).
 * Headless Chromium under Playwright emulates focus (every page has it, no focus events), so
 * the worker's windows.update calls are observed in the worker, and the window's own focus
 * events are dispatched in the window.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeTestCa } from '../helpers/pki.js';
import { clickInTrustedWindow, launchExtension, trustedWindows, waitForTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';
import { CONFIRM_ARM_DELAY_MS } from '../../extension/worker/window-presentation.js';
import { ATTACK_SKU, serviceWorkerOf, sleep, startAttackServer, type AttackServer } from './helpers.js';

let harness: ExtensionHarness;
let shop: AttackServer;
let other: AttackServer;

beforeAll(async () => {
  const ca = await makeTestCa('Refocus Attack Root');
  shop = await startAttackServer({ ca });
  other = await startAttackServer({ ca, legalName: 'Second Shop GmbH' });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: ca.root });
});

// A failed test may leave windows (and deals queued behind them): decline until none comes back.
afterEach(async () => {
  for (let quiet = 0; quiet < 3; ) {
    const open = trustedWindows(harness);
    if (open.length === 0) {
      quiet++;
      await sleep(300);
      continue;
    }
    quiet = 0;
    for (const tw of open) {
      await clickInTrustedWindow(tw, '#decline').catch(() => undefined);
      await expect.poll(() => tw.isClosed(), { timeout: 10_000 }).toBe(true);
    }
  }
});

afterAll(async () => {
  await harness?.close();
  await shop?.close();
  await other?.close();
});

type Outcome = { ok: boolean; code?: number; reason?: string };

/** `window.semper.request(args)` in `page`, not awaited: the outcome lands in window.__outcomes. */
async function ask(page: Page, args: unknown): Promise<void> {
  await page.evaluate((a) => {
    const w = window as unknown as { semper: { request(x: unknown): Promise<unknown> }; __outcomes?: Outcome[] };
    w.__outcomes ??= [];
    const outcomes = w.__outcomes;
    w.semper.request(a).then(
      () => outcomes.push({ ok: true }),
      (e: { code: number; data?: { reason?: string } }) => outcomes.push({ ok: false, code: e.code, ...(e.data?.reason ? { reason: e.data.reason } : {}) }),
    );
  }, args);
}

async function outcomes(page: Page): Promise<Outcome[]> {
  return page.evaluate(() => (window as unknown as { __outcomes?: Outcome[] }).__outcomes ?? []);
}

const purchase = (sku: string) => ({ method: 'semper_purchase', params: { items: [{ sku, quantity: 1 }] } });

/** A purchase from a fresh page of `server`, with its window up and Confirm armed. */
async function armedWindow(server: AttackServer): Promise<{ page: Page; tw: Page }> {
  const page = await harness.context.newPage();
  await page.goto(`${server.url}/`);
  await ask(page, purchase(ATTACK_SKU));
  const tw = await waitForTrustedWindow(harness);
  await expect.poll(() => tw.locator('#requesting-origin').textContent()).toBe(server.url);
  await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
  return { page, tw };
}

/** Record every windows.update call the worker makes (time and arguments). */
async function watchFocusCalls(): Promise<void> {
  await serviceWorkerOf(harness).evaluate(() => {
    const g = globalThis as unknown as { __focusCalls?: { at: number; windowId: number; info: unknown }[] };
    if (g.__focusCalls) {
      g.__focusCalls.length = 0;
      return;
    }
    const calls: { at: number; windowId: number; info: unknown }[] = [];
    g.__focusCalls = calls;
    const original = chrome.windows.update.bind(chrome.windows) as (...a: unknown[]) => unknown;
    (chrome.windows as unknown as { update: (...a: unknown[]) => unknown }).update = (...args: unknown[]) => {
      calls.push({ at: Date.now(), windowId: args[0] as number, info: args[1] });
      return original(...args);
    };
  });
}

async function focusCalls(): Promise<{ at: number; windowId: number; info: { focused?: boolean } }[]> {
  return serviceWorkerOf(harness).evaluate(
    () => (globalThis as unknown as { __focusCalls?: { at: number; windowId: number; info: { focused?: boolean } }[] }).__focusCalls ?? [],
  );
}

/** Record, in the window, every change of Confirm's `disabled` (time, state), starting with its state now. */
async function watchConfirm(tw: Page): Promise<void> {
  await tw.evaluate(() => {
    const button = document.getElementById('confirm')!;
    const log: { at: number; disabled: boolean }[] = [{ at: Date.now(), disabled: (button as HTMLButtonElement).disabled }];
    (window as unknown as { __confirm: typeof log }).__confirm = log;
    new MutationObserver(() => {
      const disabled = (button as HTMLButtonElement).disabled;
      if (log.at(-1)!.disabled !== disabled) log.push({ at: Date.now(), disabled });
    }).observe(button, { attributes: true, attributeFilter: ['disabled'] });
  });
}

async function confirmLog(tw: Page): Promise<{ at: number; disabled: boolean }[]> {
  return tw.evaluate(() => (window as unknown as { __confirm: { at: number; disabled: boolean }[] }).__confirm);
}

describe('10. bringing the trusted window forward never presents an armed Confirm', () => {
  it("a page's requests that add no deal never bring the window forward", async () => {
    const { page, tw } = await armedWindow(shop);
    await watchFocusCalls();
    await watchConfirm(tw);
    const otherPage = await harness.context.newPage();
    await otherPage.goto(`${other.url}/`);
    // Requests that fail at once: a product the merchant does not have (a deal that fails), a
    // malformed request (no deal), the same from another origin; several, as a page would time them.
    for (let i = 0; i < 3; i++) {
      await ask(page, purchase('no-such-product'));
      await ask(page, { method: 'semper_purchase', params: { items: [] } });
      await ask(otherPage, purchase('no-such-product'));
      await sleep(70);
    }
    await expect.poll(async () => (await outcomes(page)).length, { timeout: 10_000 }).toBe(6);
    await expect.poll(async () => (await outcomes(otherPage)).length, { timeout: 10_000 }).toBe(3);
    expect((await outcomes(page)).map((o) => o.reason).sort()).toEqual([
      'ERR_NOT_FOUND',
      'ERR_NOT_FOUND',
      'ERR_NOT_FOUND',
      'ERR_SCHEMA',
      'ERR_SCHEMA',
      'ERR_SCHEMA',
    ]);
    await sleep(500);
    expect(await focusCalls()).toEqual([]);
    // The window was not re-presented: Confirm stayed as it was.
    expect((await confirmLog(tw)).map((e) => e.disabled)).toEqual([false]);
    await otherPage.close();
    await clickInTrustedWindow(tw, '#decline');
    await page.close();
  });

  it('a request that adds a deal brings the window forward only with Confirm disarmed, armed again only after the delay', async () => {
    const { page, tw } = await armedWindow(shop);
    await watchFocusCalls();
    await watchConfirm(tw);
    // Another origin asks for a purchase: its deal queues behind the open window, which is brought forward.
    const otherPage = await harness.context.newPage();
    await otherPage.goto(`${other.url}/`);
    await ask(otherPage, purchase(ATTACK_SKU));
    await expect.poll(async () => (await focusCalls()).filter((c) => c.info?.focused === true).length, { timeout: 10_000 }).toBe(1);
    const [focus] = await focusCalls();
    await expect.poll(async () => (await confirmLog(tw)).at(-1)?.disabled, { timeout: 5_000 }).toBe(false);
    const log = await confirmLog(tw);
    // Disarmed before the window moved …
    const before = log.filter((e) => e.at <= focus!.at).at(-1)!;
    expect(before.disabled).toBe(true);
    // … and armed again no sooner than the delay after it moved (clock resolution: 1 ms per side).
    const rearmed = log.find((e) => e.at > focus!.at && !e.disabled)!;
    expect(rearmed.at - focus!.at).toBeGreaterThanOrEqual(CONFIRM_ARM_DELAY_MS - 2);
    // Only one window at a time: the new deal waits for this one.
    expect(trustedWindows(harness)).toEqual([tw]);
    const closed = tw.waitForEvent('close');
    await clickInTrustedWindow(tw, '#decline');
    await closed;
    const next = await waitForTrustedWindow(harness);
    await expect.poll(() => next.locator('#requesting-origin').textContent()).toBe(other.url);
    await expect.poll(() => next.locator('#decline').isEnabled()).toBe(true);
    await clickInTrustedWindow(next, '#decline');
    await otherPage.close();
    await page.close();
  });

  it('the window disarms Confirm when it loses focus and re-arms it only the delay after it regains it', async () => {
    const { page, tw } = await armedWindow(shop);
    await watchConfirm(tw);
    await tw.evaluate(() => window.dispatchEvent(new FocusEvent('blur')));
    await sleep(CONFIRM_ARM_DELAY_MS + 300);
    expect(await tw.locator('#confirm').isEnabled()).toBe(false);
    const focusedAt = await tw.evaluate(() => {
      window.dispatchEvent(new FocusEvent('focus'));
      return Date.now();
    });
    await expect.poll(() => tw.locator('#confirm').isEnabled(), { timeout: 5_000 }).toBe(true);
    const log = await confirmLog(tw);
    expect(log.map((e) => e.disabled)).toEqual([false, true, false]);
    expect(log[2]!.at - focusedAt).toBeGreaterThanOrEqual(CONFIRM_ARM_DELAY_MS - 2);
    // The heading has the focus again (not a button), as at the first showing.
    expect(await tw.evaluate(() => document.activeElement?.id)).toBe('tw-heading');
    await clickInTrustedWindow(tw, '#decline');
    await page.close();
  });
});
