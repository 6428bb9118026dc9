/**
 * Rules for showing text that another party wrote (merchant titles, terms, contract text,
 * certified names) where the user decides on it, and for refusing names a CA should not certify.
 *
 * - Invisible and layout-changing characters are never handed to the layout: bidi embeddings,
 *   overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C), other
 *   default-ignorable code points (zero-width space, soft hyphen, word joiner, Hangul fillers, tag
 *   characters…), control characters other than tab and newline, line and paragraph separators,
 *   lone surrogates. `textParts` turns each into a visible escape ("U+202E"), so a signed
 *   "EUR ‮1000" is shown with its override visible, never as "EUR 0001". Zero-width joiners
 *   (U+200C/U+200D) and variation selectors stay: they shape emoji and some scripts and cannot
 *   reorder or hide text.
 * - Long runs of combining marks, which draw far above and below their line, are cut after
 *   MAX_COMBINING_RUN marks; the rest is one escape with a count.
 * - Names: `nameScripts` tells which scripts a name's letters come from; a name that mixes
 *   scripts (other than the combinations UTS #39 calls highly restrictive: Latin with Han and
 *   Japanese kana, with Han and Bopomofo, with Han and Hangul) or that is written entirely in
 *   letters that look like Latin ones from another script is flagged. `checkCertifiableName`
 *   refuses such names (and hidden characters) outright.
 *
 * Isomorphic (no DOM): the trusted window, the popup and the CA use the same rules.
 */
import { SemperError } from './errors.js';

/** Characters that reorder the text around them (the Unicode bidi controls). */
export const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** Default-ignorable code points that stay: the zero-width (non-)joiners and the variation selectors. */
function keptIgnorable(cp: number): boolean {
  return cp === 0x200c || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}
/** One code point that must be shown as an escape (see the module comment). */
const HIDDEN = /[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Zl}\p{Zp}\p{Cs}\u061C]/u;
const COMBINING = /\p{M}/u;

/** Combining marks kept in a row (enough for Vietnamese, Indic and Hebrew pointing). */
export const MAX_COMBINING_RUN = 4;

export type TextPart =
  | { kind: 'text'; text: string }
  /** A character not shown as itself: `code` like "U+202E"; `count` > 1 for a cut run of combining marks. */
  | { kind: 'escape'; code: string; count: number };

function codeOf(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Whether `ch` (one code point) is shown as an escape; `multiline` keeps newlines and tabs. */
function isHidden(ch: string, multiline: boolean): boolean {
  if (multiline && (ch === '\n' || ch === '\t')) return false;
  if (keptIgnorable(ch.codePointAt(0)!)) return false;
  return HIDDEN.test(ch);
}

/**
 * `text` as what may be laid out (runs of plain text) and what must be shown as an escape.
 * `multiline`: newlines and tabs are text (terms, contract text); otherwise they are escapes too.
 */
export function textParts(text: string, options: { multiline?: boolean } = {}): TextPart[] {
  const multiline = options.multiline === true;
  const parts: TextPart[] = [];
  let run = '';
  let marks = 0;
  /** The escape standing for the marks cut from the current run of combining marks. */
  let cut: { kind: 'escape'; code: string; count: number } | undefined;
  const flush = () => {
    if (run) parts.push({ kind: 'text', text: run });
    run = '';
  };
  // Iterating a string yields code points, so a lone surrogate comes out on its own.
  for (const ch of text) {
    if (isHidden(ch, multiline)) {
      flush();
      parts.push({ kind: 'escape', code: codeOf(ch), count: 1 });
      marks = 0;
      cut = undefined;
      continue;
    }
    if (!COMBINING.test(ch)) {
      marks = 0;
      cut = undefined;
    } else if (++marks > MAX_COMBINING_RUN) {
      if (cut) {
        cut.count++;
        if (!cut.code.endsWith('…') && cut.code !== codeOf(ch)) cut.code += '…';
      } else {
        flush();
        cut = { kind: 'escape', code: codeOf(ch), count: 1 };
        parts.push(cut);
      }
      continue;
    }
    run += ch;
  }
  flush();
  return parts;
}

/** How an escape reads: "⟨U+202E⟩", or "⟨U+0301 ×186⟩" for a cut run. */
export function escapeLabel(part: { code: string; count: number }): string {
  return part.count > 1 ? `⟨${part.code} ×${part.count}⟩` : `⟨${part.code}⟩`;
}

/** `text` with every escape written out: for places that take a plain string (titles, labels). */
export function visibleText(text: string, options: { multiline?: boolean } = {}): string {
  return textParts(text, options)
    .map((p) => (p.kind === 'text' ? p.text : escapeLabel(p)))
    .join('');
}

/** Whether `text` has anything `textParts` would escape. */
export function hasHiddenCharacters(text: string, options: { multiline?: boolean } = {}): boolean {
  return textParts(text, options).some((p) => p.kind === 'escape');
}

/** Scripts told apart in names; letters of any other script count as 'Other'. */
const SCRIPTS = [
  ['Latin', /\p{Script=Latin}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Hebrew', /\p{Script=Hebrew}/u],
  ['Arabic', /\p{Script=Arabic}/u],
  ['Georgian', /\p{Script=Georgian}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
  ['Devanagari', /\p{Script=Devanagari}/u],
  ['Thai', /\p{Script=Thai}/u],
  ['Han', /\p{Script=Han}/u],
  ['Hiragana', /\p{Script=Hiragana}/u],
  ['Katakana', /\p{Script=Katakana}/u],
  ['Bopomofo', /\p{Script=Bopomofo}/u],
  ['Hangul', /\p{Script=Hangul}/u],
] as const;

/** Script of one code point: a name from SCRIPTS, 'Other' for letters of other scripts, null for Common/Inherited (digits, punctuation, marks, spaces). */
export function scriptOf(ch: string): string | null {
  if (/[\p{Script=Common}\p{Script=Inherited}]/u.test(ch)) return null;
  for (const [name, re] of SCRIPTS) if (re.test(ch)) return name;
  return /[\p{L}\p{N}]/u.test(ch) ? 'Other' : null;
}

/** Combinations of scripts that one name may use (UTS #39 §5.2, "highly restrictive"). */
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/**
 * Letters of Cyrillic, Greek and Armenian that are drawn like Latin letters in common fonts
 * (from the Unicode confusables data, reduced to the single letters that matter in names).
 */
const LATIN_LOOKALIKES = new Set(
  [
    // Cyrillic
    'АВЕЅІЈКМНОРСТХУаеіјорсухѕԁԛԝһӏѡӀ',
    // Greek
    'ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορυχγ',
    // Armenian
    'ՕօոսհցզԳԵԼՍ',
  ]
    .join('')
    .split(''),
);

export interface NameScripts {
  /** The scripts of the name's letters, most letters first (ties: Latin first). */
  scripts: string[];
  /** Letters from more than one script, not in an allowed combination. */
  mixed: boolean;
  /** Written entirely in another script's letters that each look like a Latin letter. */
  lookalike: boolean;
  /** The script most letters are in (the one the others are marked against); null: no letters. */
  main: string | null;
}

export function nameScripts(name: string): NameScripts {
  const counts = new Map<string, number>();
  let letters = 0;
  let lookalikeLetters = 0;
  for (const ch of name) {
    const script = scriptOf(ch);
    if (!script) continue;
    letters++;
    counts.set(script, (counts.get(script) ?? 0) + 1);
    if (script !== 'Latin' && LATIN_LOOKALIKES.has(ch)) lookalikeLetters++;
  }
  const scripts = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] === 'Latin' ? -1 : b[0] === 'Latin' ? 1 : 0)).map(([s]) => s);
  const mixed = scripts.length > 1 && !ALLOWED_MIXES.some((allowed) => scripts.every((s) => allowed.includes(s)));
  const lookalike = scripts.length === 1 && scripts[0] !== 'Latin' && letters > 0 && lookalikeLetters === letters;
  return { scripts, mixed, lookalike, main: scripts[0] ?? null };
}

export type NamePart = { kind: 'text'; text: string } | { kind: 'foreign'; text: string; script: string; code: string } | Extract<TextPart, { kind: 'escape' }>;

/**
 * A name as shown: escapes as in `textParts`, and, when the name is flagged (mixed or
 * look-alike), every letter not in its main script (or, for a look-alike, every letter) marked
 * with its script and code point.
 */
export function nameParts(name: string): { parts: NamePart[]; flagged: NameScripts | null } {
  const scripts = nameScripts(name);
  const flagged = scripts.mixed || scripts.lookalike ? scripts : null;
  if (!flagged) return { parts: textParts(name), flagged: null };
  const parts: NamePart[] = [];
  for (const part of textParts(name)) {
    if (part.kind === 'escape') {
      parts.push(part);
      continue;
    }
    let run = '';
    let foreign: Extract<NamePart, { kind: 'foreign' }> | undefined;
    for (const ch of part.text) {
      const script = scriptOf(ch);
      const marked = script !== null && (scripts.lookalike || script !== scripts.main);
      if (marked) {
        if (run) parts.push({ kind: 'text', text: run });
        run = '';
        foreign = { kind: 'foreign', text: ch, script: script!, code: codeOf(ch) };
        parts.push(foreign);
      } else if (foreign && script === null && COMBINING.test(ch)) {
        // A combining mark stays with the letter it belongs to.
        foreign.text += ch;
      } else {
        foreign = undefined;
        run += ch;
      }
    }
    if (run) parts.push({ kind: 'text', text: run });
  }
  return { parts, flagged };
}

/**
 * What a CA certifies as a name (CN, O): no hidden or reordering characters, letters from one
 * script (or an allowed combination), not a whole-script look-alike of a Latin name.
 * Throws ERR_SCHEMA naming the rule.
 */
export function checkCertifiableName(name: string, what = 'name'): string {
  const hidden = textParts(name).find((p) => p.kind === 'escape');
  if (hidden) throw new SemperError('ERR_SCHEMA', `${what} contains an invisible or reordering character (${hidden.code})`);
  const scripts = nameScripts(name);
  if (scripts.mixed)
    throw new SemperError('ERR_SCHEMA', `${what} mixes scripts (${scripts.scripts.join(', ')}): letters that look alike could imitate another name`);
  if (scripts.lookalike) {
    throw new SemperError('ERR_SCHEMA', `${what} is written in ${scripts.scripts[0]} letters that all look like Latin ones: it could imitate a Latin name`);
  }
  return name;
}
