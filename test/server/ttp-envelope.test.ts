/**
 * The TTP's route takes a request envelope as JSON.parse made it (server/ttp/app.ts
 * requestEnvelopeAsIs) where RequestEnvelope would copy it member for member. On generated JSON
 * texts — envelopes, envelopes with other members, non-objects under `request`, members named
 * __proto__ — whatever the check takes, the schema takes too, with an equal request in the same
 * member order; and the check takes the usual envelope.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestEnvelope, requestEnvelopeAsIs } from '../../server/ttp/app.js';

const member = fc.constantFrom('request', 'request', 'type', 'body', '__proto__', 'constructor', 'x');
const value = fc.oneof(
  { arbitrary: fc.dictionary(member, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), weight: 4 },
  { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 },
);
/** A JSON text, so that members named __proto__ are own members, as in a body JSON.parse read. */
const text = fc.oneof(
  { arbitrary: value.map((request) => `{"request":${JSON.stringify(request)}}`), weight: 6 },
  {
    arbitrary: fc.tuple(member, value, value).map(([name, a, b]) => `{"request":${JSON.stringify(a)},${JSON.stringify(name)}:${JSON.stringify(b)}}`),
    weight: 2,
  },
  { arbitrary: fc.constantFrom('{"request":{"__proto__":{"a":1},"type":"x"}}', '{"__proto__":{},"request":{}}', '{"request":{}}', '[]', 'null'), weight: 1 },
);

describe("the TTP route's envelope check stands in for RequestEnvelope", () => {
  it('takes only what the schema takes, as the schema would give it (property)', () => {
    let asIs = 0;
    let schemaOnly = 0;
    fc.assert(
      fc.property(text, (t) => {
        const v = JSON.parse(t) as unknown;
        const parsed = RequestEnvelope.safeParse(v);
        if (!requestEnvelopeAsIs(v)) {
          if (parsed.success) schemaOnly++;
          return;
        }
        asIs++;
        expect(parsed.success).toBe(true);
        if (parsed.success) {
          expect(JSON.stringify(v)).toBe(JSON.stringify(parsed.data));
          expect(Object.keys(v.request)).toEqual(Object.keys(parsed.data.request));
        }
      }),
      { numRuns: 3000 },
    );
    expect(asIs).toBeGreaterThan(300);
    expect(schemaOnly).toBeGreaterThan(30);
  });

  it('leaves a request with a member named __proto__ to the schema, whose copy drops it', () => {
    const v = JSON.parse('{"request":{"__proto__":{"a":1},"type":"x"}}') as unknown;
    expect(requestEnvelopeAsIs(v)).toBe(false);
    expect(RequestEnvelope.parse(v)).toEqual({ request: { type: 'x' } });
  });
});
