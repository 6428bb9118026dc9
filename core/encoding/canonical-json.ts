/**
 * RFC 8785 JSON Canonicalization Scheme, in one pass that also checks the value is I-JSON
 * (RFC 8785 §3.1 / RFC 7493): no undefined, functions, non-finite numbers, integers outside the
 * IEEE-754 safe range or lone surrogates, so every signer and verifier computes the same bytes.
 *
 * The serialisation is the `canonicalize` package's (which test/core/encoding compares it with on
 * random values): object members sorted by their UTF-16 code units, strings and numbers as
 * ECMAScript's JSON.stringify writes them (RFC 8785 §3.2.2), no whitespace. One pass instead of a
 * check followed by the package's own walk; error paths are only built when a check fails.
 */
import { SemperError } from '../errors.js';
import { MAX_JSON_DEPTH } from '../json-limits.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * No lone surrogate (RFC 8785 §3.2.2.2). String.prototype.isWellFormed (ES2024; Node 20, Chromium
 * 111, Firefox 119) answers a one-byte string at once, where the regular expression scans every
 * character — certificates in a chain are kilobytes. The regular expression where it is missing;
 * test/core/encoding compares both on random UTF-16.
 */
const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
export function wellFormedByPattern(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}
const wellFormed: (s: string) => boolean = isWellFormed ? (s) => isWellFormed.call(s) : wellFormedByPattern;

/**
 * How deep arrays and objects may nest (core/json-limits.ts): a value nested deeper, or a cyclic
 * one, is ERR_ENCODING here instead of exhausting the stack.
 */
export { MAX_JSON_DEPTH };

function tooDeep(path: string): SemperError {
  return new SemperError('ERR_ENCODING', `RFC 8259 §9: ${path} nests arrays and objects more than ${MAX_JSON_DEPTH} deep`);
}

/** The I-JSON check with the path of the first offending value (only run once the fast pass failed). */
function assertIJson(value: unknown, path: string, depth = 0): void {
  switch (typeof value) {
    case 'string':
      if (!wellFormed(value)) throw new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.2: ${path} has a lone surrogate`);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.3: ${path} is not a finite number`);
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        throw new SemperError('ERR_ENCODING', `RFC 7493 §2.2: ${path} is an integer outside the safe range`);
      }
      return;
    case 'object':
      if (value === null) return;
      if (depth >= MAX_JSON_DEPTH) throw tooDeep(path);
      if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) assertIJson(v, `${path}[${i}]`, depth + 1);
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a plain JSON object`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (!wellFormed(k)) throw new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.2: a member name of ${path} has a lone surrogate`);
        assertIJson(v, `${path}.${k}`, depth + 1);
      }
      return;
    default:
      throw new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a JSON value (${typeof value})`);
  }
}

/** Thrown by the fast pass; the caller re-walks the value with assertIJson to name the offending path. */
const NOT_I_JSON = Symbol('not I-JSON');

/**
 * Canonical texts of sealed values (sealJson): deep-frozen copies made here, so their text can
 * never go stale. Any object or array carrying one is serialised from its text, without a walk.
 * The text is a private field (`#text`) stamped on the copy before it is frozen, through a base
 * class whose constructor returns the object it is given (ES2022 "return override"): only this
 * module can read or write it, and no copy carries it — spreading, Object.assign, JSON, structured
 * clone and reflection (Reflect.ownKeys) do not see private fields, so a copy that could differ
 * never has the text. A WeakMap of texts cost more than the rest of the walk (its entries are
 * ephemerons the garbage collector traces one by one), and a non-enumerable symbol member through
 * Object.defineProperty ≈ 200 ns per copy, a fifth of sealing a WebAuthn statement; the stamp
 * costs about what a member written in a literal does.
 */
const ReturnsItsArgument = function (this: unknown, o: object) {
  return o;
} as unknown as new (
  o: object,
) => object;

class Sealed extends ReturnsItsArgument {
  #text: string;
  private constructor(o: object, text: string) {
    super(o);
    this.#text = text;
  }
  /** Stamp `o` (a copy made by sealWalk, not yet frozen) with its canonical text. */
  static stamp(o: object, text: string): void {
    new Sealed(o, text);
  }
  static text(o: object): string | undefined {
    return #text in o ? (o as Sealed).#text : undefined;
  }
}

function sealedText(o: object): string | undefined {
  return Sealed.text(o);
}

/**
 * What JSON.stringify escapes besides lone surrogates (checked first): quote, backslash and the C0
 * controls U+0000–U+001F, written as everything outside the characters it copies as they are.
 */
const NEEDS_ESCAPE = /[^\u0020\u0021\u0023-\u005b\u005d-\uffff]/;

/** JSON.stringify of a well-formed string (RFC 8785 §3.2.2.2): most need no escape, and quoting them is cheaper. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * Member names as quote writes them, remembered: statements use a few dozen names again and again,
 * and a Map lookup (the hash of a name JSON.parse or a literal made is already computed) costs a
 * quarter of the escape check and the concatenation. Bounded: names past the limit, or long ones,
 * are quoted each time (a peer choosing names cannot grow it, nor push out the ones seen first).
 */
const quotedNames = new Map<string, string>();
const QUOTED_NAMES_LIMIT = 4096;

/** A member name quoted; NOT_I_JSON for a lone surrogate (a remembered name was checked when it was first quoted). */
function quoteName(k: string): string {
  let q = quotedNames.get(k);
  if (q === undefined) {
    if (!wellFormed(k)) throw NOT_I_JSON;
    q = quote(k);
    if (k.length <= 64 && quotedNames.size < QUOTED_NAMES_LIMIT) quotedNames.set(k, q);
  }
  return q;
}

/** Member positions sorted by name, by UTF-16 code units (RFC 8785 §3.2.3); names are distinct. */
function byName(keys: readonly string[]): number[] {
  const n = keys.length;
  const order: number[] = new Array(n);
  if (n > 16) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  }
  // Insertion sort: one comparison per member when they came in order, and no comparator calls.
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    let j = i;
    while (j > 0 && keys[order[j - 1]!]! > k) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  return order;
}

function serialise(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      if (!wellFormed(value)) throw NOT_I_JSON;
      return quote(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) throw NOT_I_JSON;
      // ECMAScript Number::toString, as JSON.stringify writes it (RFC 8785 §3.2.2.3); -0 is "0".
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      const sealed = sealedText(value);
      if (sealed !== undefined) return sealed;
      if (depth >= MAX_JSON_DEPTH) throw NOT_I_JSON;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          // A hole is undefined: not I-JSON.
          out += serialise(value[i], depth + 1);
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw NOT_I_JSON;
      const keys = Object.keys(value);
      const order = byName(keys);
      let out = '{';
      for (let j = 0; j < order.length; j++) {
        const k = keys[order[j]!]!;
        if (j > 0) out += ',';
        out += `${quoteName(k)}:${serialise((value as Record<string, unknown>)[k], depth + 1)}`;
      }
      return `${out}}`;
    }
    default:
      throw NOT_I_JSON;
  }
}

/** The canonical text of a JSON value. Throws ERR_ENCODING for anything that is not I-JSON. */
export function canonicalJson(value: unknown): string {
  try {
    return serialise(value, 0);
  } catch (e) {
    if (e !== NOT_I_JSON) throw e;
    assertIJson(value, '$');
    // Unreachable: the fast pass and assertIJson refuse the same values.
    throw new SemperError('ERR_ENCODING', 'RFC 8785: value has no canonical form');
  }
}

/** What a sealed value failed: not JSON at all (a schema error), or JSON that is not I-JSON (an encoding error). */
export interface SealFailure {
  /** true: not a JSON value (undefined, a function, NaN, a non-plain object, …); false: JSON but not I-JSON. */
  notJson: boolean;
  path: string;
  error: SemperError;
}

function sealFailure(value: unknown, path: string, depth: number): SealFailure | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      break;
    case 'number':
      if (!Number.isFinite(value)) return { notJson: true, path, error: new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.3: ${path} is not a finite number`) };
      break;
    case 'object': {
      if (value === null) break;
      if (depth >= MAX_JSON_DEPTH) return { notJson: false, path, error: tooDeep(path) };
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const f = sealFailure(value[i], `${path}[${i}]`, depth + 1);
          if (f) return f;
        }
        break;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        return { notJson: true, path, error: new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a plain JSON object`) };
      }
      for (const [k, v] of Object.entries(value)) {
        const f = sealFailure(v, `${path}.${k}`, depth + 1);
        if (f) return f;
      }
      break;
    }
    default:
      return { notJson: true, path, error: new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a JSON value (${typeof value})`) };
  }
  // JSON: the I-JSON rules (safe integers, no lone surrogates) are the encoding's.
  try {
    assertIJson(value, path, depth);
    return null;
  } catch (e) {
    return { notJson: false, path, error: e as SemperError };
  }
}

/**
 * Which sealed copies keep their text: the top two levels, and below them, down to where a nested
 * statement's body sits (request.body.m1.body), what statements are read by — a statement (it has
 * a body and a signature), its body, signature and signer (the signing input is written from the
 * body's and the signer's texts, sign.ts). Only a cache: a copy without its text is walked again when
 * canonicalised. Not every copy: texts held past their use are memory a long-lived statement keeps.
 */
function keepsText(copy: object, depth: number, name: string): boolean {
  if (depth <= 1) return true;
  if (depth > 3) return false;
  return name === 'body' || name === 'signature' || name === 'signer' || ('body' in copy && 'signature' in copy);
}

/** The canonical text of the value sealWalk last returned: one module slot instead of a [copy, text] pair per node. */
let walkText = '';

/** `name`: the member name the value sits under in its parent ('' for array elements and the top). */
function sealWalk(value: unknown, depth: number, name: string): unknown {
  switch (typeof value) {
    case 'string':
      if (!wellFormed(value)) throw NOT_I_JSON;
      walkText = quote(value);
      return value;
    case 'boolean':
      walkText = value ? 'true' : 'false';
      return value;
    case 'number':
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) throw NOT_I_JSON;
      walkText = JSON.stringify(value);
      return value;
    case 'object':
      break;
    default:
      throw NOT_I_JSON;
  }
  if (value === null) {
    walkText = 'null';
    return value;
  }
  const sealed = sealedText(value);
  if (sealed !== undefined) {
    walkText = sealed;
    return value;
  }
  if (depth >= MAX_JSON_DEPTH) throw NOT_I_JSON;
  let copy: unknown[] | Record<string, unknown>;
  let text: string;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    text = '[';
    for (let i = 0; i < value.length; i++) {
      // A hole reads as undefined: not I-JSON.
      out[i] = sealWalk(value[i], depth + 1, '');
      text += i > 0 ? `,${walkText}` : walkText;
    }
    text += ']';
    copy = out;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw NOT_I_JSON;
    // The copy keeps the members' order; the text has them sorted, so their texts are kept by
    // position until the positions are sorted.
    const keys = Object.keys(value);
    const n = keys.length;
    const out: Record<string, unknown> = {};
    const texts: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      const name = quoteName(k);
      const c = sealWalk((value as Record<string, unknown>)[k], depth + 1, k);
      // A member named __proto__ stays a member, as JSON.parse makes it (assignment would set the
      // prototype); defineProperty only there, since it is several times slower than assignment.
      if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
      else out[k] = c;
      texts[i] = `${name}:${walkText}`;
    }
    const order = byName(keys);
    text = '{';
    for (let j = 0; j < n; j++) text += j > 0 ? `,${texts[order[j]!]}` : texts[order[j]!];
    text += '}';
    copy = out;
  }
  if (keepsText(copy, depth, name)) Sealed.stamp(copy, text);
  Object.freeze(copy);
  walkText = text;
  return copy;
}

/**
 * A deep-frozen copy of a JSON value with its canonical text, in one walk. Nested objects of the
 * upper levels keep their texts too, so canonicalising the copy or any statement built from its
 * parts (a signing input, a digest, a nested statement) does not walk them again.
 */
export function sealJson<T>(value: T): { ok: true; value: T; text: string } | { ok: false; failure: SealFailure } {
  try {
    const copy = sealWalk(value, 0, '');
    return { ok: true, value: copy as T, text: walkText };
  } catch (e) {
    if (e !== NOT_I_JSON) throw e;
    const failure = sealFailure(value, '$', 0);
    if (!failure) throw new SemperError('ERR_ENCODING', 'RFC 8785: value has no canonical form');
    return { ok: false, failure };
  }
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** node:buffer's `Buffer.from(text, 'utf8')` and `Buffer.byteLength`, where the runtime has them (Node); found at run time, as base64url.ts finds them. */
const nodeBuffer = (
  globalThis as { Buffer?: { from(text: string, encoding: 'utf8'): Uint8Array<ArrayBuffer>; byteLength(text: string, encoding: 'utf8'): number } }
).Buffer;
const nodeBufferFrom = nodeBuffer?.from;

/** How many bytes a string's UTF-8 is (a lone surrogate counts as U+FFFD, as TextEncoder writes it), without writing them where the runtime can (Node). */
export function utf8Length(text: string): number {
  return nodeBuffer ? nodeBuffer.byteLength(text, 'utf8') : encoder.encode(text).length;
}

/**
 * The UTF-8 bytes of a string for one immediate use — the input of a signature made or checked, a
 * digest — that is read once and dropped. In Node a slice of node:buffer's shared pool: Node 20's
 * TextEncoder allocates an ArrayBuffer of its own for every call (≈ 1–2 µs for the few hundred
 * bytes of a signing input, and external memory the garbage collector accounts for), the pool
 * does not. The slice's ArrayBuffer holds other bytes too, so what this returns is never stored,
 * cloned, posted or read through `.buffer`; anything kept uses utf8(). Elsewhere (the browsers)
 * it is utf8().
 */
export function utf8Transient(text: string): Uint8Array<ArrayBuffer> {
  return nodeBufferFrom ? nodeBufferFrom(text, 'utf8') : encoder.encode(text);
}

/** The canonical UTF-8 bytes of a JSON value: what every signature in Semper covers. */
export function canonicalBytes(value: unknown): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson(value));
}
