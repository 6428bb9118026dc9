/** The toolbar badge (extension/worker/badge.ts): the count of deals awaiting the user, refreshes coalesced. */
import { describe, expect, it } from 'vitest';
import { Badge, badgeText } from '../../../extension/worker/badge.js';

describe('badge', () => {
  it('shows the count (empty at 0), coalescing bursts of refreshes', async () => {
    expect([0, 1, 2, 99, 100].map(badgeText)).toEqual(['', '1', '2', '99', '99+']);
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
});
