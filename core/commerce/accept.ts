/**
 * A fast yes for schema checks of statement bodies (issue 13). verifyStatement hands out bodies as
 * deep-frozen JSON copies (core/encoding sealJson), and a zod parse of such a body then copies it
 * once more, with a payload object and an issue array per member: that was a tenth of a purchase's
 * time. `acceptor(schema)` walks the schema's definition once and returns a predicate that answers
 * "zod accepts this value and would return an equal copy of it" for deep-frozen values, without
 * allocating; every "no" goes to zod, which decides and words the error, so nothing is refused
 * here that zod would not refuse, and nothing accepted that it would not accept.
 *
 * What it knows is kept small, and anything else makes the whole schema zod's (null):
 *   string, number, boolean (without coercion), literal, enum, optional (not defaulted), array,
 *   object (strict or stripping; a value with a member the shape lacks goes to zod), union.
 * Checks (lengths, bounds, formats, regexes, refinements) are run as zod's own check functions on
 * the value; a check that reports an issue or changes the value (a URL with surrounding blanks,
 * which zod trims) is a "no". Accepted values are deep-frozen, plain and have exactly the members
 * zod would copy, so the value itself stands for zod's copy.
 */
import { z } from '../zod.js';

// zod's own: code points as its length checks count them, and the ranges its number formats name.
const { codePointLength, NUMBER_FORMAT_RANGES } = z.core.util;

type Accept = (value: unknown) => boolean;

interface ZodInternals {
  def: Record<string, unknown> & { type: string; checks?: ZodCheckLike[] };
  traits: Set<string>;
  values?: Set<unknown>;
  propValues?: Record<string, Set<unknown>>;
  optin?: string;
  optout?: string;
}

interface ZodCheckLike {
  _zod: { check(payload: { value: unknown; issues: unknown[] }): unknown; def: { when?: unknown } };
}

const internals = (schema: unknown): ZodInternals => (schema as { _zod: ZodInternals })._zod;

/** One payload reused for every check (checks read `value` and push issues); a check that parses again gets its own. */
const shared: { value: unknown; issues: unknown[] } = { value: undefined, issues: [] };
let sharedInUse = false;

/** zod's own check function run on `value`: a yes only without an issue and without a change to the value. */
function passes(check: ZodCheckLike, value: unknown): boolean {
  const reentered = sharedInUse;
  const payload = reentered ? { value, issues: [] } : shared;
  sharedInUse = true;
  try {
    payload.value = value;
    const result = check._zod.check(payload);
    return !(result instanceof Promise) && payload.issues.length === 0 && payload.value === value;
  } finally {
    payload.value = undefined;
    if (payload.issues.length !== 0) payload.issues = [];
    sharedInUse = reentered;
  }
}

/** Strings a URL check passed unchanged, per check (the check is a function of the string alone; bounded). */
const URL_MEMO_LIMIT = 256;

/**
 * A zod check as a plain predicate on a value of the schema's base type, for the kinds the wire
 * formats use (bounds, integer formats, lengths, patterns); the URL check is zod's own, remembered
 * per string; any other kind is zod's own function (passes). Each predicate answers yes exactly
 * when zod's check reports no issue and leaves the value as it is (test/core/commerce/accept.test.ts).
 */
function predicate(check: ZodCheckLike): Accept {
  const def = check._zod.def as Record<string, unknown> & { check?: string };
  switch (def.check) {
    case 'less_than': {
      const max = def.value;
      if (typeof max !== 'number') break;
      return def.inclusive ? (v) => (v as number) <= max : (v) => (v as number) < max;
    }
    case 'greater_than': {
      const min = def.value;
      if (typeof min !== 'number') break;
      return def.inclusive ? (v) => (v as number) >= min : (v) => (v as number) > min;
    }
    case 'number_format': {
      const range = (NUMBER_FORMAT_RANGES as Record<string, readonly [number | bigint, number | bigint] | undefined>)[def.format as string];
      if (!range) break;
      const [min, max] = range as readonly [number, number];
      if ((def.format as string).includes('int')) return (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
      return (v) => (v as number) >= min && (v as number) <= max;
    }
    case 'max_length': {
      const max = def.maximum as number;
      // A code point is one or two units: a string that fits in units fits in code points.
      return (v) => {
        const units = (v as { length: number }).length;
        return units <= max || (typeof v === 'string' && codePointLength(v) <= max);
      };
    }
    case 'min_length': {
      const min = def.minimum as number;
      return (v) => {
        const units = (v as { length: number }).length;
        if (units < min) return false;
        return typeof v !== 'string' || units >= min * 2 || codePointLength(v) >= min;
      };
    }
    case 'length_equals': {
      const n = def.length as number;
      return (v) => {
        const units = (v as { length: number }).length;
        if (typeof v !== 'string' || units < n || units > n * 2) return units === n;
        return codePointLength(v) === n;
      };
    }
    case 'string_format': {
      const pattern = def.pattern;
      // regex and datetime are zod's pattern test (checks.js $ZodCheckStringFormat, $ZodCheckRegex).
      if ((def.format === 'regex' || def.format === 'datetime') && pattern instanceof RegExp) {
        return (v) => {
          pattern.lastIndex = 0;
          return pattern.test(v as string);
        };
      }
      if (def.format === 'url') {
        const passed = new Set<string>();
        return (v) => {
          if (passed.has(v as string)) return true;
          if (!passes(check, v)) return false;
          if (passed.size >= URL_MEMO_LIMIT) passed.clear();
          passed.add(v as string);
          return true;
        };
      }
      break;
    }
  }
  return (v) => passes(check, v);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function compile(schema: unknown): Accept | null {
  const zod = internals(schema);
  const def = zod.def;
  // A format (z.iso.datetime(), z.int()) is its own first check, as zod runs it.
  const checks: ZodCheckLike[] = [...(zod.traits.has('$ZodCheck') ? [schema as ZodCheckLike] : []), ...(def.checks ?? [])];
  const predicates = checks.map(predicate);
  const withChecks = (base: Accept): Accept => {
    switch (predicates.length) {
      case 0:
        return base;
      case 1: {
        const [a] = predicates as [Accept];
        return (v) => base(v) && a(v);
      }
      case 2: {
        const [a, b] = predicates as [Accept, Accept];
        return (v) => base(v) && a(v) && b(v);
      }
      default:
        return (v) => {
          if (!base(v)) return false;
          for (const p of predicates) if (!p(v)) return false;
          return true;
        };
    }
  };
  switch (def.type) {
    case 'string':
      if (def.coerce) return null;
      return withChecks((v) => typeof v === 'string');
    case 'number':
      if (def.coerce) return null;
      return withChecks((v) => typeof v === 'number' && Number.isFinite(v));
    case 'boolean':
      if (def.coerce) return null;
      return withChecks((v) => typeof v === 'boolean');
    case 'literal':
    case 'enum': {
      const values = zod.values;
      if (!values) return null;
      return withChecks((v) => values.has(v));
    }
    case 'optional': {
      const inner = def.innerType;
      if (internals(inner).optin === 'defaulted') return null;
      const accept = compile(inner);
      if (!accept) return null;
      return withChecks((v) => v === undefined || accept(v));
    }
    case 'array': {
      const element = def.element;
      if (internals(element).optin !== undefined) return null;
      const accept = compile(element);
      if (!accept) return null;
      return withChecks((v) => {
        if (!Array.isArray(v) || !Object.isFrozen(v)) return false;
        // A hole reads as undefined: not JSON, and zod's copy would not keep it a hole.
        for (let i = 0; i < v.length; i++) if (!(i in v) || !accept(v[i])) return false;
        return true;
      });
    }
    case 'object': {
      const catchall = def.catchall as unknown;
      if (catchall !== undefined && internals(catchall).def.type !== 'never') return null;
      const shape = def.shape as Record<string, unknown>;
      const members: { key: string; accept: Accept; optional: boolean }[] = [];
      for (const key of Object.keys(shape)) {
        if (key === '__proto__') return null;
        const field = internals(shape[key]);
        if (field.optin === 'defaulted' || (field.optin === undefined) !== (field.optout === undefined)) return null;
        const accept = compile(shape[key]);
        if (!accept) return null;
        members.push({ key, accept, optional: field.optin === 'optional' && field.optout === 'optional' });
      }
      const names = members.map((m) => m.key);
      const accepts = members.map((m) => m.accept);
      const optional = members.map((m) => m.optional);
      const n = names.length;
      /** Members in any order, each looked up by name. */
      const anyOrder = (v: Record<string, unknown>): boolean => {
        let present = 0;
        for (let j = 0; j < n; j++) {
          const key = names[j]!;
          if (Object.hasOwn(v, key)) {
            const member = v[key];
            // A member set to undefined is not JSON: zod's copy would keep it, but leave it to zod.
            if (member === undefined || !accepts[j]!(member)) return false;
            present++;
          } else if (!optional[j] || v[key] !== undefined) return false;
        }
        // Every enumerable member is one of the shape's (and each is counted once above).
        const keys = Object.keys(v);
        if (keys.length !== present) return false;
        for (const key of keys) if (!Object.hasOwn(shape, key)) return false;
        return true;
      };
      return withChecks((v) => {
        if (!isPlainObject(v) || !Object.isFrozen(v)) return false;
        // The usual case, in one for-in loop: own members in the shape's order (as signers write
        // them and sealed copies keep them), an optional one absent here and there. Anything else
        // (another order, a member the shape lacks, an inherited or hidden one) is anyOrder's.
        let j = 0;
        for (const key in v) {
          if (!Object.hasOwn(v, key)) return anyOrder(v);
          while (j < n && names[j] !== key) {
            if (!optional[j] || names[j]! in v) return anyOrder(v);
            j++;
          }
          if (j === n) return anyOrder(v);
          const member = v[key];
          if (member === undefined || !accepts[j]!(member)) return false;
          j++;
        }
        for (; j < n; j++) if (!optional[j] || names[j]! in v) return anyOrder(v);
        return true;
      });
    }
    case 'union': {
      if (def.unionFallback) return null;
      const options: Accept[] = [];
      for (const option of def.options as unknown[]) {
        const accept = compile(option);
        if (!accept) return null;
        options.push(accept);
      }
      if (typeof def.discriminator === 'string') {
        // zod parses the one option its discriminator value names (a value two options share names none).
        const key = def.discriminator;
        const byTag = new Map<unknown, Accept | null>();
        (def.options as unknown[]).forEach((option, i) => {
          for (const tag of internals(option).propValues?.[key] ?? []) byTag.set(tag, byTag.has(tag) ? null : options[i]!);
        });
        return withChecks((v) => {
          if (!isPlainObject(v) || !Object.hasOwn(v, key)) return false;
          const accept = byTag.get(v[key]);
          return accept ? accept(v) : false;
        });
      }
      // An exclusive union (z.xor) refuses values two options accept: not decided here.
      if (def.inclusive === false) return null;
      return withChecks((v) => {
        for (const accept of options) if (accept(v)) return true;
        return false;
      });
    }
    default:
      return null;
  }
}

const acceptors = new WeakMap<object, Accept | null>();

/** The fast yes for `schema` (see above), or null when its definition uses anything not known here. */
export function acceptor(schema: z.ZodMiniType): Accept | null {
  let accept = acceptors.get(schema);
  if (accept === undefined) {
    try {
      accept = compile(schema);
    } catch {
      // A definition zod itself cannot build a parser for is zod's to report.
      accept = null;
    }
    acceptors.set(schema, accept);
  }
  return accept;
}
