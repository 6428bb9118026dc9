/**
 * TTP throughput: start the TTP on loopback (real HTTP, SQLite file with synchronous=FULL),
 * fire `requests` distinct abort requests (each one a decision: verify request + m1, sign the
 * abort token, commit the record) from `concurrency` clients, and in the same run measure the
 * TTP key's raw ES256 signing rate. `ratio` = decisions per second / raw signs per second: the
 * share of the signing budget that survives verification, JSON, SQLite and HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRootCertificate } from '../core/pki/index.js';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../core/crypto/index.js';
import { canonicalBytes, randomId } from '../core/encoding/index.js';
import { nowIso, signStatement, statementDigest, type Statement } from '../core/statements/index.js';
import { EXCHANGE_TYPES, type ProposeBody } from '../core/exchange/index.js';
import type { Description } from '../core/items/index.js';
import { DEFAULT_ATTRIBUTES } from '../core/transfer/index.js';
import { startTtpServer, TtpService } from '../server/ttp/index.js';
import { ttpIssuer } from '../test/helpers/exchange.js';

export interface BenchTtpOptions {
  requests?: number;
  concurrency?: number;
  rawSigns?: number;
}

async function signed(signer: Signer, type: string, dealId: string, body: Record<string, unknown>, now: number): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(now), body }, signer)) as Statement;
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export async function benchTtp(
  options: BenchTtpOptions = {},
): Promise<{ decisionsPerSecond: number; inProcessDecisionsPerSecond: number; rawSignsPerSecond: number; ratio: number }> {
  const requests = options.requests ?? 2_000;
  const concurrency = options.concurrency ?? 16;
  const rawSigns = options.rawSigns ?? 2_000;
  const now = Date.now();
  // Whole seconds: X.509 times have no milliseconds, and a leaf must not outlive its root.
  const notBefore = new Date(Math.floor(now / 1000) * 1000 - 86_400_000);
  const notAfter = new Date(Math.floor(now / 1000) * 1000 + 365 * 86_400_000);

  const caKeys = await generateKeyPair('ES256');
  const rootCertificate = await createRootCertificate({ commonName: 'Bench CA', keys: caKeys, notBefore, notAfter });
  const ca = ttpIssuer({ root: rootCertificate, keys: caKeys }, { notBefore, notAfter });
  const dir = mkdtempSync(join(tmpdir(), 'semper-bench-ttp-'));
  const service = await TtpService.create({ ca, dbPath: join(dir, 'ttp.sqlite') });
  // 16 clients on loopback are one address: a limit far above the run's requests, which the default would stop.
  const server = await startTtpServer(service, { signedStatementsPerMinute: 1_000_000 });
  try {
    const [o, r] = await Promise.all([
      generateKeyPair('ES256').then((k) => signerFromKeyPair('ES256', k)),
      generateKeyPair('ES256').then((k) => signerFromKeyPair('ES256', k)),
    ]);
    const dealId = `bench-deal-${randomId(8)}`;
    const sig = (keyId: string): Description => ({
      kind: 'statement',
      type: 'semper.contract.signature',
      signer: { keyId },
      content: { body: { contract: 'bench contract' } },
    });
    // Prepare distinct exchanges (m1 + the originator's abort request), outside the timed part.
    const bodies: string[] = [];
    for (let i = 0; i < requests + requests / 2; i++) {
      const body: ProposeBody = {
        protocol: 'contract-signing',
        exchangeNonce: randomId(32),
        originator: { keyId: o!.keyId },
        responder: { keyId: r!.keyId },
        ttp: { keyId: service.keyId },
        originatorGives: sig(o!.keyId),
        responderGives: sig(r!.keyId),
        originatorAttributes: DEFAULT_ATTRIBUTES,
        responderAttributes: DEFAULT_ATTRIBUTES,
        deadline: now + 3_600_000,
        commitment: randomId(32),
      };
      const m1 = await signed(o!, EXCHANGE_TYPES.propose, dealId, body, now);
      const abort = await signed(o!, EXCHANGE_TYPES.abortRequest, dealId, { exchangeId: await statementDigest(m1), m1 }, now);
      bodies.push(JSON.stringify({ request: abort }));
    }
    // Warm up connections and caches.
    await fetch(`${server.url}/ttp`).then((res) => res.text());

    // The same decisions without HTTP: what the TTP logic and its SQLite commit cost alone.
    const direct = bodies.splice(requests).map((b) => (JSON.parse(b) as { request: unknown }).request);
    const tDirect = performance.now();
    await pool(direct, concurrency, async (request) => {
      const r = await service.handle(request);
      if (!r.decided) throw new Error('benchTtp: an in-process request did not decide');
    });
    const inProcessDecisionsPerSecond = direct.length / ((performance.now() - tDirect) / 1000);

    let failures = 0;
    const t0 = performance.now();
    await pool(bodies, concurrency, async (body) => {
      const res = await fetch(`${server.url}/ttp/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await res.json()) as { decided?: boolean };
      if (res.status !== 200 || json.decided !== true) failures++;
    });
    const decisionsSeconds = (performance.now() - t0) / 1000;
    if (failures) throw new Error(`benchTtp: ${failures} of ${requests} requests did not decide`);

    // The same key's raw ES256 signing rate, same concurrency, over a typical answer's bytes.
    const sample = canonicalBytes({
      type: 'semper.ttp.abort-token',
      version: 1,
      dealId,
      issuedAt: nowIso(now),
      body: { exchangeId: randomId(32), protocol: 'contract-signing', reason: 'abort-request', requestedBy: o!.keyId },
    });
    const t1 = performance.now();
    await pool(
      Array.from({ length: rawSigns }, (_, i) => i),
      concurrency,
      async () => {
        await service.signer.sign(sample);
      },
    );
    const signSeconds = (performance.now() - t1) / 1000;

    const decisionsPerSecond = requests / decisionsSeconds;
    const rawSignsPerSecond = rawSigns / signSeconds;
    return { decisionsPerSecond, inProcessDecisionsPerSecond, rawSignsPerSecond, ratio: decisionsPerSecond / rawSignsPerSecond };
  } finally {
    await server.close();
    service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
