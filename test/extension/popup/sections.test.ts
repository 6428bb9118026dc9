import { describe, expect, it } from 'vitest';
import { SECTIONS, rememberSection, rememberedSection, sectionAfterKey, sectionOfHash } from '../../../popup/sections.js';

describe('popup sections (WAI-ARIA tabs)', () => {
  it('arrows move to the next and previous tab and wrap; Home and End go to the ends; other keys do nothing', () => {
    expect(sectionAfterKey('deals', 'ArrowRight')).toBe('identity');
    expect(sectionAfterKey('settings', 'ArrowRight')).toBe('deals');
    expect(sectionAfterKey('deals', 'ArrowLeft')).toBe('settings');
    expect(sectionAfterKey('trust', 'ArrowUp')).toBe('identity');
    expect(sectionAfterKey('trust', 'ArrowDown')).toBe('settings');
    expect(sectionAfterKey('trust', 'Home')).toBe('deals');
    expect(sectionAfterKey('identity', 'End')).toBe('settings');
    expect(sectionAfterKey('identity', 'Enter')).toBeNull();
    expect(sectionAfterKey('identity', 'a')).toBeNull();
  });

  it('a hash names a section or an anchor inside one (what notices link to); anything else is ignored', () => {
    expect(sectionOfHash('#trust')).toEqual({ section: 'trust' });
    expect(sectionOfHash('#ca-settings')).toEqual({ section: 'trust', anchor: 'ca-settings' });
    expect(sectionOfHash('#ttp-settings')).toEqual({ section: 'trust', anchor: 'ttp-settings' });
    expect(sectionOfHash('#notices')).toEqual({ section: 'deals', anchor: 'notices' });
    expect(sectionOfHash('#threshold')).toEqual({ section: 'settings', anchor: 'threshold' });
    expect(sectionOfHash('')).toBeNull();
    expect(sectionOfHash('#constructor')).toBeNull();
    expect(sectionOfHash('#__proto__')).toBeNull();
  });

  it('remembers the last section; an unknown or unreadable value falls back to Deals', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(rememberedSection(storage)).toBe('deals');
    rememberSection(storage, 'trust');
    expect(rememberedSection(storage)).toBe('trust');
    store.set('semper.popup.section', 'elsewhere');
    expect(rememberedSection(storage)).toBe('deals');
    const broken = {
      getItem: (): string | null => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    };
    expect(rememberedSection(broken)).toBe('deals');
    expect(() => rememberSection(broken, 'trust')).not.toThrow();
    expect(rememberedSection(undefined)).toBe('deals');
    expect(SECTIONS).toEqual(['deals', 'identity', 'trust', 'settings']);
  });
});
