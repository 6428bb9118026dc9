/**
 * isStatementEnvelope (core/statements/schema.ts) against the schema it stands in for: on generated
 * envelopes — mostly valid, each field sometimes invalid, then a member dropped, added or moved at
 * some level — it says true exactly when StatementEnvelope accepts the value and parses it to an
 * equal copy with the same member order. verifyStatement takes the schema's way whenever it says false.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { sealJson } from '../../../core/encoding/index.js';
import { isStatementEnvelope, signStatement, StatementEnvelope, verifyStatement } from '../../../core/statements/index.js';

/** Mostly `valid`, sometimes anything of `other`. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: other, weight: 1 });
const chars = (alphabet: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });

const B64U = 'ABCXYZabcxyz0189-_';
const junk = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.integer(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const coordinate = mostly(chars(B64U, 43, 43), fc.oneof(chars(B64U, 42, 44), chars(`${B64U}+/=.`, 43, 43), junk));
const b64u = mostly(chars(B64U, 0, 12), fc.oneof(chars(`${B64U}+/=.`, 1, 6), junk));
const b64 = mostly(
  fc.tuple(chars('ABCxyz0189+/', 1, 12), fc.constantFrom('', '=', '==')).map(([s, pad]) => s + pad),
  fc.oneof(fc.constantFrom('', '=', 'AB===', 'A=B', 'AB-_'), junk),
);
const jwk = fc.oneof(
  fc.record({
    kty: mostly(fc.constant('EC'), fc.constantFrom('OKP', 'ec')),
    crv: mostly(fc.constant('P-256'), fc.constantFrom('Ed25519', 'P-384')),
    x: coordinate,
    y: coordinate,
  }),
  fc.record({ kty: mostly(fc.constant('OKP'), fc.constantFrom('EC')), crv: mostly(fc.constant('Ed25519'), fc.constantFrom('P-256')), x: coordinate }),
);
const signer = fc.oneof(
  fc.record({
    kind: mostly(fc.constant('x509'), fc.constantFrom('jwk', 'webauthn')),
    chain: mostly(fc.array(b64, { minLength: 1, maxLength: 5 }), fc.oneof(fc.array(b64, { maxLength: 7 }), junk)),
  }),
  fc.record({ kind: mostly(fc.constant('jwk'), fc.constantFrom('x509', 'webauthn')), jwk: mostly(jwk, junk) }),
  fc.record({
    kind: mostly(fc.constant('webauthn'), fc.constantFrom('jwk')),
    jwk: mostly(jwk, junk),
    credentialId: mostly(chars(B64U, 1, 10), fc.oneof(fc.constant(''), junk)),
    rpId: mostly(fc.string({ minLength: 1, maxLength: 20 }), fc.oneof(fc.constant(''), fc.constant('r'.repeat(256)), fc.constant('r'.repeat(257)), junk)),
  }),
);
const signature = fc.oneof(
  fc.record({ alg: mostly(fc.constantFrom('ES256', 'EdDSA'), fc.constantFrom('webauthn-ES256', 'none', 'es256')), signer: mostly(signer, junk), value: b64u }),
  fc.record({
    alg: mostly(fc.constant('webauthn-ES256'), fc.constantFrom('ES256', 'EdDSA')),
    signer: mostly(signer, junk),
    value: b64u,
    authenticatorData: b64u,
    clientDataJSON: b64u,
  }),
);
const issuedAt = mostly(
  fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.oneof(
    fc.constantFrom(
      '2028-02-29T10:00:00.000Z',
      '2027-02-29T10:00:00.000Z',
      '2026-11-30T13:00:00Z',
      '2026-11-30T13:00:00.123456Z',
      '2026-11-30T13:00:00.000+01:00',
      '2026-11-30 13:00:00.000Z',
      '2026-11-30T24:00:00.000Z',
      '2026-11-30T13:00:00.000z',
    ),
    junk,
  ),
);
const envelope = fc.record({
  type: mostly(
    fc.constantFrom('semper.offer', 'semper.order', 'semper.fair-offer', 'semper.x.y-Z'),
    fc.oneof(fc.constantFrom('semper', 'Semper.offer', 'semper.1', 'semper.offer.'), junk),
  ),
  version: mostly(fc.constant(1), fc.constantFrom(2, 0, '1', 1.5)),
  dealId: mostly(
    fc.string({ minLength: 8, maxLength: 30 }),
    fc.oneof(fc.string({ maxLength: 7 }), fc.constant('d'.repeat(128)), fc.constant('d'.repeat(129)), junk),
  ),
  issuedAt,
  body: mostly(
    fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    fc.oneof(fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), junk),
  ),
  signature: mostly(signature, junk),
});

type Level = 'envelope' | 'signature' | 'signer' | 'jwk';
const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Drop, add or move (to the end) a member of one level, or leave the value as generated. */
function mutate(value: Record<string, unknown>, how: 'none' | 'drop' | 'extra' | 'move', level: Level, pick: number): Record<string, unknown> {
  if (how === 'none') return value;
  const at: Record<Level, (v: Record<string, unknown>) => unknown> = {
    envelope: (v) => v,
    signature: (v) => v.signature,
    signer: (v) => (plain(v.signature) ? v.signature.signer : undefined),
    jwk: (v) => (plain(v.signature) && plain(v.signature.signer) ? v.signature.signer.jwk : undefined),
  };
  const target = at[level](value);
  if (!plain(target)) return value;
  const names = Object.keys(target);
  const name = names[pick % Math.max(names.length, 1)];
  if (how === 'extra') target[['extra', 'constructor', 'x'][pick % 3]!] = 'x';
  else if (name !== undefined && how === 'drop') delete target[name];
  else if (name !== undefined && how === 'move') {
    const v = target[name];
    delete target[name];
    target[name] = v;
  }
  return value;
}

describe('isStatementEnvelope stands in for StatementEnvelope', () => {
  it('is true exactly when the schema accepts and parses to an equal copy in the same member order (property)', () => {
    let accepted = 0;
    let acceptedOutOfOrder = 0;
    fc.assert(
      fc.property(
        envelope,
        fc.constantFrom('none', 'none', 'none', 'drop', 'extra', 'move'),
        fc.constantFrom<Level>('envelope', 'signature', 'signer', 'jwk'),
        fc.nat(),
        (generated, how, level, pick) => {
          const value = mutate(generated as Record<string, unknown>, how, level, pick);
          const parsed = StatementEnvelope.safeParse(value);
          const sameCopy = parsed.success && JSON.stringify(parsed.data) === JSON.stringify(value) && parsed.data.body === value.body;
          const fast = isStatementEnvelope(value);
          if (fast) accepted++;
          if (parsed.success && !sameCopy) acceptedOutOfOrder++;
          expect(fast).toBe(sameCopy);
          // What verifyStatement runs it on: the sealed copy, which must read the same.
          const sealed = sealJson(value);
          if (sealed.ok) expect(isStatementEnvelope(sealed.value)).toBe(fast);
        },
      ),
      { numRuns: 4000 },
    );
    // The generator reaches both sides: envelopes the fast check takes, and ones only the schema takes.
    expect(accepted).toBeGreaterThan(200);
    expect(acceptedOutOfOrder).toBeGreaterThan(20);
  });

  it('an envelope the fast check refuses for member order still verifies, through the schema', async () => {
    const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const st = await signStatement({ type: 'semper.test', version: 1, dealId: 'deal-0123456789', issuedAt: new Date(0).toISOString(), body: { a: 1 } }, signer);
    const { signature, ...rest } = st;
    const reordered = { signature: { value: signature.value, signer: signature.signer, alg: signature.alg }, ...rest };
    expect(isStatementEnvelope(reordered)).toBe(false);
    const v = await verifyStatement(reordered);
    expect(Object.keys(v.statement)).toEqual(['type', 'version', 'dealId', 'issuedAt', 'body', 'signature']);
    expect(Object.keys(v.statement.signature)).toEqual(['alg', 'signer', 'value']);
  });
});
