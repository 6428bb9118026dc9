/**
 * The TSA (server/tsa) through its Hono app (`app.request`, no port): requests made by OpenSSL
 * and by core/timestamp, replies checked by `openssl ts -verify` and by our verifier; rejections
 * as RFC 3161 says (badAlg, badRequest, unacceptedPolicy, 415/413 still a TimeStampResp); certReq
 * honoured; serials that survive a restart; the token table append-only.
 */
import { readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTimeStampRequest,
  httpTimestamper,
  parseTimeStampRequest,
  parseTimeStampResponse,
  requestTimestamp,
  TIMESTAMP_QUERY_TYPE,
  TIMESTAMP_REPLY_TYPE,
  verifyTimeStampResponse,
  verifyTimeStampToken,
} from '../../core/timestamp/index.js';
import { CaService } from '../../server/ca/index.js';
import {
  createTsaApp,
  inProcessTimestamper,
  MAX_TSA_REQUEST_BYTES,
  openMarketplaceTsa,
  TSA_DB_FILE,
  TSA_POLICY_OID,
  type TsaService,
} from '../../server/tsa/index.js';
import { type OpensslDir, opensslDir, pem } from '../core/timestamp/helpers.js';
import { tempDataDir } from './helpers.js';

const tmp = tempDataDir('tsa');
let ca: CaService;
let tsa: TsaService;
let app: Hono;
let ssl: OpensslDir;

beforeAll(async () => {
  ca = await CaService.open({ dataDir: tmp.dir });
  tsa = await openMarketplaceTsa({ dataDir: tmp.dir, ca });
  app = createTsaApp(tsa);
  ssl = opensslDir();
  ssl.write('root.pem', pem(ca.rootCertificate));
  ssl.write('tsa.pem', pem(tsa.certificate));
  ssl.write('evidence.txt', 'order 0001: 2 guides, 37.50 EUR\n');
});

afterAll(() => {
  tsa?.close();
  ca?.close();
  ssl?.remove();
  tmp.remove();
});

async function post(body: Uint8Array<ArrayBuffer>, type = TIMESTAMP_QUERY_TYPE): Promise<{ status: number; type: string | null; body: Uint8Array }> {
  const res = await app.request('/tsa', { method: 'POST', headers: { 'content-type': type }, body });
  return { status: res.status, type: res.headers.get('content-type'), body: new Uint8Array(await res.arrayBuffer()) };
}

const sha256 = async (data: Uint8Array<ArrayBuffer>) => new Uint8Array(await crypto.subtle.digest('SHA-256', data));

describe('POST /tsa with a request made by OpenSSL', () => {
  it('answers a token OpenSSL verifies (ts -verify -queryfile -CAfile) and our verifier accepts', async () => {
    expect(ssl.run(['ts', '-query', '-data', 'evidence.txt', '-sha256', '-cert', '-out', 'req.tsq']).ok).toBe(true);
    const query = new Uint8Array(readFileSync(join(ssl.dir, 'req.tsq')));
    const res = await post(query);
    expect(res.status).toBe(200);
    expect(res.type).toBe(TIMESTAMP_REPLY_TYPE);
    ssl.write('resp.tsr', res.body);
    const verified = ssl.run(['ts', '-verify', '-in', 'resp.tsr', '-queryfile', 'req.tsq', '-CAfile', 'root.pem']);
    expect(verified.out).toContain('Verification: OK');

    const { nonce } = parseTimeStampRequest(query);
    const text = ssl.run(['ts', '-reply', '-in', 'resp.tsr', '-text']).out;
    expect(text).toContain('Status: Granted.');
    // OpenSSL prints the nonce as BN_bn2hex does: whole bytes, no leading zero byte (a random 64-bit
    // nonce whose top byte is 0 has 7 bytes; padding it to 16 digits made this test fail 1 run in 256).
    const hex = nonce!.toString(16).toUpperCase();
    expect(text).toContain(`Nonce: 0x${hex.length % 2 ? `0${hex}` : hex}\n`);
    expect(text).toMatch(/Serial number: 0x[0-9A-F]+/);
    expect(text).toContain(`Policy OID: ${TSA_POLICY_OID}`);
    expect(text).toMatch(/Accuracy: 0x01 seconds/);
    expect(text).toMatch(/Time stamp: \w{3} +\d+ \d\d:\d\d:\d\d(\.\d{1,3})? \d{4} GMT/);

    const digest = await sha256(new Uint8Array(readFileSync(join(ssl.dir, 'evidence.txt'))));
    const ours = await verifyTimeStampResponse(res.body, { digest, nonce: nonce!, roots: [ca.rootCertificate] });
    expect(ours.serialNumber).toBeGreaterThan(0n);
    expect(ours.tsa.role).toBe('tsa');
    expect(ours.policy).toBe(TSA_POLICY_OID);
    expect(ours.accuracy).toEqual({ seconds: 1 });
    expect(Math.abs(ours.genTime.getTime() - Date.now())).toBeLessThan(60_000);
    // genTime keeps its milliseconds through the GeneralizedTime (stored as issued).
    expect(tsa.issued(ours.serialNumber)?.token).toEqual(ours.token);
    expect(tsa.issued(ours.serialNumber)?.genTime).toBe(ours.genTime.toISOString());
  });

  it('honours certReq false: no certificate in the token; OpenSSL needs -untrusted tsa.pem, ours the certificate', async () => {
    expect(ssl.run(['ts', '-query', '-data', 'evidence.txt', '-sha256', '-out', 'nocert.tsq']).ok).toBe(true);
    const res = await post(new Uint8Array(readFileSync(join(ssl.dir, 'nocert.tsq'))));
    ssl.write('nocert.tsr', res.body);
    expect(ssl.run(['ts', '-verify', '-in', 'nocert.tsr', '-queryfile', 'nocert.tsq', '-CAfile', 'root.pem', '-untrusted', 'tsa.pem']).out).toContain(
      'Verification: OK',
    );
    expect(ssl.run(['ts', '-verify', '-in', 'nocert.tsr', '-queryfile', 'nocert.tsq', '-CAfile', 'root.pem']).ok).toBe(false);
    const digest = await sha256(new Uint8Array(readFileSync(join(ssl.dir, 'evidence.txt'))));
    await expect(verifyTimeStampResponse(res.body, { digest, roots: [ca.rootCertificate] })).rejects.toThrow(/neither in the token nor given/);
    const ours = await verifyTimeStampResponse(res.body, { digest, roots: [ca.rootCertificate], certificates: [tsa.certificate] });
    expect(ours.certificateIncluded).toBe(false);
  });

  it('refuses a SHA-512 imprint with rejection / badAlg, which OpenSSL reads', async () => {
    expect(ssl.run(['ts', '-query', '-data', 'evidence.txt', '-sha512', '-cert', '-out', 'sha512.tsq']).ok).toBe(true);
    const res = await post(new Uint8Array(readFileSync(join(ssl.dir, 'sha512.tsq'))));
    expect(res.status).toBe(200);
    expect(parseTimeStampResponse(res.body)).toMatchObject({ status: 2, failures: ['badAlg'], token: undefined });
    ssl.write('sha512.tsr', res.body);
    const text = ssl.run(['ts', '-reply', '-in', 'sha512.tsr', '-text']).out;
    expect(text).toContain('Status: Rejected');
    expect(text).toContain('unrecognized or unsupported algorithm identifier');
  });

  it('grants a request for its own policy (a 128-bit UUID arc, read without pkijs)', async () => {
    expect(ssl.run(['ts', '-query', '-data', 'evidence.txt', '-sha256', '-cert', '-tspolicy', TSA_POLICY_OID, '-out', 'own.tsq']).ok).toBe(true);
    const res = await post(new Uint8Array(readFileSync(join(ssl.dir, 'own.tsq'))));
    expect(parseTimeStampResponse(res.body).status).toBe(0);
    ssl.write('own.tsr', res.body);
    expect(ssl.run(['ts', '-verify', '-in', 'own.tsr', '-queryfile', 'own.tsq', '-CAfile', 'root.pem']).out).toContain('Verification: OK');
  });

  it('refuses a policy it does not issue under (unacceptedPolicy)', async () => {
    expect(ssl.run(['ts', '-query', '-data', 'evidence.txt', '-sha256', '-tspolicy', '1.2.3.4', '-out', 'policy.tsq']).ok).toBe(true);
    const res = await post(new Uint8Array(readFileSync(join(ssl.dir, 'policy.tsq'))));
    expect(parseTimeStampResponse(res.body)).toMatchObject({ status: 2, failures: ['unacceptedPolicy'] });
  });
});

describe('POST /tsa with a request made by core/timestamp', () => {
  it('answers a token both verifiers accept (through requestTimestamp)', async () => {
    const digest = await sha256(new TextEncoder().encode('payment receipt 17'));
    const nonce = 0xfedcba9876543210n;
    const fetchFn = (url: string, init: RequestInit) => Promise.resolve(app.request(url, init));
    const ours = await requestTimestamp(fetchFn, '/tsa', digest, nonce, { roots: [ca.rootCertificate] });
    expect(ours.nonce).toBe(nonce);
    ssl.write('core.tsq', buildTimeStampRequest({ digest, nonce }));
    ssl.write('core.tsr', (await post(buildTimeStampRequest({ digest, nonce }))).body);
    expect(ssl.run(['ts', '-verify', '-in', 'core.tsr', '-queryfile', 'core.tsq', '-CAfile', 'root.pem']).out).toContain('Verification: OK');
    // A reply to another request (other nonce) is refused by the client.
    await expect(
      verifyTimeStampResponse((await post(buildTimeStampRequest({ digest, nonce: 5n }))).body, { digest, nonce, roots: [ca.rootCertificate] }),
    ).rejects.toThrow(/nonce differs/);
  });

  it('refuses what is not a TimeStampReq (badRequest), another content type (415) and an oversized body (413), each as a TimeStampResp', async () => {
    const garbage = await post(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]));
    expect(garbage.status).toBe(200);
    expect(parseTimeStampResponse(garbage.body)).toMatchObject({ status: 2, failures: ['badRequest'] });
    const digest = await sha256(new Uint8Array(1));
    const wrongType = await post(buildTimeStampRequest({ digest, nonce: 1n }), 'text/plain');
    expect(wrongType.status).toBe(415);
    expect(wrongType.type).toBe(TIMESTAMP_REPLY_TYPE);
    expect(parseTimeStampResponse(wrongType.body)).toMatchObject({ status: 2, failures: ['badRequest'] });
    const big = await post(new Uint8Array(MAX_TSA_REQUEST_BYTES + 1));
    expect(big.status).toBe(413);
    expect(parseTimeStampResponse(big.body).status).toBe(2);
    // A 31-byte "SHA-256" imprint (pkijs writes what it is given).
    const short = new pkijs.TimeStampReq({
      version: 1,
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.2.1' }),
        hashedMessage: new asn1js.OctetString({ valueHex: new Uint8Array(31) }),
      }),
    });
    expect(parseTimeStampResponse((await post(new Uint8Array(short.toSchema().toBER()))).body)).toMatchObject({ status: 2, failures: ['badDataFormat'] });
  });

  it('httpTimestamper hands out verified tokens; requestTimestamp refuses a reply that is not application/timestamp-reply', async () => {
    const fetchFn = (url: string, init: RequestInit) => Promise.resolve(app.request(url, init));
    const digest = await sha256(new TextEncoder().encode('arbiter verdict 3'));
    const token = await httpTimestamper(fetchFn, '/tsa', [ca.rootCertificate]).stamp(digest);
    await expect(verifyTimeStampToken(token, { digest, roots: [ca.rootCertificate] })).resolves.toMatchObject({ certificateIncluded: true });
    // A wrong URL answers JSON 404: a refusal, not something to parse as a token.
    await expect(requestTimestamp(fetchFn, '/nowhere', digest, 1n, { roots: [ca.rootCertificate] })).rejects.toMatchObject({ code: 'ERR_TIMESTAMP_REFUSED' });
    // A TSA that refuses: the client says so with the failInfo.
    await expect(requestTimestamp(fetchFn, '/tsa', digest, 1n, { roots: [ca.rootCertificate], policy: '1.2.3' })).rejects.toThrow(/unacceptedPolicy/);
  });

  it('limits requests per client address: 429 with Retry-After, still a TimeStampResp (timeNotAvailable)', async () => {
    const limited = createTsaApp(tsa, { requestsPerMinute: 1 });
    const body = buildTimeStampRequest({ digest: await sha256(new Uint8Array(2)), nonce: 3n });
    const send = () => limited.request('/tsa', { method: 'POST', headers: { 'content-type': TIMESTAMP_QUERY_TYPE }, body });
    expect((await send()).status).toBe(200);
    const second = await send();
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(parseTimeStampResponse(new Uint8Array(await second.arrayBuffer()))).toMatchObject({ status: 2, failures: ['timeNotAvailable'] });
  });

  it('serves its chain: GET /tsa/certificate (PEM, TSA then root; DER with ?format=der) with EKU timeStamping critical', async () => {
    const res = await app.request('/tsa/certificate');
    const text = await res.text();
    expect(text.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    ssl.write('chain.pem', text);
    const x509 = ssl.run(['x509', '-in', 'chain.pem', '-noout', '-text']).out;
    expect(x509).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping/);
    const der = new Uint8Array(await (await app.request('/tsa/certificate?format=der')).arrayBuffer());
    expect(Buffer.from(der).toString('base64')).toBe(tsa.certificate);
  });
});

describe('the TSA across a restart', () => {
  it('keeps its key and certificate, and serials strictly increase (never reused)', async () => {
    const timestamper = inProcessTimestamper(tsa);
    const digest = await sha256(new TextEncoder().encode('TTP decision'));
    const first = await verifyTimeStampToken(await timestamper.stamp(digest), { digest, roots: [ca.rootCertificate] });
    const certificate = tsa.certificate;
    tsa.close();
    tsa = await openMarketplaceTsa({ dataDir: tmp.dir, ca });
    app = createTsaApp(tsa);
    expect(tsa.certificate).toBe(certificate);
    const second = await verifyTimeStampToken(await inProcessTimestamper(tsa).stamp(digest), { digest, roots: [ca.rootCertificate] });
    expect(second.serialNumber).toBeGreaterThan(first.serialNumber);
    expect(tsa.issued(first.serialNumber)).toBeDefined();
  });

  it('keeps issued tokens and serials append-only', () => {
    const db = new Database(join(tmp.dir, TSA_DB_FILE));
    try {
      expect(() => db.prepare('UPDATE tsa_tokens SET gen_time = ?').run('x')).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM tsa_tokens').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM tsa_serials').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });
});
