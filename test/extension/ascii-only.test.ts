/**
 * scripts/ascii-only.ts (vite.config.ts): every emitted script in ASCII, so Chromium keeps the
 * worker's sources one-byte (issue 13, docs/speed.md "Worker start"). The escaped script must mean
 * what the original meant.
 */
import { describe, expect, it } from 'vitest';
import { escapeNonAscii } from '../../scripts/ascii-only.js';

const run = (code: string): unknown => new Function(code)();

describe('escapeNonAscii', () => {
  it('leaves ASCII alone', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    const code = 'return `a${1}b` + "c" + /d/.source;';
    expect(escapeNonAscii(code, 'x.js')).toBe(code);
  });

  it('escapes every other character and keeps the meaning: strings, templates, regular expressions, identifiers, comments', () => {
    const code = [
      '// § a comment — with → arrows',
      'const café = "RFC 8785 §3.2 → ü";',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
      'const t = `${café} — ${"😀"}`;',
      'const r = /[äö]+/u.test("öä") && /😀/.test("x😀") && /^.$/u.test("😀") && /^[😀é]$/u.test("😀") && /^😀$/u.test("😀");',
      'return [café, t, r, "😀".length, "—".codePointAt(0)];',
    ].join('\n');
    const escaped = escapeNonAscii(code, 'x.js');
    expect([...escaped].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    expect(run(escaped)).toEqual(run(code));
    expect(run(escaped)).toEqual(['RFC 8785 §3.2 → ü', 'RFC 8785 §3.2 → ü — 😀', true, 2, 0x2014]);
  });

  it('refuses a character after a backslash, where the escape would change the meaning', () => {
    expect(() => escapeNonAscii('return "\\é";', 'y.js')).toThrow(/y\.js: a non-ASCII character after a backslash/);
  });
});
