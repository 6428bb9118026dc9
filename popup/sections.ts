/**
 * The popup's sections (issue 11): Deals, Identity, Trust, Settings instead of one long page.
 * Pure helpers: which section a key press moves to (WAI-ARIA tabs, automatic activation), which
 * section holds an anchor a notice links to, and the remembered section (kept in the extension's
 * own localStorage: a preference of this popup, nothing the worker needs).
 */
export const SECTIONS = ['deals', 'identity', 'trust', 'settings'] as const;
export type Section = (typeof SECTIONS)[number];

export const isSection = (value: unknown): value is Section => typeof value === 'string' && (SECTIONS as readonly string[]).includes(value);

/** The section a key moves to from `current` (arrows wrap, Home/End go to the ends), or null for any other key. */
export function sectionAfterKey(current: Section, key: string): Section | null {
  const i = SECTIONS.indexOf(current);
  const n = SECTIONS.length;
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return SECTIONS[(i + 1) % n]!;
    case 'ArrowLeft':
    case 'ArrowUp':
      return SECTIONS[(i - 1 + n) % n]!;
    case 'Home':
      return SECTIONS[0];
    case 'End':
      return SECTIONS[n - 1]!;
    default:
      return null;
  }
}

/** Anchors other parts of the popup link to (notices' "what to do"), by the section that holds them. */
const ANCHOR_SECTIONS: Record<string, Section> = {
  notices: 'deals',
  history: 'deals',
  deals: 'deals',
  exchanges: 'deals',
  'fair-purchases': 'deals',
  identity: 'identity',
  keys: 'identity',
  tokens: 'identity',
  'ca-settings': 'trust',
  'ttp-settings': 'trust',
  'arbiter-settings': 'trust',
  'tsa-settings': 'trust',
  threshold: 'settings',
  wallet: 'settings',
  'card-settings': 'settings',
};

/** `#trust` → trust; `#ttp-settings` → trust (and the anchor to show); anything else → null. */
export function sectionOfHash(hash: string): { section: Section; anchor?: string } | null {
  const name = hash.replace(/^#/, '');
  if (isSection(name)) return { section: name };
  // Own keys only: '#constructor' must not find Object.prototype's.
  return Object.hasOwn(ANCHOR_SECTIONS, name) ? { section: ANCHOR_SECTIONS[name]!, anchor: name } : null;
}

const STORAGE_KEY = 'semper.popup.section';

export function rememberedSection(storage: Pick<Storage, 'getItem'> | undefined): Section {
  try {
    const value = storage?.getItem(STORAGE_KEY);
    return isSection(value) ? value : 'deals';
  } catch {
    return 'deals';
  }
}

export function rememberSection(storage: Pick<Storage, 'setItem'> | undefined, section: Section): void {
  try {
    storage?.setItem(STORAGE_KEY, section);
  } catch {
    // A profile without storage forgets the section; the popup still works.
  }
}
