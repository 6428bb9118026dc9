/**
 * The TTP's readers of request bodies (core/exchange/messages.ts TTP_REQUEST_BODIES) take a
 * verified, sealed body as it is where its schema would only copy it. Against the schemas they
 * stand in for, on generated bodies — real signed m1 and m2, sealed as the verifier seals them,
 * then a member dropped, added or moved, the exchange id or an enclosed statement spoiled, or
 * the body left unsealed — each reader accepts exactly what its schema accepts, with an equal
 * value in the same member order, and refuses the rest with the schema's own first issue.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { sealJson } from '../../../core/encoding/index.js';
import { AbortRequestBody, ComplaintBody, EXCHANGE_TYPES, ResolveRequestBody, TTP_REQUEST_BODIES } from '../../../core/exchange/messages.js';
import { signStatement, type Statement } from '../../../core/statements/index.js';

const SCHEMAS = { abort: AbortRequestBody, resolve: ResolveRequestBody, complaint: ComplaintBody } as const;
type Kind = keyof typeof SCHEMAS;

let m1: Statement;
let m2: Statement;
const EXCHANGE_ID = `${'E'.repeat(40)}x_-`;

beforeAll(async () => {
  const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
  const at = new Date(0).toISOString();
  m1 = await signStatement(
    { type: EXCHANGE_TYPES.propose, version: 1, dealId: 'deal-0123456789', issuedAt: at, body: { protocol: 'contract-signing' } },
    signer,
  );
  m2 = await signStatement({ type: EXCHANGE_TYPES.accept, version: 1, dealId: 'deal-0123456789', issuedAt: at, body: { exchangeId: EXCHANGE_ID } }, signer);
});

const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** One way to spoil (or keep) an enclosed statement. */
type Enclosed = 'valid' | 'extra' | 'move-signature' | 'bad-type' | 'version-2' | 'no-signature' | 'string' | 'null' | 'array';
function enclosed(statement: Statement, how: Enclosed): unknown {
  const s = copy(statement) as unknown as Record<string, unknown>;
  switch (how) {
    case 'valid':
      return s;
    case 'extra':
      return { ...s, extra: 1 };
    case 'move-signature': {
      const { type, ...rest } = s;
      return { ...rest, type };
    }
    case 'bad-type':
      return { ...s, type: 'Semper' };
    case 'version-2':
      return { ...s, version: 2 };
    case 'no-signature': {
      const { signature: _, ...rest } = s;
      return rest;
    }
    case 'string':
      return 'm1';
    case 'null':
      return null;
    case 'array':
      return [s];
  }
}

const ENCLOSED: Enclosed[] = [
  'valid',
  'valid',
  'valid',
  'valid',
  'extra',
  'move-signature',
  'bad-type',
  'version-2',
  'no-signature',
  'string',
  'null',
  'array',
];
const exchangeIds = fc.constantFrom<unknown>(EXCHANGE_ID, EXCHANGE_ID, EXCHANGE_ID, EXCHANGE_ID.slice(1), `${EXCHANGE_ID.slice(1)}+`, 43, null, undefined);

/** Mostly what `kind` takes (abort: no m2; resolve: m2; complaint: either), each part sometimes spoiled. */
const body = (kind: Kind) =>
  fc.record({
    exchangeId: exchangeIds,
    m1: fc.constantFrom(...ENCLOSED),
    m2: fc.oneof(
      { arbitrary: fc.constant<Enclosed | 'absent'>(kind === 'abort' ? 'absent' : 'valid'), weight: 4 },
      { arbitrary: fc.constantFrom<Enclosed | 'absent'>('absent', ...ENCLOSED), weight: 1 },
    ),
    how: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'drop', 'extra', 'move', 'move-m1', 'proto'),
    pick: fc.nat(),
    sealed: fc.constantFrom(true, true, true, false),
  });
type Generated = typeof body extends (kind: Kind) => fc.Arbitrary<infer T> ? T : never;

function build(g: Generated): unknown {
  const b: Record<string, unknown> = { exchangeId: g.exchangeId, m1: enclosed(m1, g.m1) };
  if (g.m2 !== 'absent') b.m2 = enclosed(m2, g.m2);
  const names = Object.keys(b);
  const name = names[g.pick % names.length]!;
  if (g.how === 'drop') delete b[name];
  else if (g.how === 'extra') b[['extra', 'constructor', 'x'][g.pick % 3]!] = 'x';
  else if (g.how === 'move') {
    const v = b[name];
    delete b[name];
    b[name] = v;
  } else if (g.how === 'move-m1') {
    const v = b.m1;
    delete b.m1;
    b.m1 = v;
  }
  let value: unknown = b;
  if (g.sealed) {
    const sealed = sealJson(b);
    if (!sealed.ok) return b;
    value = sealed.value;
  }
  if (g.how === 'proto' && plain(value)) value = Object.assign(Object.create({ inherited: 1 }) as object, value);
  return value;
}

describe("the TTP's request-body readers stand in for their schemas", () => {
  for (const kind of Object.keys(SCHEMAS) as Kind[]) {
    it(`${kind}: the same verdict as the schema, the same value in the same order, the same first issue (property)`, () => {
      let asIs = 0;
      let accepted = 0;
      fc.assert(
        fc.property(body(kind), (g) => {
          const value = build(g);
          const slow = SCHEMAS[kind].safeParse(value);
          const fast = TTP_REQUEST_BODIES[kind].safeParse(value);
          expect(fast.success).toBe(slow.success);
          if (fast.success && slow.success) {
            accepted++;
            if (fast.data === value) asIs++;
            expect(JSON.stringify(fast.data)).toBe(JSON.stringify(slow.data));
          } else if (!fast.success && !slow.success) {
            expect(fast.error.issues[0]).toEqual(slow.error.issues[0]);
          }
        }),
        { numRuns: 3000 },
      );
      // Both ways are reached: bodies taken as they are, and bodies only the schema takes.
      expect(asIs).toBeGreaterThan(50);
      expect(accepted - asIs).toBeGreaterThan(20);
    });
  }

  it('takes a sealed body as it is, so m1 keeps its sealed copy', () => {
    const result = sealJson({ exchangeId: EXCHANGE_ID, m1 });
    if (!result.ok) throw new Error('a signed m1 is I-JSON');
    const sealed = result.value;
    const read = TTP_REQUEST_BODIES.abort.safeParse(sealed);
    expect(read.success && read.data).toBe(sealed);
    // An unsealed body is the schema's: a copy.
    const open = { exchangeId: EXCHANGE_ID, m1: copy(m1) };
    const parsed = TTP_REQUEST_BODIES.abort.safeParse(open);
    expect(parsed.success && parsed.data).not.toBe(open);
    expect(parsed.success && parsed.data).toEqual(open);
    // Sealed statements in a body that is not itself sealed (anyone could still change it): a copy too.
    const mixed = { exchangeId: EXCHANGE_ID, m1: (sealed as { m1: unknown }).m1 };
    const fromMixed = TTP_REQUEST_BODIES.abort.safeParse(mixed);
    expect(fromMixed.success && fromMixed.data).not.toBe(mixed);
    expect(fromMixed.success && fromMixed.data).toEqual(mixed);
  });
});
