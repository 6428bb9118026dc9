/**
 * Trusted TSAs (extension/settings/tsa-trust.ts) and the verdict time stamp they decide
 * (extension/disputes/timestamp.ts), with real RFC 3161 tokens from the marketplace TSA
 * (server/tsa): a token counts only when it verifies under the user's roots AND its signer is a
 * TSA the user trusts; another TSA's valid token is reported as untrusted, never as a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARBITER_TYPES } from '../../../core/arbiter/statements.js';
import { decodeBase64url, encodeBase64, encodeBase64url } from '../../../core/encoding/index.js';
import { verifyRfc3161Timestamp } from '../../../core/evidence/timestamps.js';
import { verifyBundle } from '../../../core/evidence/verify.js';
import { nowIso, signStatement, statementDigest } from '../../../core/statements/index.js';
import { dealBundle } from '../../../extension/disputes/bundle.js';
import { certificateToPem, fingerprintOf } from '../../../core/pki/index.js';
import { MemoryDealStore, type DealRecord } from '../../../extension/deals/records.js';
import { verdictTimestamp } from '../../../extension/disputes/timestamp.js';
import { MemoryFingerprintRecords } from '../../../extension/settings/arbiter-trust.js';
import { fetchCertificate } from '../../../extension/settings/fetch-certificate.js';
import { checkTimestamp } from '../../../extension/settings/tsa-check.js';
import { TrustedTsas, type TrustedTsa } from '../../../extension/settings/tsa-trust.js';
import { CaService } from '../../../server/ca/index.js';
import { createTsaApp, inProcessTimestamper, openMarketplaceTsa, type TsaService } from '../../../server/tsa/index.js';
import { makeTestCa } from '../../helpers/pki.js';
import { tempDataDir } from '../../server/helpers.js';
import { deal } from '../fixtures.js';

const dir = tempDataDir('tsa-trust');
const otherDir = tempDataDir('tsa-trust-other');
let ca: CaService;
let tsa: TsaService;
/** A second TSA, certified by the same CA: valid tokens, but not one the user chose. */
let other: TsaService;

beforeAll(async () => {
  ca = await CaService.open({ dataDir: dir.dir });
  tsa = await openMarketplaceTsa({ dataDir: dir.dir, ca });
  other = await openMarketplaceTsa({ dataDir: otherDir.dir, ca, commonName: 'Some Other TSA' });
});
afterAll(() => {
  other?.close();
  tsa?.close();
  ca?.close();
  dir.remove();
  otherDir.remove();
});

const digest = () => crypto.getRandomValues(new Uint8Array(32));
const stamp = async (service: TsaService, d: Uint8Array) => encodeBase64(await inProcessTimestamper(service).stamp(d));

async function trusting(...services: TsaService[]): Promise<TrustedTsas> {
  const tsas = new TrustedTsas(new MemoryFingerprintRecords<TrustedTsa>(), () => 1);
  for (const s of services) await tsas.add({ certificate: s.certificate, url: 'http://127.0.0.1:8454' });
  return tsas;
}

describe('trusted TSAs', () => {
  it('the setting takes a TSA certificate (PEM or DER) or a fingerprint, and refuses another role', async () => {
    const tsas = await trusting(tsa);
    const [added] = await tsas.list();
    expect(added).toMatchObject({ fingerprint: await fingerprintOf(tsa.certificate), commonName: expect.any(String), url: 'http://127.0.0.1:8454' });
    await tsas.add({ certificate: certificateToPem(other.certificate), url: 'http://127.0.0.1:9999/' });
    expect((await tsas.list()).map((t) => t.url).sort()).toEqual(['http://127.0.0.1:8454', 'http://127.0.0.1:9999']);
    await expect(tsas.add({ certificate: ca.rootCertificate, url: 'http://127.0.0.1:1' })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    expect(await tsas.remove(added!.fingerprint)).toBe(true);
    expect((await tsas.list()).map((t) => t.commonName)).toEqual(['Some Other TSA']);
  });

  it('a token by a trusted TSA counts (genTime); the same kind of token by a TSA not chosen is untrusted; a wrong digest or untrusted root is invalid', async () => {
    const d = digest();
    const token = await stamp(tsa, d);
    const roots = [ca.rootCertificate];
    const tsas = await (await trusting(tsa)).list();
    const trusted = await checkTimestamp(token, d, { roots, tsas });
    expect(trusted).toMatchObject({ status: 'trusted', fingerprint: await fingerprintOf(tsa.certificate) });
    expect(Date.parse((trusted as { genTime: string }).genTime)).not.toBeNaN();
    expect(await checkTimestamp(await stamp(other, d), d, { roots, tsas })).toMatchObject({
      status: 'untrusted-tsa',
      tsa: 'Some Other TSA',
      fingerprint: await fingerprintOf(other.certificate),
    });
    expect(await checkTimestamp(token, d, { roots, tsas: [] })).toMatchObject({ status: 'untrusted-tsa' });
    expect(await checkTimestamp(token, digest(), { roots, tsas })).toMatchObject({ status: 'invalid' });
    expect(await checkTimestamp(token, d, { roots: [(await makeTestCa()).root], tsas })).toMatchObject({ status: 'invalid' });
    expect(await checkTimestamp('not base64 at all!', d, { roots, tsas })).toMatchObject({ status: 'invalid' });
  });

  it('settings.fetchCertificate role tsa reads the leaf of GET <tsa>/tsa; a chain of another role is refused', async () => {
    const app = createTsaApp(tsa);
    const getJson = async (url: string) => {
      expect(url).toBe('http://127.0.0.1:8454/tsa');
      return (await app.request('/tsa')).json();
    };
    const fetched = await fetchCertificate('tsa', 'http://127.0.0.1:8454/', getJson, Date.now());
    expect(fetched).toMatchObject({
      role: 'tsa',
      url: 'http://127.0.0.1:8454',
      certificate: tsa.certificate,
      fingerprint: await fingerprintOf(tsa.certificate),
    });
    await expect(fetchCertificate('tsa', 'http://127.0.0.1:8454', async () => ({ certificateChain: [ca.rootCertificate] }), Date.now())).rejects.toMatchObject({
      code: 'ERR_CERT_UNTRUSTED',
    });
  });
});

describe("a verdict's time stamp (disputes.timestamp)", () => {
  async function setup() {
    const arbiterCa = await makeTestCa();
    const arbiter = await arbiterCa.issue({ commonName: 'Test Arbiter', role: 'arbiter' });
    const d = digest();
    const verdict = encodeBase64url(d);
    const store = new MemoryDealStore();
    const record: DealRecord = deal('completed');
    await store.create(record);
    await store.commit(record, [
      {
        dealId: record.dealId,
        direction: 'received',
        type: ARBITER_TYPES.verdict,
        statement: { signature: { signer: { kind: 'x509', chain: arbiter.chain } } } as never,
        digest: verdict,
        archivedAt: 2,
      },
    ]);
    const arbiters = new MemoryFingerprintRecords<{ fingerprint: string; url: string; addedAt: number }>();
    await arbiters.put({ fingerprint: await fingerprintOf(arbiter.chain[0]!), url: 'http://127.0.0.1:8455', addedAt: 1 });
    const asked: string[] = [];
    let answer: unknown = {};
    const deps = {
      store,
      arbiters,
      tsas: await trusting(tsa),
      roots: { ders: async () => [ca.rootCertificate] },
      getJson: async (url: string) => {
        asked.push(url);
        return answer;
      },
      checkTimestamp,
    };
    return { deps, record, verdict, d, asked, setAnswer: (a: unknown) => (answer = a), arbiters };
  }

  it('asks the trusted arbiter that signed the verdict, and checks its token against the trusted TSAs', async () => {
    const { deps, record, verdict, d, asked, setAnswer, arbiters } = await setup();
    const input = { dealId: record.dealId, verdict };
    const kept = async () => (await deps.store.archiveOf(record.dealId)).find((e) => e.digest === verdict)?.timestamp;
    setAnswer({ verdict: {}, id: verdict });
    expect(await verdictTimestamp(deps, input)).toEqual({ status: 'none' });
    expect(asked).toEqual([`http://127.0.0.1:8455/arbiter/verdicts/${verdict}`]);
    // A valid token by a TSA the user did not choose is reported, not kept.
    setAnswer({ verdict: {}, id: verdict, timestamp: await stamp(other, d) });
    expect(await verdictTimestamp(deps, input)).toMatchObject({ status: 'untrusted-tsa', tsa: 'Some Other TSA' });
    expect(await kept()).toBeUndefined();
    const token = await stamp(tsa, d);
    setAnswer({ verdict: {}, id: verdict, timestamp: token });
    expect(await verdictTimestamp(deps, input)).toMatchObject({ status: 'trusted' });
    // Kept with the verdict; a later answer never replaces it, a trusted one neither.
    expect(await kept()).toBe(token);
    setAnswer({ verdict: {}, id: verdict, timestamp: await stamp(tsa, d) });
    expect(await verdictTimestamp(deps, input)).toMatchObject({ status: 'trusted' });
    expect(await kept()).toBe(token);
    setAnswer({ verdict: {}, id: verdict, timestamp: await stamp(other, d) });
    expect(await verdictTimestamp(deps, input)).toMatchObject({ status: 'untrusted-tsa', tsa: 'Some Other TSA' });
    // A token over something else (another verdict) does not date this one.
    setAnswer({ verdict: {}, id: verdict, timestamp: await stamp(tsa, digest()) });
    expect(await verdictTimestamp(deps, input)).toMatchObject({ status: 'invalid' });
    expect(await kept()).toBe(token);
    setAnswer({ timestamp: 42 });
    await expect(verdictTimestamp(deps, input)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(verdictTimestamp(deps, { ...input, verdict: encodeBase64url(digest()) })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    // The arbiter is no longer trusted: nothing is asked of anyone.
    for (const a of await arbiters.list()) await arbiters.delete(a.fingerprint);
    asked.length = 0;
    await expect(verdictTimestamp(deps, input)).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    expect(asked).toEqual([]);
  });

  it("the deal's evidence export carries the kept token, and the bundle's check verifies it", async () => {
    const arbiterCa = await makeTestCa();
    const arbiter = await arbiterCa.issue({ commonName: 'Test Arbiter', role: 'arbiter' });
    const record: DealRecord = deal('completed');
    const statement = await signStatement(
      { type: ARBITER_TYPES.verdict, version: 1, dealId: record.dealId, issuedAt: nowIso(Date.now()), body: { decision: 'upheld' } },
      arbiter.signer,
      { signerRef: { kind: 'x509', chain: arbiter.chain } },
    );
    const verdict = await statementDigest(statement);
    const store = new MemoryDealStore();
    await store.create(record);
    await store.commit(record, [{ dealId: record.dealId, direction: 'received', type: ARBITER_TYPES.verdict, statement, digest: verdict, archivedAt: 2 }]);
    const arbiters = new MemoryFingerprintRecords<{ fingerprint: string; url: string; addedAt: number }>();
    await arbiters.put({ fingerprint: await fingerprintOf(arbiter.chain[0]!), url: 'http://127.0.0.1:8455', addedAt: 1 });
    const token = await stamp(tsa, decodeBase64url(verdict));
    const deps = {
      store,
      arbiters,
      tsas: await trusting(tsa),
      roots: { ders: async () => [ca.rootCertificate] },
      getJson: async () => ({ verdict: statement, id: verdict, timestamp: token }),
      checkTimestamp,
    };
    expect((await dealBundle(store, record.dealId, Date.now())).bundle.timestamps).toEqual([]);
    expect(await verdictTimestamp(deps, { dealId: record.dealId, verdict })).toMatchObject({ status: 'trusted' });
    const { bundle } = await dealBundle(store, record.dealId, Date.now());
    expect(bundle.timestamps).toEqual([{ of: verdict, token }]);
    const report = await verifyBundle(bundle, { roots: [arbiterCa.root], timestampRoots: [ca.rootCertificate], verifyTimestamp: verifyRfc3161Timestamp });
    expect(report.timestamps).toEqual([{ of: verdict, status: 'verified', genTime: expect.any(String) }]);
    expect(report.problems).toEqual([]);
  });
});
