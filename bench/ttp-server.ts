/**
 * The TTP bench's in-process part, in a process of its own (forked by bench/ttp.ts with an IPC
 * channel): a fresh CA and TTP on a SQLite file (WAL, synchronous=FULL); it measures, with the
 * TTP's own key, the crypto-only decision rate (2 ES256 verifies + 1 ES256 sign per decision, 16
 * in flight) and the in-process decision rate (TtpService.handle, no HTTP). The HTTP load run is
 * against the built TTP (scripts/build-server.ts) in a process that did nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, signerFromKeyPair, verifyRaw } from '../core/crypto/index.js';
import { canonicalBytes } from '../core/encoding/index.js';
import { createRootCertificate } from '../core/pki/index.js';
import { signingInput } from '../core/statements/index.js';
import { TtpService } from '../server/ttp/index.js';
import { ttpIssuer } from '../test/helpers/exchange.js';
import { pool } from './harness.js';
import { abortRequests } from './ttp-requests.js';

const CONCURRENCY = Number(process.env.BENCH_TTP_CONCURRENCY ?? 16);
const IN_PROCESS = Number(process.env.BENCH_TTP_IN_PROCESS ?? 1000);
const send = (m: unknown) => process.send!(m);

const now = Date.now();
const notBefore = new Date(Math.floor(now / 1000) * 1000 - 86_400_000);
const notAfter = new Date(Math.floor(now / 1000) * 1000 + 365 * 86_400_000);
const caKeys = await generateKeyPair('ES256');
const rootCertificate = await createRootCertificate({ commonName: 'Bench CA', keys: caKeys, notBefore, notAfter });
const ca = ttpIssuer({ root: rootCertificate, keys: caKeys }, { notBefore, notAfter });
const dir = mkdtempSync(join(tmpdir(), 'semper-bench-ttp-'));
const service = await TtpService.create({ ca, dbPath: join(dir, 'ttp.sqlite') });

// Crypto-only floor: per decision, verify the request and m1, sign the answer.
const sample = (await abortRequests(service.keyId, 1, now))[0]!;
const requestInput = signingInput(sample);
const m1 = (sample.body as { m1: typeof sample }).m1;
const m1Input = signingInput(m1);
const other = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
const requestSig = await other.sign(requestInput);
const m1Sig = await other.sign(m1Input);
const answerInput = canonicalBytes({
  type: 'semper.ttp.abort-token',
  version: 1,
  dealId: sample.dealId,
  issuedAt: sample.issuedAt,
  body: { exchangeId: 'x'.repeat(43) },
});
const floorN = 2000;
const floorOp = async () => {
  if (!(await verifyRaw('ES256', other.publicJwk, requestInput, requestSig))) throw new Error('floor: verify');
  if (!(await verifyRaw('ES256', other.publicJwk, m1Input, m1Sig))) throw new Error('floor: verify');
  await service.signer.sign(answerInput);
};
await pool(Array.from({ length: 200 }), CONCURRENCY, floorOp);
/** CPU time of this process (all threads, WebCrypto's pool and SQLite's writer included) per op, ms. */
const cpuPerOp = async (count: number, run: () => Promise<number>): Promise<[number, number]> => {
  const cpu0 = process.cpuUsage();
  const perSecond = await run();
  const cpu = process.cpuUsage(cpu0);
  return [perSecond, (cpu.user + cpu.system) / 1000 / count];
};
const [cryptoFloorPerSecond, cryptoFloorCpuMs] = await cpuPerOp(floorN, () => pool(Array.from({ length: floorN }), CONCURRENCY, floorOp));

// In process: the TTP's check, decision, signature and durable commit, no HTTP.
// Warmed up as the floor and the HTTP clients are (not counted).
const warmUp = await abortRequests(service.keyId, 300, now);
await pool(warmUp, CONCURRENCY, async (request) => void (await service.handle(request)));
const direct = await abortRequests(service.keyId, IN_PROCESS, now);
const [inProcessPerSecond, inProcessCpuMs] = await cpuPerOp(direct.length, () =>
  pool(direct, CONCURRENCY, async (request) => {
    const r = await service.handle(request);
    if (!r.decided) throw new Error('bench TTP: an in-process request did not decide');
  }),
);

process.on('message', (m: { type: string }) => {
  if (m.type === 'exit') {
    service.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
});
send({ type: 'ready', cryptoFloorPerSecond, cryptoFloorCpuMs, inProcessPerSecond, inProcessCpuMs });
