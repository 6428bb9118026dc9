/**
 * Evidence-bundle checks that no other test fails without (test/mutation/evidence.ts): an exporter
 * who repeats a CRL, a time stamp or an attachment, who brings a time stamp older than the
 * statement it is said to cover, who floods the reader, or whose export picks up another deal's
 * statements — each refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { collectStatements, EVIDENCE_LIMITS, type EvidenceBundle, parseBundleText, verifyBundle } from '../../../core/evidence/index.js';
import { encodeBase64 } from '../../../core/encoding/index.js';
import { statementDigest, type Statement } from '../../../core/statements/index.js';
import { makeEvidenceDeal, type EvidenceDealFixture } from '../../evidence/deal-fixture.js';

let f: EvidenceDealFixture;
beforeAll(async () => {
  f = await makeEvidenceDeal();
});

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const checks = (r: { problems: { check: string }[] }) => r.problems.map((p) => p.check);

describe('an exporter repeating what a bundle holds once', () => {
  it('the fixture verifies as it is (the baseline), with one CRL and one attachment', async () => {
    const r = await verifyBundle(copy(f.bundle), { roots: [f.root] });
    expect(r.ok).toBe(true);
    expect(f.bundle.crls).toHaveLength(1);
    expect(f.bundle.attachments).toHaveLength(1);
  });

  it('a CRL twice', async () => {
    const bundle = copy(f.bundle);
    bundle.crls.push(copy(bundle.crls[0]!));
    const r = await verifyBundle(bundle, { roots: [f.root] });
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ check: 'duplicate', message: 'a CRL appears twice' }));
  });

  it('an attachment twice', async () => {
    const bundle = copy(f.bundle);
    bundle.attachments.push(copy(bundle.attachments[0]!));
    const r = await verifyBundle(bundle, { roots: [f.root] });
    expect(r.ok).toBe(false);
    expect(checks(r)).toEqual(['duplicate']);
  });
});

describe('time stamps the exporter chose', () => {
  async function stamped(genTimes: Date[]): Promise<{ bundle: EvidenceBundle; first: Statement }> {
    const bundle = copy(f.bundle);
    const first = bundle.statements[0]!.statement as Statement;
    const of = await statementDigest(first);
    for (const [i] of genTimes.entries()) bundle.timestamps.push({ of, token: encodeBase64(Uint8Array.of(i + 1)) });
    return { bundle, first };
  }
  /** A stand-in RFC 3161 verifier: token n says genTimes[n - 1]. */
  const plug = (genTimes: Date[]) => async (token: Uint8Array) => ({ genTime: genTimes[token[0]! - 1]! });

  it('two tokens for one statement (the exporter may not pick the genTime it likes)', async () => {
    const issued = Date.parse((f.bundle.statements[0]!.statement as Statement).issuedAt);
    const genTimes = [new Date(issued + 1000), new Date(issued + 2000)];
    const { bundle } = await stamped(genTimes);
    const r = await verifyBundle(bundle, { roots: [f.root], verifyTimestamp: plug(genTimes) });
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ check: 'duplicate', message: expect.stringMatching(/^two time stamps for statement /) }));
    // One of them alone is fine.
    const one = await stamped(genTimes.slice(0, 1));
    expect((await verifyBundle(one.bundle, { roots: [f.root], verifyTimestamp: plug(genTimes) })).ok).toBe(true);
  });

  it('a token whose genTime is an hour before the statement says it was issued', async () => {
    const issued = Date.parse((f.bundle.statements[0]!.statement as Statement).issuedAt);
    const genTimes = [new Date(issued - 3_600_000)];
    const { bundle } = await stamped(genTimes);
    const r = await verifyBundle(bundle, { roots: [f.root], verifyTimestamp: plug(genTimes) });
    expect(r.ok).toBe(false);
    expect(r.statements[0]!.problems).toContainEqual(
      expect.objectContaining({ check: 'timestamp', message: expect.stringMatching(/is after the time stamp's/) }),
    );
  });
});

describe('limits a reader relies on', () => {
  it('more than 256 statements is refused by the schema, before any is verified', async () => {
    const bundle = copy(f.bundle);
    while (bundle.statements.length <= EVIDENCE_LIMITS.maxStatements) bundle.statements.push(copy(f.bundle.statements[0]!));
    const r = await verifyBundle(bundle, { roots: [f.root] });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ check: 'schema', message: expect.stringMatching(/^evidence bundle: statements/) })]);
    expect(r.statements).toEqual([]);
  });

  it('a bundle text over 16 MiB is refused before it is parsed', () => {
    const text = `${JSON.stringify(f.bundle)}${' '.repeat(EVIDENCE_LIMITS.maxBundleBytes)}`;
    expect(() => parseBundleText(text)).toThrow(/larger than 16777216 bytes/);
    expect(parseBundleText(JSON.stringify(f.bundle))).toEqual(f.bundle);
  });
});

describe('export', () => {
  it("collects only the deal's own statements from a state that also holds another deal's", async () => {
    const ours = f.bundle.statements.map((s) => s.statement as Statement);
    const theirs = { ...ours[0]!, dealId: 'another-deal-0001' };
    // Shaped like a statement of another deal (its signature no longer verifies, which the collector does not check).
    const collected = await collectStatements({ mine: ours.slice(0, 2), foreign: { inner: theirs } }, f.dealId);
    expect(collected.statements).toHaveLength(2);
    expect(collected.statements.every((s) => s.dealId === f.dealId)).toBe(true);
    expect(collected.otherDeals).toBe(1);
  });
});
