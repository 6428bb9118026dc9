/**
 * Attack 9 (issue 8): merchant-controlled text hides the truth in the trusted window. A merchant
 * certified by a root the shopper trusts signs offers that are correct in every respect the
 * worker verifies, but whose words are hostile:
 *   - an unbreakable 200-character title (and one drowned in combining marks) that widens the
 *     items table until the real total is drawn off-screen while Confirm stays visible;
 *   - bidi overrides (U+202E) in a signed title and in the signed terms, which make the signed
 *     "EUR 1000" look like "EUR 0001";
 *   - a legal name with one Cyrillic letter that looks exactly like another merchant's name.
 * The window must keep the total and the merchant on screen whenever Confirm is, show bidi and
 * other invisible controls as visible escapes (never hand them to the layout), and flag a name
 * that mixes scripts. Real Chromium, the built extension; screenshots in test-results/.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeTestCa } from '../helpers/pki.js';
import { RESULTS, clickInTrustedWindow, launchExtension, trustedWindows, waitForTrustedWindow, type ExtensionHarness } from '../e2e/harness.js';
import { expectFirstSight } from '../e2e/first-sight.js';
import { startTextMerchant, type TextMerchant } from './text-merchant.js';

const HONEST = 'Honest Shop GmbH';
/** "Honest Shop GmbH" with U+043E CYRILLIC SMALL LETTER O for the first "o". */
const LOOKALIKE = 'H\u043enest Shop GmbH';
const RLO = '\u202E';
const PDF = '\u202C';
/** Signed: "EUR 1000". Drawn under the override: "EUR 0001". */
const FEE = `EUR ${RLO}1000${PDF}`;
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

let harness: ExtensionHarness;
let honest: TextMerchant;
let longTitles: TextMerchant;
let bidi: TextMerchant;
let lookalike: TextMerchant;

beforeAll(async () => {
  const ca = await makeTestCa('Text Attack Root');
  honest = await startTextMerchant({ ca, legalName: HONEST, items: [{ sku: 'widget', title: 'Widget', amount: 999 }], terms: 'No refunds.' });
  longTitles = await startTextMerchant({
    ca,
    legalName: 'Wide Title Shop GmbH',
    items: [
      { sku: 'cheap', title: 'W'.repeat(200), amount: 100 },
      { sku: 'marks', title: `Widget${'\u0301'.repeat(190)}`, amount: 100 },
      { sku: 'pricey', title: 'Gold widget', amount: 99_999_900 },
    ],
    terms: 'T'.repeat(2000),
  });
  bidi = await startTextMerchant({
    ca,
    legalName: 'Bidi Shop GmbH',
    items: [{ sku: 'widget', title: `Widget (service fee ${FEE})`, amount: 999 }],
    terms: `Cancellation fee: ${FEE} per item.`,
  });
  lookalike = await startTextMerchant({ ca, legalName: LOOKALIKE, items: [{ sku: 'widget', title: 'Widget', amount: 999 }], terms: 'No refunds.' });
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: ca.root });
  // The pricey offer must be confirmable with the device key (no hardware-token threshold).
  await harness.operation('settings.set', { hardwareTokenAbove: null });
});

// A failed test leaves its window open: decline it, so the next test sees its own offer.
afterEach(async () => {
  for (const tw of trustedWindows(harness)) {
    await clickInTrustedWindow(tw, '#decline').catch(() => undefined);
    await tw.close().catch(() => undefined);
  }
  await expect.poll(() => trustedWindows(harness).length).toBe(0);
});

afterAll(async () => {
  await harness?.close();
  for (const m of [honest, longTitles, bidi, lookalike]) await m?.close();
});

/** Ask `merchant` for a purchase from its own page; resolves once its trusted window shows the offer. */
async function offerFrom(merchant: TextMerchant, items: { sku: string; quantity: number }[]): Promise<{ page: Page; tw: Page }> {
  const page = await harness.context.newPage();
  await page.goto(`${merchant.url}/`);
  await page.evaluate(
    (params) => {
      void (window as unknown as { semper: { request(a: unknown): Promise<unknown> } }).semper
        .request({ method: 'semper_purchase', params })
        .catch(() => undefined);
    },
    { items },
  );
  const tw = await waitForTrustedWindow(harness);
  await expect.poll(() => tw.locator('#requesting-origin').textContent()).toBe(merchant.url);
  await expect.poll(() => tw.locator('#confirm').isEnabled()).toBe(true);
  return { page, tw };
}

async function decline(page: Page, tw: Page): Promise<void> {
  await clickInTrustedWindow(tw, '#decline');
  await expect.poll(() => trustedWindows(harness).length).toBe(0);
  await page.close();
}

type Box = { left: number; right: number; top: number; bottom: number };

/** Where the window draws the total, the merchant and Confirm, at every scroll position from top to bottom. */
async function geometry(tw: Page) {
  return tw.evaluate(() => {
    const box = (selector: string): Box | null => {
      const r = document.querySelector(selector)?.getBoundingClientRect();
      return r ? { left: r.left, right: r.right, top: r.top, bottom: r.bottom } : null;
    };
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    const inView = (b: Box | null) => b !== null && b.left >= 0 && b.right <= vw + 0.5 && b.top >= 0 && b.bottom <= vh + 0.5 && b.right > b.left;
    /** The element drawn at the centre of `selector` is that element (or inside it): nothing covers it. */
    const unobscured = (selector: string) => {
      const el = document.querySelector(selector);
      const b = box(selector);
      if (!el || !b) return false;
      const hit = document.elementFromPoint((b.left + b.right) / 2, (b.top + b.bottom) / 2);
      return hit !== null && (hit === el || el.contains(hit));
    };
    const scroller = document.scrollingElement!;
    const positions: { y: number; confirm: boolean; total: boolean; merchant: boolean; totalClear: boolean; merchantClear: boolean }[] = [];
    for (let y = 0; ; y += 120) {
      scroller.scrollTop = y;
      positions.push({
        y: scroller.scrollTop,
        confirm: inView(box('#confirm')),
        total: inView(box('#summary-total')),
        merchant: inView(box('#summary-merchant')),
        totalClear: unobscured('#summary-total'),
        merchantClear: unobscured('#summary-merchant'),
      });
      if (scroller.scrollTop + vh >= scroller.scrollHeight) break;
    }
    scroller.scrollTop = 0;
    return {
      vw,
      scrollWidth: scroller.scrollWidth,
      tableTotal: box('#total'),
      totalText: document.querySelector('#total')?.textContent ?? null,
      summaryTotalText: document.querySelector('#summary-total')?.textContent ?? null,
      positions,
    };
  });
}

/** Nothing is drawn beyond the window's width: neither the page scrolls sideways nor does anything in the decision bar stick out. */
async function expectNothingOffScreen(tw: Page): Promise<void> {
  const out = await tw.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const sticking = [...document.querySelectorAll('#decision-bar *')]
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ el, r }) => r.width > 1 && !el.closest('.visually-hidden') && (r.left < 0 || r.right > vw + 0.5))
      .map(({ el, r }) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}: ${Math.round(r.left)}..${Math.round(r.right)}`);
    return { vw, scrollWidth: document.scrollingElement!.scrollWidth, sticking };
  });
  expect(out.sticking).toEqual([]);
  expect(out.scrollWidth).toBeLessThanOrEqual(out.vw);
}

describe('9. merchant-controlled text cannot hide the truth', () => {
  it('a 200-character unbreakable title and a title of combining marks neither push the total off-screen nor cover it', async () => {
    const { page, tw } = await offerFrom(longTitles, [
      { sku: 'cheap', quantity: 1 },
      { sku: 'marks', quantity: 1 },
      { sku: 'pricey', quantity: 1 },
    ]);
    // It opens at its top (the security phrase and the at-a-glance summary first), the focus on the heading.
    expect(await tw.evaluate(() => document.scrollingElement!.scrollTop), 'scrolled at first sight').toBe(0);
    await expectFirstSight(tw, 'first-sight-long-title-en.png');
    await tw.screenshot({ path: join(RESULTS, 'text-spoofing-long-title.png'), fullPage: false });
    const g = await geometry(tw);
    // Nothing is drawn beyond the window's width: no horizontal scrolling hides a column.
    expect(g.scrollWidth).toBeLessThanOrEqual(g.vw);
    // The table's own total cell is inside the window's width.
    expect(g.tableTotal).not.toBeNull();
    expect(g.tableTotal!.left).toBeGreaterThanOrEqual(0);
    expect(g.tableTotal!.right).toBeLessThanOrEqual(g.vw);
    // The summary next to Confirm says the same total as the table.
    expect(g.totalText).toBe('€1,000,001.00');
    expect(g.summaryTotalText).toBe(g.totalText);
    // Wherever the window is scrolled: if Confirm is on screen, so are the total and the merchant, uncovered.
    expect(g.positions.length).toBeGreaterThan(1);
    for (const p of g.positions) {
      expect(p.confirm, `Confirm at scroll ${p.y}`).toBe(true);
      expect({ y: p.y, total: p.total, merchant: p.merchant, totalClear: p.totalClear, merchantClear: p.merchantClear }).toEqual({
        y: p.y,
        total: true,
        merchant: true,
        totalClear: true,
        merchantClear: true,
      });
    }
    await tw.evaluate(() => {
      document.scrollingElement!.scrollTop = document.scrollingElement!.scrollHeight;
    });
    await tw.screenshot({ path: join(RESULTS, 'text-spoofing-long-title-scrolled.png'), fullPage: false });
    await expectNothingOffScreen(tw);
    await decline(page, tw);
  });

  it('bidi overrides in a signed title and in the signed terms are shown as visible escapes, and "1000" stays "1000"', async () => {
    const { page, tw } = await offerFrom(bidi, [{ sku: 'widget', quantity: 1 }]);
    await tw.locator('#terms-text').scrollIntoViewIfNeeded();
    await tw.screenshot({ path: join(RESULTS, 'text-spoofing-bidi.png'), fullPage: false });
    await expectNothingOffScreen(tw);
    const seen = await tw.evaluate((source) => {
      const controls = new RegExp(source, 'u');
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const withControls: string[] = [];
      /** For each text node showing "1000": is its "1" drawn left of its last "0"? */
      const order: boolean[] = [];
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const text = n.textContent ?? '';
        if (controls.test(text)) withControls.push(JSON.stringify(text));
        const at = text.indexOf('1000');
        if (at < 0) continue;
        const rect = (i: number) => {
          const r = document.createRange();
          r.setStart(n!, i);
          r.setEnd(n!, i + 1);
          return r.getBoundingClientRect();
        };
        order.push(rect(at).left < rect(at + 3).left);
      }
      return { withControls, order, text: document.body.textContent ?? '' };
    }, BIDI_CONTROLS.source);
    // No bidi control reaches the layout anywhere in the window …
    expect(seen.withControls).toEqual([]);
    // … each is shown as a visible escape, in the title and in the terms …
    expect(seen.text.match(/U\+202E/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(seen.text).toContain('U+202C');
    // … and the signed "1000" is drawn as "1000" (its "1" left of its zeros), everywhere: the title at
    // a glance, the title in the items table, the terms.
    expect(seen.order).toEqual([true, true, true]);
    await decline(page, tw);
  });

  it('a certified name that mixes Latin and Cyrillic letters is flagged, the foreign letter marked; a single-script name is not', async () => {
    const control = await offerFrom(honest, [{ sku: 'widget', quantity: 1 }]);
    expect(await control.tw.locator('#merchant-name').textContent()).toBe(HONEST);
    expect(await control.tw.locator('#merchant-name-warning').count()).toBe(0);
    expect(await control.tw.locator('#merchant-name mark').count()).toBe(0);
    await decline(control.page, control.tw);

    const { page, tw } = await offerFrom(lookalike, [{ sku: 'widget', quantity: 1 }]);
    await tw.screenshot({ path: join(RESULTS, 'text-spoofing-mixed-script.png'), fullPage: false });
    const warning = tw.locator('#merchant-name-warning');
    expect(await warning.isVisible()).toBe(true);
    expect(await warning.textContent()).toMatch(/Latin/);
    expect(await warning.textContent()).toMatch(/Cyrillic/);
    // The letter from the other script is marked where the name is shown, with its code point.
    const marked = tw.locator('#merchant-name mark');
    expect(await marked.count()).toBe(1);
    expect(await marked.first().getAttribute('title')).toMatch(/U\+043E/);
    expect((await marked.first().textContent())?.startsWith('\u043e')).toBe(true);
    // The name next to Confirm is flagged too, and nothing of it sticks out of the window.
    expect(await tw.locator('#summary-merchant .name-flag').isVisible()).toBe(true);
    await expectNothingOffScreen(tw);
    await decline(page, tw);
  });
});
