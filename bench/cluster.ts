/**
 * Several processes per party (issue 10): TTP decisions/s and bank deposits/s over HTTP on loopback,
 * for SQLite and for PostgreSQL with 1, 2 and 4 processes behind one address (server/cluster.ts),
 * each with its ratio to the single-process SQLite figure of the same run.
 *
 * PostgreSQL is a throwaway cluster with fsync on (scripts/postgres-cluster.ts, durable), so a
 * commit is on disk before the answer leaves, as with SQLite's synchronous=FULL. Every TTP request
 * is a distinct exchange (a decision, one row); every deposit a distinct coin (one spent-coin row,
 * a posting, a deposit). The coins are minted with the denomination key read from the bank's
 * database (bench only: the ledger's invariant is not the point here). The clients run in this
 * process with CONCURRENCY requests in flight; on a machine with few cores they compete with the
 * parties for the CPU, which caps what more processes can show.
 */
import { constants, createPrivateKey, randomBytes, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { jwkThumbprint, toPublicJwk } from '../core/crypto/index.js';
import { encodeBase64url, randomId } from '../core/encoding/index.js';
import { type Coin, coinMessage, type SpendableCoin, signSpend } from '../core/payment/cash/index.js';
import type { Statement } from '../core/statements/index.js';
import { freshDatabase, postgresBin, startCluster as startPostgres } from '../scripts/postgres-cluster.js';
import { openMarketplaceBank } from '../server/bank/index.js';
import { CaService } from '../server/ca/index.js';
import { startCluster, stopCluster } from '../test/helpers/party-cluster.js';
import { type Figure, fmt, pool } from './harness.js';
import { abortRequests } from './ttp-requests.js';

const CONCURRENCY = Number(process.env.BENCH_CLUSTER_CONCURRENCY ?? 32);
const TTP_REQUESTS = Number(process.env.BENCH_CLUSTER_TTP_REQUESTS ?? 1_000);
const DEPOSITS = Number(process.env.BENCH_CLUSTER_DEPOSITS ?? 600);
const PROCESSES = (process.env.BENCH_CLUSTER_PROCESSES ?? '1,2,4').split(',').map(Number);

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`bench cluster: ${res.status} ${text.slice(0, 200)}`);
}

async function ttpRate(processes: number, databaseUrl: string | undefined): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'semper-bench-cluster-'));
  const c = await startCluster('ttp', { processes, dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
  try {
    const { keyId } = (await (await fetch(`${c.url}/ttp`)).json()) as { keyId: string };
    const bodies = (await abortRequests(keyId, TTP_REQUESTS + 50)).map((request) => JSON.stringify({ request }));
    // Warm up every worker (JIT, pool connections) before timing.
    await pool(bodies.slice(0, 50), CONCURRENCY, (b) => post(`${c.url}/ttp/requests`, b));
    return await pool(bodies.slice(50), CONCURRENCY, (b) => post(`${c.url}/ttp/requests`, b));
  } finally {
    await stopCluster(c);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function depositRate(processes: number, databaseUrl: string | undefined): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'semper-bench-cluster-'));
  const c = await startCluster('bank', { processes, dataDir, ...(databaseUrl ? { databaseUrl } : {}), args: ['--denominations', '100', '--currency', 'CHF'] });
  const ca = await CaService.open({ dataDir });
  const bank = await openMarketplaceBank({ dataDir, ca, currency: 'CHF', rotation: { values: [100] }, ...(databaseUrl ? { databaseUrl } : {}) }).finally(() =>
    ca.close(),
  );
  try {
    const shopPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const shopJwk = toPublicJwk(await crypto.subtle.exportKey('jwk', shopPair.publicKey));
    await bank.openAccount(shopJwk);
    const shopKeyId = await jwkThumbprint(shopJwk);
    const row = (await sql<{ id: string; pkcs8: Buffer }>`SELECT id, pkcs8 FROM denominations WHERE value = 100`.execute(bank.database.db)).rows[0]!;
    const rsaPrivate = createPrivateKey({ key: row.pkcs8, format: 'der', type: 'pkcs8' });
    const now = Date.now();
    const bodies: string[] = [];
    for (let i = 0; i < DEPOSITS + 30; i++) {
      const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
      const publicJwk = toPublicJwk(await crypto.subtle.exportKey('jwk', pair.publicKey)) as Coin['publicJwk'];
      const prefix = randomBytes(32);
      const message = Buffer.concat([prefix, coinMessage(row.id, await jwkThumbprint(publicJwk))]);
      const signature = nodeSign('sha384', message, { key: rsaPrivate, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
      const coin: SpendableCoin = {
        coin: { denominationId: row.id, publicJwk, prefix: encodeBase64url(prefix), signature: encodeBase64url(signature) },
        privateJwk,
      };
      const spend = (await signSpend(coin, { amount: 100, currency: 'CHF' }, { payee: shopKeyId, reference: `bench-deal-${randomId(10)}`, now })) as Statement;
      bodies.push(JSON.stringify({ spends: [spend] }));
    }
    await pool(bodies.slice(0, 30), CONCURRENCY, (b) => post(`${c.url}/bank/deposit`, b));
    return await pool(bodies.slice(30), CONCURRENCY, (b) => post(`${c.url}/bank/deposit`, b));
  } finally {
    await bank.close();
    await stopCluster(c);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchCluster(): Promise<{ lines: string[]; figures: Figure[] }> {
  const pg = postgresBin() ? startPostgres({ durable: true }) : null;
  const lines: string[] = [];
  const figures: Figure[] = [];
  try {
    const engines: [string, () => Promise<string | undefined>][] = [['SQLite', async () => undefined]];
    if (pg) engines.push(['PostgreSQL', () => freshDatabase(pg.url, 'bench')]);
    else lines.push('PostgreSQL is not installed: SQLite only (apt-get install postgresql)');
    let ttpBase = 0;
    let bankBase = 0;
    for (const [engine, database] of engines) {
      for (const n of PROCESSES) {
        // SQLite with several processes: one file, one writer at a time (the TTP's group commit per process).
        const ttp = await ttpRate(n, await database());
        const deposits = await depositRate(n, await database());
        if (engine === 'SQLite' && n === 1) [ttpBase, bankBase] = [ttp, deposits];
        const ratio = (v: number, base: number) => (base ? `${fmt(v / base)} x` : '-');
        lines.push(
          `${engine.padEnd(10)} ${n} process${n === 1 ? ' ' : 'es'}: TTP ${fmt(ttp).padStart(5)} decisions/s (${ratio(ttp, ttpBase)} SQLite×1), bank ${fmt(deposits).padStart(5)} deposits/s (${ratio(deposits, bankBase)} SQLite×1)`,
        );
        if (n > 1 || engine !== 'SQLite') {
          figures.push({
            figure: `TTP decisions/s, ${engine}, ${n} processes`,
            ratio: ttp / ttpBase,
            unit: '× single-process SQLite',
            goal: { op: '>=', value: 0 },
            detail: `${fmt(ttp)} /s vs ${fmt(ttpBase)} /s`,
          });
          figures.push({
            figure: `bank deposits/s, ${engine}, ${n} processes`,
            ratio: deposits / bankBase,
            unit: '× single-process SQLite',
            goal: { op: '>=', value: 0 },
            detail: `${fmt(deposits)} /s vs ${fmt(bankBase)} /s`,
          });
        }
      }
    }
    lines.push(`(${CONCURRENCY} requests in flight from the bench process; ${TTP_REQUESTS} TTP requests and ${DEPOSITS} deposits per run after a warm-up)`);
    return { lines, figures };
  } finally {
    pg?.stop();
  }
}
