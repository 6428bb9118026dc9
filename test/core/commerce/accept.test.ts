/**
 * The fast yes for statement bodies (core/commerce/accept.ts) against zod, on every schema of the
 * purchase's wire format: values built from each schema's own definition, then broken in one or
 * two places (a member removed, added or replaced by a value at a bound, of another type, with
 * blanks around it, or any JSON value). Whatever the fast path accepts, zod accepts, and zod's copy
 * equals the value itself; whatever zod accepts unchanged, the fast path accepts too (else it
 * would not be used). So parseBody returns for every sealed body what zod returned, or throws
 * zod's own error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptor } from '../../../core/commerce/accept.js';
import { certifiedMerchant, parseBody } from '../../../core/commerce/common.js';
import type { ValidatedChain } from '../../../core/pki/certificates.js';
import { sealJson } from '../../../core/encoding/index.js';
import { SemperError } from '../../../core/errors.js';
import * as wire from '../../../core/protocol/commerce.js';
import type { z } from '../../../core/zod.js';

type Schema = z.ZodMiniType;
interface Internals {
  def: Record<string, unknown> & { type: string; checks?: { _zod: { def: Record<string, unknown> } }[] };
  traits: Set<string>;
  values?: Set<unknown>;
  optin?: string;
}
const zodOf = (s: unknown) => (s as { _zod: Internals })._zod;

const SCHEMAS = Object.entries(wire as Record<string, unknown>).filter(
  (e): e is [string, Schema] => typeof e[1] === 'object' && e[1] !== null && '_zod' in e[1],
);

const B64U = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

/** The string constraints of a schema, as zod's checks carry them. */
function stringRules(s: Schema): { min: number; max: number; pattern?: RegExp; format?: string } {
  const zod = zodOf(s);
  const checks = [...(zod.traits.has('$ZodCheck') ? [{ _zod: { def: zod.def } }] : []), ...(zod.def.checks ?? [])].map((c) => c._zod.def);
  let min = 0;
  let max = 40;
  let pattern: RegExp | undefined;
  let format: string | undefined;
  for (const c of checks) {
    if (c.check === 'min_length') min = c.minimum as number;
    if (c.check === 'max_length') max = Math.min(max, c.maximum as number);
    if (c.check === 'length_equals') min = max = c.length as number;
    if (c.check === 'string_format') {
      format = c.format as string;
      if (c.format === 'regex') pattern = c.pattern as RegExp;
    }
  }
  return { min, max: Math.max(min, max), ...(pattern ? { pattern } : {}), ...(format ? { format } : {}) };
}

/** Values the schema accepts, built from its definition (the kinds the purchase's schemas use). */
function valid(s: Schema): fc.Arbitrary<unknown> {
  const zod = zodOf(s);
  const def = zod.def;
  switch (def.type) {
    case 'string': {
      const r = stringRules(s);
      if (r.format === 'url') return fc.constantFrom('http://127.0.0.1:8451', 'https://shop.example/semper?x=1', 'https://bank.example');
      if (r.format === 'datetime')
        return fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }).map((d) => d.toISOString());
      if (r.pattern && r.pattern.source !== '^[A-Za-z0-9_-]+$') return fc.stringMatching(r.pattern).filter((x) => x.length >= r.min && x.length <= r.max);
      if (r.pattern) return fc.string({ unit: fc.constantFrom(...B64U), minLength: Math.max(1, r.min), maxLength: r.max });
      return fc.string({ minLength: r.min, maxLength: r.max });
    }
    case 'number': {
      let min = 0;
      let max = 1_000_000;
      for (const c of (def.checks ?? []).map((x) => x._zod.def)) {
        if (c.check === 'greater_than') min = (c.value as number) + (c.inclusive ? 0 : 1);
        if (c.check === 'less_than') max = (c.value as number) - (c.inclusive ? 0 : 1);
      }
      return fc.integer({ min, max });
    }
    case 'boolean':
      return fc.boolean();
    case 'literal':
    case 'enum':
      return fc.constantFrom(...zod.values!);
    case 'array': {
      const checks = (def.checks ?? []).map((x) => x._zod.def);
      const minLength = (checks.find((c) => c.check === 'min_length')?.minimum as number | undefined) ?? 0;
      const maxLength = Math.min(3, (checks.find((c) => c.check === 'max_length')?.maximum as number | undefined) ?? 3);
      return fc.array(valid(def.element as Schema), { minLength, maxLength });
    }
    case 'object': {
      const shape = def.shape as Record<string, Schema>;
      const members: Record<string, fc.Arbitrary<unknown>> = {};
      const required: string[] = [];
      for (const [k, v] of Object.entries(shape)) {
        const optional = zodOf(v).optin === 'optional';
        members[k] = valid(optional ? (zodOf(v).def.innerType as Schema) : v);
        if (!optional) required.push(k);
      }
      return fc.record(members, { requiredKeys: required });
    }
    case 'union':
      return fc.oneof(...(def.options as Schema[]).map(valid));
    default:
      throw new Error(`no generator for ${def.type}`);
  }
}

const BAD: unknown[] = [
  '',
  ' ',
  'x'.repeat(2001),
  ' http://a.example ',
  'http://a.example\n',
  'not a url',
  '2026-02-30T00:00:00.000Z',
  '2026-01-01T00:00:00.000+01:00',
  'A'.repeat(42),
  'A'.repeat(44),
  'a=b',
  -1,
  0,
  1.5,
  99,
  100,
  2 ** 53,
  1_000_000_001,
  true,
  null,
  [],
  {},
  'cheque',
  'described',
  'content',
];

type Path = (string | number)[];

function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

type Mutation = { kind: 'set'; value: unknown } | { kind: 'delete' } | { kind: 'extra'; key: string } | { kind: 'pad' };

function mutate(v: unknown, path: Path, m: Mutation): unknown {
  if (path.length === 0) {
    if (m.kind === 'set') return m.value;
    if (m.kind === 'pad') return typeof v === 'string' ? ` ${v}` : v;
    if (m.kind === 'extra' && typeof v === 'object' && v !== null && !Array.isArray(v)) return { ...v, [m.key]: 1 };
    if (m.kind === 'extra' && Array.isArray(v)) return [...v, v[0]];
    return v;
  }
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const copy = [...v];
    if (rest.length === 0 && m.kind === 'delete') copy.splice(head as number, 1);
    else copy[head as number] = mutate(v[head as number], rest, m);
    return copy;
  }
  const obj = { ...(v as Record<string, unknown>) };
  if (rest.length === 0 && m.kind === 'delete') delete obj[head as string];
  else obj[head as string] = mutate(obj[head as string], rest, m);
  return obj;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...BAD).map((value) => ({ kind: 'set' as const, value })),
  fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: 'set' as const, value })),
  fc.constant({ kind: 'delete' as const }),
  fc.constantFrom('extra', '__proto__', 'kind', 'content', 'sku').map((key) => ({ kind: 'extra' as const, key })),
  fc.constant({ kind: 'pad' as const }),
);

/** A valid value broken in up to two places (or not at all). */
function broken(s: Schema): fc.Arbitrary<unknown> {
  const step = (v: unknown) => fc.tuple(fc.nat(), mutation).map(([i, m]) => mutate(v, paths(v)[i % paths(v).length]!, m));
  return valid(s).chain((v) => fc.oneof(fc.constant(v), step(v), step(v).chain(step)));
}

describe('the fast yes for statement bodies agrees with zod', () => {
  it('covers every body a purchase verifies (else those bodies would not take the fast path)', () => {
    for (const s of [wire.OfferRequest, wire.OfferBody, wire.OrderBody, wire.ConfirmationBody, wire.DeliveryBody, wire.ErrorResponse]) {
      expect(acceptor(s)).not.toBeNull();
    }
  });

  for (const [name, schema] of SCHEMAS) {
    it(`${name}: accepts exactly what zod accepts unchanged, on sealed values built from the schema and broken`, () => {
      const accept = acceptor(schema);
      expect(accept).not.toBeNull();
      let accepted = 0;
      let refused = 0;
      fc.assert(
        fc.property(broken(schema), (value) => {
          const sealed = sealJson(value);
          if (!sealed.ok) return; // not I-JSON: verifyStatement refuses it before any body is parsed
          const fast = accept!(sealed.value);
          const slow = schema.safeParse(sealed.value);
          if (fast) {
            accepted++;
            expect(slow.success).toBe(true);
            expect(slow.data).toStrictEqual(sealed.value);
            expect(parseBody(schema, sealed.value, name)).toBe(sealed.value);
          } else {
            refused++;
            // Not accepted here: zod refuses it, or would return something else (it trims URLs).
            if (slow.success) expect(slow.data).not.toStrictEqual(sealed.value);
          }
        }),
        { numRuns: 300 },
      );
      // Both sides were exercised.
      expect(accepted).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(20);
    });
  }
});

describe('parseBody', () => {
  const offer = {
    offerId: 'A'.repeat(24),
    nonce: 'B'.repeat(43),
    origin: 'http://127.0.0.1:8451',
    items: [{ sku: 'report', title: 'Report', quantity: 1, unitPrice: { amount: 1000, currency: 'EUR' }, kind: 'digital' }],
    total: { amount: 1000, currency: 'EUR' },
    expiresAt: '2030-01-01T00:00:00.000Z',
    terms: 'Terms.',
    paymentMethods: ['invoice'],
  };
  const sealed = <T>(v: T): T => {
    const s = sealJson(v);
    if (!s.ok) throw new Error('not JSON');
    return s.value;
  };

  it('returns a sealed body the schema accepts as it is; anything not frozen at the top is sealed first; frozen only at the top is zod’s', () => {
    const body = sealed(offer);
    expect(parseBody(wire.OfferBody, body, 'offer')).toBe(body);
    // A request as a host parsed it: a deep-frozen copy, which no later change to the input reaches.
    const mutable = structuredClone(offer);
    const parsed = parseBody(wire.OfferBody, mutable, 'offer');
    expect(parsed).not.toBe(mutable);
    expect(parsed).toStrictEqual(mutable);
    expect(Object.isFrozen(parsed) && Object.isFrozen(parsed.items) && Object.isFrozen(parsed.items[0])).toBe(true);
    mutable.items[0]!.quantity = 99;
    expect(parsed.items[0]!.quantity).toBe(1);
    // Not I-JSON (an unsafe integer the schema would refuse anyway): zod's error, as before.
    expect(() => parseBody(wire.OfferBody, { ...structuredClone(offer), total: { amount: 2 ** 60, currency: 'EUR' } }, 'offer')).toThrow('offer: total.amount');
    // Frozen at the top only: a member could still change after the check.
    const shallow = Object.freeze({ ...structuredClone(offer) });
    const parsedShallow = parseBody(wire.OfferBody, shallow, 'offer');
    expect(parsedShallow).not.toBe(shallow);
    expect(parsedShallow.items).not.toBe(shallow.items);
  });

  it('leaves what zod changes to zod: an origin with blanks around it comes back trimmed, as before', () => {
    const body = sealed({ ...offer, origin: ' http://127.0.0.1:8451 ' });
    const parsed = parseBody(wire.OfferBody, body, 'offer');
    expect(parsed).not.toBe(body);
    expect(parsed.origin).toBe('http://127.0.0.1:8451');
  });

  it('takes only members JSON could have made: a member that is not enumerable, or one the shape lacks beside it, is zod’s', () => {
    const hiddenTerms = (extra: boolean) => {
      const { terms, ...rest } = sealed(offer);
      const body = { ...rest, ...(extra ? { extra: 1 } : {}) };
      Object.defineProperty(body, 'terms', { value: terms, enumerable: false });
      return Object.freeze(body);
    };
    // zod reads the hidden member and copies it as an ordinary one.
    const alone = hiddenTerms(false);
    const parsed = parseBody(wire.OfferBody, alone, 'offer');
    expect(parsed).not.toBe(alone);
    expect(Object.keys(parsed)).toContain('terms');
    // With a member the shape lacks, the count of members matches: only the names tell.
    expect(() => parseBody(wire.OfferBody, hiddenTerms(true), 'offer')).toThrow('Unrecognized key: "extra"');
  });

  it('refuses with zod’s own words', () => {
    const cases: [unknown, string][] = [
      [{ ...offer, extra: 1 }, 'Unrecognized key: "extra"'],
      [{ ...offer, items: [{ ...offer.items[0], quantity: 100 }] }, 'items.0.quantity'],
      [{ ...offer, nonce: 'short' }, 'nonce'],
      [JSON.parse(`{"__proto__": 1, ${JSON.stringify(offer).slice(1)}`), 'Unrecognized key'],
    ];
    for (const [value, expected] of cases) {
      const body = sealed(value);
      const zodMessage = (() => {
        const r = wire.OfferBody.safeParse(body);
        expect(r.success).toBe(false);
        const issue = r.error!.issues[0]!;
        return `offer: ${issue.path.join('.') || '$'}: ${issue.message}`;
      })();
      let thrown: unknown;
      try {
        parseBody(wire.OfferBody, body, 'offer');
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SemperError);
      expect((thrown as SemperError).code).toBe('ERR_SCHEMA');
      expect((thrown as SemperError).message).toBe(zodMessage);
      expect(zodMessage).toContain(expected);
    }
  });
});

describe('certifiedMerchant', () => {
  it("writes the certificate's expiry as toISOString does, for each of many instants and again for the same one", () => {
    const chainAt = (notAfter: Date) =>
      ({
        leaf: { commonName: 'Shop', origins: ['https://shop.example'], fingerprint: 'f', notAfter },
        root: { commonName: 'Root' },
      }) as unknown as ValidatedChain;
    const instants = fc.sample(fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }), 200);
    for (let round = 0; round < 2; round++) {
      for (const d of instants) expect(certifiedMerchant(chainAt(d)).certificateNotAfter).toBe(d.toISOString());
    }
    expect(() => certifiedMerchant(chainAt(new Date(Number.NaN)))).toThrow(RangeError);
  });
});
