/** core/text.ts: how another party's text is shown (escapes, cut mark runs) and which names are flagged or refused. */
import { describe, expect, it } from 'vitest';
import { MAX_COMBINING_RUN, checkCertifiableName, hasHiddenCharacters, nameParts, nameScripts, textParts, visibleText } from '../../core/text.js';

describe('textParts and visibleText', () => {
  it('shows every bidi control as an escape and keeps the text around it in logical order', () => {
    for (const ch of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C']) {
      const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      expect(textParts(`EUR ${ch}1000`)).toEqual([
        { kind: 'text', text: 'EUR ' },
        { kind: 'escape', code, count: 1 },
        { kind: 'text', text: '1000' },
      ]);
    }
    expect(visibleText('fee: EUR \u202E1000\u202C.')).toBe('fee: EUR ⟨U+202E⟩1000⟨U+202C⟩.');
  });

  it('escapes invisible characters: zero-width space, soft hyphen, word joiner, BOM, Hangul filler, tags, controls, separators, lone surrogates', () => {
    const hidden = ['\u200B', '\u00AD', '\u2060', '\uFEFF', '\u3164', '\u{E0041}', '\u0000', '\u001B', '\u007F', '\u2028', '\u2029', '\uD800'];
    for (const ch of hidden) expect(hasHiddenCharacters(`a${ch}b`), JSON.stringify(ch)).toBe(true);
    expect(visibleText('a\u{E0041}b')).toBe('a⟨U+E0041⟩b');
  });

  it('keeps ordinary text of every script, joiners, variation selectors, and (multiline) newlines and tabs as they are', () => {
    for (const s of ['Widget', 'Müller & Søn', 'Иван Петров', 'שלום', 'مرحبا', '山田太郎', 'नमस्ते', '👨\u200D👩\u200D👧', '❤\uFE0F', 'Tiếng Việt']) {
      expect(textParts(s), s).toEqual([{ kind: 'text', text: s }]);
    }
    expect(visibleText('line 1\nline 2\tx', { multiline: true })).toBe('line 1\nline 2\tx');
    expect(visibleText('line 1\nline 2')).toBe('line 1⟨U+000A⟩line 2');
  });

  it(`cuts a run of combining marks after ${MAX_COMBINING_RUN}, the rest one escape with a count`, () => {
    const parts = textParts(`Widget${'\u0301'.repeat(190)} ok`);
    expect(parts).toEqual([
      { kind: 'text', text: `Widget${'\u0301'.repeat(MAX_COMBINING_RUN)}` },
      { kind: 'escape', code: 'U+0301', count: 190 - MAX_COMBINING_RUN },
      { kind: 'text', text: ' ok' },
    ]);
    expect(visibleText(`a${'\u0301\u0302'.repeat(4)}`)).toBe(`a${'\u0301\u0302'.repeat(2)}⟨U+0301… ×4⟩`);
  });
});

describe('names', () => {
  it('flags a name that mixes Latin and Cyrillic (or Greek) letters and marks the foreign letter', () => {
    const name = 'H\u043enest Shop GmbH';
    expect(nameScripts(name)).toMatchObject({ scripts: ['Latin', 'Cyrillic'], mixed: true, main: 'Latin' });
    const { parts, flagged } = nameParts(name);
    expect(flagged?.mixed).toBe(true);
    expect(parts).toEqual([
      { kind: 'text', text: 'H' },
      { kind: 'foreign', text: '\u043e', script: 'Cyrillic', code: 'U+043E' },
      { kind: 'text', text: 'nest Shop GmbH' },
    ]);
    expect(nameScripts('\u0391lpha Bank').mixed).toBe(true);
    expect(nameScripts('Paypa\u04cf').mixed).toBe(true);
  });

  it('flags a name written entirely in Cyrillic letters that look like Latin ones, not an ordinary Cyrillic name', () => {
    expect(nameScripts('\u0421\u041e\u0421\u0410').lookalike).toBe(true); // "СОСА"
    expect(nameParts('\u0421\u041e\u0421\u0410').parts.every((p) => p.kind === 'foreign')).toBe(true);
    expect(nameScripts('Иван Петров')).toMatchObject({ mixed: false, lookalike: false });
  });

  it('accepts single-script names and the combinations UTS #39 allows', () => {
    for (const name of [
      'Honest Shop GmbH',
      'Fogra Literature Service',
      'Müller & Søn 24',
      'Иван Петров',
      '山田太郎',
      'Tanaka 田中 さくら',
      'Kim 김치 株式会社',
      '中文 ㄅㄆ Shop',
    ]) {
      expect(nameScripts(name), name).toMatchObject({ mixed: false, lookalike: false });
      expect(nameParts(name).flagged, name).toBeNull();
      expect(checkCertifiableName(name)).toBe(name);
    }
  });

  it('a CA refuses mixed scripts, whole-script look-alikes and hidden characters in names', () => {
    expect(() => checkCertifiableName('H\u043enest Shop GmbH', 'legal name')).toThrow(/legal name mixes scripts \(Latin, Cyrillic\)/);
    expect(() => checkCertifiableName('\u0421\u041e\u0421\u0410')).toThrow(/look like Latin/);
    expect(() => checkCertifiableName('Honest\u202E Shop')).toThrow(/U\+202E/);
    expect(() => checkCertifiableName('Honest\u200BShop')).toThrow(/U\+200B/);
    try {
      checkCertifiableName('H\u043enest');
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_SCHEMA');
    }
  });
});
