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

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The I-JSON check with the path of the first offending value (only run once the fast pass failed). */
function assertIJson(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.2: ${path} has a lone surrogate`);
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
      if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) assertIJson(v, `${path}[${i}]`);
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a plain JSON object`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (LONE_SURROGATE.test(k)) throw new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.2: a member name of ${path} has a lone surrogate`);
        assertIJson(v, `${path}.${k}`);
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
 * never go stale. Any object or array found here is serialised from its text, without a walk.
 */
const sealedTexts = new WeakMap<object, string>();

function serialise(value: unknown): string {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw NOT_I_JSON;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) throw NOT_I_JSON;
      // ECMAScript Number::toString, as JSON.stringify writes it (RFC 8785 §3.2.2.3); -0 is "0".
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      const sealed = sealedTexts.get(value);
      if (sealed !== undefined) return sealed;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          // A hole is undefined: not I-JSON.
          out += serialise(value[i]);
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw NOT_I_JSON;
      // Default sort: by UTF-16 code units (RFC 8785 §3.2.3).
      const keys = Object.keys(value).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (LONE_SURROGATE.test(k)) throw NOT_I_JSON;
        if (i > 0) out += ',';
        out += `${JSON.stringify(k)}:${serialise((value as Record<string, unknown>)[k])}`;
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
    return serialise(value);
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

function sealFailure(value: unknown, path: string): SealFailure | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      break;
    case 'number':
      if (!Number.isFinite(value)) return { notJson: true, path, error: new SemperError('ERR_ENCODING', `RFC 8785 §3.2.2.3: ${path} is not a finite number`) };
      break;
    case 'object': {
      if (value === null) break;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const f = sealFailure(value[i], `${path}[${i}]`);
          if (f) return f;
        }
        break;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        return { notJson: true, path, error: new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a plain JSON object`) };
      }
      for (const [k, v] of Object.entries(value)) {
        const f = sealFailure(v, `${path}.${k}`);
        if (f) return f;
      }
      break;
    }
    default:
      return { notJson: true, path, error: new SemperError('ERR_ENCODING', `RFC 8785 §3.1: ${path} is not a JSON value (${typeof value})`) };
  }
  // JSON: the I-JSON rules (safe integers, no lone surrogates) are the encoding's.
  try {
    assertIJson(value, path);
    return null;
  } catch (e) {
    return { notJson: false, path, error: e as SemperError };
  }
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function sealWalk(value: unknown, depth: number): [unknown, string] {
  if (typeof value !== 'object' || value === null) return [value, serialise(value)];
  const sealed = sealedTexts.get(value);
  if (sealed !== undefined) return [value, sealed];
  let copy: unknown;
  let text: string;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    text = '[';
    for (let i = 0; i < value.length; i++) {
      const [c, t] = sealWalk(value[i], depth + 1);
      out[i] = c;
      text += i > 0 ? `,${t}` : t;
    }
    text += ']';
    copy = out;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw NOT_I_JSON;
    // The copy keeps the members' order; the text has them sorted.
    const keys = Object.keys(value);
    const out: Record<string, unknown> = {};
    const members: [string, string][] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (LONE_SURROGATE.test(k)) throw NOT_I_JSON;
      const [c, t] = sealWalk((value as Record<string, unknown>)[k], depth + 1);
      // A member named __proto__ stays a member, as JSON.parse makes it (assignment would set the
      // prototype); defineProperty only there, since it is several times slower than assignment.
      if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
      else out[k] = c;
      members[i] = [k, t];
    }
    // By UTF-16 code units (RFC 8785 §3.2.3), as the default sort orders strings.
    members.sort(byName);
    text = '{';
    for (let i = 0; i < members.length; i++) {
      const [k, t] = members[i]!;
      text += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:${t}`;
    }
    text += '}';
    copy = out;
  }
  Object.freeze(copy);
  // Texts of the upper levels only: where a nested statement's body sits (request.body.m1.body).
  if (depth <= 3) sealedTexts.set(copy as object, text);
  return [copy, text];
}

/**
 * A deep-frozen copy of a JSON value with its canonical text, in one walk. Nested objects of the
 * upper levels keep their texts too, so canonicalising the copy or any statement built from its
 * parts (a signing input, a digest, a nested statement) does not walk them again.
 */
export function sealJson<T>(value: T): { ok: true; value: T; text: string } | { ok: false; failure: SealFailure } {
  try {
    const [copy, text] = sealWalk(value, 0);
    return { ok: true, value: copy as T, text };
  } catch (e) {
    if (e !== NOT_I_JSON) throw e;
    const failure = sealFailure(value, '$');
    if (!failure) throw new SemperError('ERR_ENCODING', 'RFC 8785: value has no canonical form');
    return { ok: false, failure };
  }
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** The canonical UTF-8 bytes of a JSON value: what every signature in Semper covers. */
export function canonicalBytes(value: unknown): Uint8Array<ArrayBuffer> {
  return utf8(canonicalJson(value));
}
