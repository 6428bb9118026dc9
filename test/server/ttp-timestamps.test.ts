/**
 * The TTP's decisions are time-stamped (server/storage/statement-stamps.ts): after a deciding answer
 * has left, the marketplace's kind of TSA stamps it; the evidence export carries the token, and
 * verifyBundle with the RFC 3161 verifier checks it and dates the decision by the TSA's genTime.
 * A TSA that fails costs the decision nothing: the answer is the same, only unstamped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceBundle, verifyBundle, verifyRfc3161Timestamp } from '../../core/evidence/index.js';
import { statementDigest, type Statement } from '../../core/statements/index.js';
import { CaService } from '../../server/ca/index.js';
import { StatementStamps } from '../../server/storage/statement-stamps.js';
import { inProcessTimestamper, openMarketplaceTsa, type TsaService } from '../../server/tsa/index.js';
import { createTtpApp, TtpService } from '../../server/ttp/index.js';
import { T0, type Keys, type Scenario } from '../protocols/fixtures.js';
import { tempDataDir } from './helpers.js';
import { contractSetup, prepareExchanges } from './ttp-fixtures.js';

const tmp = tempDataDir('ttp-timestamps');
let keys: Keys;
let sc: Scenario;
let ca: CaService;
let tsa: TsaService;
const clock = () => T0 + 1_000;

beforeAll(async () => {
  ({ keys, sc } = await contractSetup());
  // The TSA on the deal's clock: a decision issued after the token's genTime would be refused (backdating).
  ca = await CaService.open({ dataDir: tmp.dir, now: clock });
  tsa = await openMarketplaceTsa({ dataDir: tmp.dir, ca, now: clock });
});
afterAll(() => {
  tsa?.close();
  ca?.close();
  tmp.remove();
});

async function decide(stamps: StatementStamps, file: string) {
  const svc = new TtpService({ signer: keys.ttp, certificateChain: keys.ttpChain, trustRoots: [keys.root], store: { path: `${tmp.dir}/${file}` }, clock });
  const app = createTtpApp(svc, { stamps, now: clock });
  const [ex] = await prepareExchanges(sc, 1, 11);
  const res = await app.request('/ttp/requests', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request: ex!.resolve }),
  });
  expect(res.status).toBe(200);
  const { answer } = (await res.json()) as { answer: Statement };
  await stamps.idle();
  const bundle = EvidenceBundle.parse(await (await app.request(`/ttp/exchanges/${ex!.exchangeId}/evidence`)).json());
  return { svc, answer, bundle };
}

describe('time stamps over TTP decisions', () => {
  it('the resolution is stamped once; the export carries the token; verifyBundle dates it by the TSA', async () => {
    const stamps = StatementStamps.open({ dataDir: tmp.dir, party: 'ttp-a', timestamper: inProcessTimestamper(tsa) });
    const { svc, answer, bundle } = await decide(stamps, 'ttp-a.sqlite');
    const of = await statementDigest(answer);
    expect(bundle.timestamps.map((t) => t.of)).toEqual([of]);
    const report = await verifyBundle(bundle, { roots: [keys.root], timestampRoots: [ca.rootCertificate], verifyTimestamp: verifyRfc3161Timestamp });
    expect(report.ok).toBe(true);
    expect(report.timestamps).toMatchObject([{ of, status: 'verified' }]);
    const decision = report.statements.find((s) => s.digest === of)!;
    expect(decision.timeBasis).toBe('time-stamp');
    // Stamped once: a second stamp of the same statement keeps the first token.
    const first = stamps.tokenOf(of);
    await stamps.stamp(answer);
    expect(stamps.tokenOf(of)).toBe(first);
    // A token from a TSA nobody trusts does not date anything.
    const untrusted = await verifyBundle(bundle, { roots: [keys.root], verifyTimestamp: verifyRfc3161Timestamp });
    expect(untrusted.timestamps[0]!.status).toBe('failed');
    svc.close();
    await stamps.close();
  });

  it('a TSA that fails costs the decision nothing: same answer, no token, the failure reported', async () => {
    const failures: unknown[] = [];
    const stamps = StatementStamps.open({
      dataDir: tmp.dir,
      party: 'ttp-b',
      timestamper: { stamp: async () => Promise.reject(new Error('TSA down')) },
      onError: (e) => failures.push(e),
    });
    const { svc, bundle } = await decide(stamps, 'ttp-b.sqlite');
    expect(bundle.timestamps).toEqual([]);
    expect(failures).toHaveLength(1);
    svc.close();
    await stamps.close();
  });
});
