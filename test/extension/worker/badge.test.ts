/** The toolbar badge (extension/worker/badge.ts): the count of deals awaiting the user, refreshes coalesced. */
import { describe, expect, it } from 'vitest';
import { Badge, badgeText } from '../../../extension/worker/badge.js';

describe('badge', () => {
  it('shows the count (empty at 0), coalescing bursts of refreshes', async () => {
    expect([0, 1, 2, 99, 100].map((n) => badgeText(n))).toEqual(['', '1', '2', '99', '99+']);
    // Unread notices show as "!" only while no deal awaits the user (the count says more).
    expect([badgeText(0, 3), badgeText(2, 3), badgeText(0, 0)]).toEqual(['!', '2', '']);
    let count = 2;
    let counted = 0;
    const shown: string[] = [];
    const badge = new Badge({
      count: async () => {
        counted++;
        await new Promise((r) => setTimeout(r, 5));
        return count;
      },
      show: async (text) => void shown.push(text),
    });
    await Promise.all([badge.refresh(), badge.refresh(), badge.refresh(), badge.refresh()]);
    expect(shown).toEqual(['2']);
    expect(counted).toBeLessThanOrEqual(2);
    count = 0;
    await badge.refresh();
    await badge.refresh();
    expect(shown).toEqual(['2', '']);
  });

  it('asks for unread notices only when no deal awaits the user, and shows "!" for them', async () => {
    let count = 0;
    let asked = 0;
    const shown: string[] = [];
    const badge = new Badge({
      count: async () => count,
      notices: async () => {
        asked++;
        return 2;
      },
      show: async (text) => void shown.push(text),
    });
    await badge.refresh();
    count = 1;
    await badge.refresh();
    expect(shown).toEqual(['!', '1']);
    expect(asked).toBe(1);
  });
});
