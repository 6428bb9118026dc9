/**
 * Checks shared by the e2e suites for every trusted-window screen (issue 11):
 *   - first sight: at 480×600, unscrolled, the security phrase and picture, who (certified name and
 *     origin), what, how much / how paid (or what is given), what happens after Confirm, and the
 *     buttons all lie inside the viewport, none of them under the sticky decision bar, and the focus
 *     is on the heading (not a button);
 *   - accessibility: axe-core (injected with page.evaluate: the extension's CSP blocks script tags)
 *     finds no WCAG 2 A/AA violation.
 * Each writes a screenshot of what it checked to test-results/.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { RESULTS } from './harness.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** What must be at first sight on a deal screen (ids in trusted-window/*.tsx). */
const FIRST_SIGHT = ['security-phrase', 'security-emblem', 'tw-heading', 'glance-who', 'glance-origin', 'glance-what', 'glance-pay', 'glance-next'];
const BUTTONS = ['decline', 'confirm'];

export interface FirstSight {
  scrollTop: number;
  focused: string | undefined;
  /** Elements missing, outside the viewport, or under the decision bar, with their boxes. */
  hidden: string[];
}

/** `also`: ids the screen adds to what must be at first sight (a contract's key terms: glance-terms). */
export async function expectFirstSight(tw: Page, screenshot: string, also: readonly string[] = []): Promise<void> {
  await tw.setViewportSize({ width: 480, height: 600 });
  await tw.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const sight: FirstSight = await tw.evaluate(
    ({ content, buttons }) => {
      const vw = window.innerWidth;
      const vh = window.innerHeight;
      const bar = document.getElementById('decision-bar')?.getBoundingClientRect();
      const hidden: string[] = [];
      const check = (id: string, underBarAllowed: boolean) => {
        const el = document.getElementById(id);
        if (!el) return hidden.push(`${id}: missing`);
        const r = el.getBoundingClientRect();
        const box = `${id}: ${Math.round(r.left)},${Math.round(r.top)}..${Math.round(r.right)},${Math.round(r.bottom)} in ${vw}×${vh}`;
        if (r.width < 1 || r.height < 1) return hidden.push(`${box} (empty)`);
        if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5) return hidden.push(`${box} (outside)`);
        if (!underBarAllowed && bar && r.bottom > bar.top + 0.5) return hidden.push(`${box} (under the decision bar at ${Math.round(bar.top)})`);
      };
      for (const id of content) check(id, false);
      for (const id of buttons) check(id, true);
      return { scrollTop: document.scrollingElement?.scrollTop ?? 0, focused: document.activeElement?.id, hidden };
    },
    { content: [...FIRST_SIGHT, ...also], buttons: BUTTONS },
  );
  await tw.screenshot({ path: join(RESULTS, screenshot), fullPage: false });
  expect(sight).toEqual({ scrollTop: 0, focused: 'tw-heading', hidden: [] });
}

/** axe-core's WCAG 2 A/AA violations on the page as it is now: none expected. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const already = await page.evaluate(() => 'axe' in window);
  if (!already) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> } })
      .axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
  });
  expect(violations, `axe-core on ${what}`).toEqual([]);
}
