/** The pages' text (_locales): English and German complete, every key the pages use defined. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('locales', () => {
  const load = (lang: string) =>
    JSON.parse(readFileSync(`_locales/${lang}/messages.json`, 'utf8')) as Record<string, { message: string; placeholders?: object }>;
  it('English and German have the same keys and placeholders', () => {
    const en = load('en');
    const de = load('de');
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en)) {
      expect(Boolean(de[key]!.placeholders), key).toBe(Boolean(en[key]!.placeholders));
      expect(de[key]!.message.length, key).toBeGreaterThan(0);
    }
  });

  it('every key the pages use exists', () => {
    const en = load('en');
    const sources = [
      'trusted-window/App.tsx',
      'popup/App.tsx',
      'popup/Wallet.tsx',
      'popup/Identity.tsx',
      'extension/ui/i18n.ts',
      'trusted-window/main.tsx',
      'popup/main.tsx',
    ]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const used = new Set(
      [
        ...sources.matchAll(/\bt\('([A-Za-z]+)'/g),
        ...sources.matchAll(/: '((?:status|tw|pop|hist)[A-Za-z]+)'/g),
        ...sources.matchAll(/localiseDocument\('([A-Za-z]+)'\)/g),
      ].map((m) => m[1]!),
    );
    expect(used.size).toBeGreaterThan(30);
    for (const key of used) expect(en[key], key).toBeDefined();
    const manifest = readFileSync('manifest.json', 'utf8');
    for (const m of manifest.matchAll(/__MSG_([A-Za-z]+)__/g)) expect(en[m[1]!], m[1]).toBeDefined();
  });
});
