/**
 * Several processes of one party behind one address (issue 10): Node's `cluster` — the primary
 * accepts the connections on the party's port and hands them round-robin to N worker processes,
 * each a whole TTP, bank or CA over the one database named by SEMPER_DATABASE_URL (PostgreSQL; several
 * processes on one SQLite file work too, one writer at a time).
 *
 *   SEMPER_DATABASE_URL=postgres://… npx tsx server/cluster.ts ttp  --processes 4 --port 8444 --data-dir .semper-data
 *   SEMPER_DATABASE_URL=postgres://… npx tsx server/cluster.ts bank --processes 4 --port 8445 --data-dir .semper-data
 *   SEMPER_DATABASE_URL=postgres://… npx tsx server/cluster.ts ca   --processes 2 --port 8450 --data-dir .semper-data
 *
 * The CA keeps its root key in its database (ca.sqlite, or PostgreSQL with the URL): its primary
 * makes the root there once, every worker loads it. For the CA `--rate` is the registration
 * attempts per code (or client address) and minute, per process.
 *
 * Workers hold no state of their own that matters: a decision, a spent coin, a posting lives in
 * the database, and every exactly-once rule is the database's (server/storage/database.ts). What
 * each worker needs is the party's identity (key and certificate), the same in every process:
 * the primary opens the party once before forking — that makes the identity in the data directory
 * (from the marketplace CA kept there, ca.sqlite, as `npm start` does) and migrates the database —
 * and the workers then only load it. Per-process state: the signing rate limit (each process
 * counts its own clients, so N processes allow N times the rate), and no time-stamping (the
 * marketplace's TSA runs in `npm start`'s process only).
 *
 * The primary prints one line `{"url": "http://127.0.0.1:<port>", "pids": [...]}` when every
 * worker listens, restarts a worker that dies, and on SIGTERM stops them all.
 */
import cluster from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { SemperError } from '../core/errors.js';
import { createBankApp, openMarketplaceBank } from './bank/index.js';
import { CaService, createCaApp } from './ca/index.js';
import { assertLoopback, listen, urlFor } from './http/listen.js';
import { DATABASE_URL_ENV } from './storage/database.js';
import { createTtpApp, openMarketplaceTtp } from './ttp/index.js';

const Config = z.strictObject({
  party: z.enum(['ttp', 'bank', 'ca']),
  processes: z.number().int().min(1).max(64),
  host: z.string(),
  port: z.number().int().min(0).max(65_535),
  dataDir: z.string().min(1),
  databaseUrl: z.string().optional(),
  /** Requests per client address per minute, per process (http/rate-limit.ts). */
  signedStatementsPerMinute: z.number().int().positive().optional(),
  /** The bank: coin values it issues (default: the marketplace's), TTP key ids whose revocation orders it honours. */
  denominations: z.array(z.number().int().positive()).optional(),
  trustedTtps: z.array(z.string()).optional(),
  currency: z.string().length(3).optional(),
});
type Config = z.infer<typeof Config>;

const CONFIG_ENV = 'SEMPER_CLUSTER_CONFIG';
const ROOT_ENV = 'SEMPER_CLUSTER_ROOT';

/** The CA as the workers see it: the root only; an identity that would need a new certificate is the primary's job. */
function rootOnly(rootCertificate: string) {
  const refuse = (): never => {
    throw new SemperError('ERR_INTERNAL', 'a cluster worker found no valid identity: restart the cluster so that its primary renews it');
  };
  return { rootCertificate, issueTtpCertificate: refuse, issueBankCertificate: refuse };
}

/** Open the party as configured; the CA is the marketplace's (primary) or just its root (workers). */
async function openParty(
  config: Config,
  ca: ReturnType<typeof rootOnly> | CaService,
): Promise<{ app: { fetch: (request: Request, env?: unknown) => Response | Promise<Response> }; close(): Promise<void>; listening?(url: string): void }> {
  const dataDir = resolve(config.dataDir);
  const limit = config.signedStatementsPerMinute !== undefined ? { signedStatementsPerMinute: config.signedStatementsPerMinute } : {};
  if (config.party === 'ca') {
    const service = await CaService.open({ dataDir, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
    const app = createCaApp(service, config.signedStatementsPerMinute !== undefined ? { registrationAttemptsPerMinute: config.signedStatementsPerMinute } : {});
    return { app, close: () => service.close(), listening: (url) => service.publishCrlAt(`${url}/ca/crl.der`) };
  }
  if (config.party === 'ttp') {
    const ttp = await openMarketplaceTtp({ dataDir, ca, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
    return { app: createTtpApp(ttp, limit), close: async () => ttp.close() };
  }
  const bank = await openMarketplaceBank({
    dataDir,
    ca,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    ...(config.currency ? { currency: config.currency } : {}),
    ...(config.trustedTtps ? { trustedTtps: config.trustedTtps } : {}),
    ...(config.denominations ? { rotation: { values: config.denominations } } : {}),
  });
  return { app: createBankApp(bank, limit), close: async () => bank.close() };
}

/** V8's young generation per semi-space for the workers, in MB, unless the operator set one. */
export const WORKER_SEMI_SPACE_MB = 8;

/**
 * The workers' Node flags: the primary's, and a smaller young generation than V8's default (16 MB
 * per semi-space in Node 20) unless --max-semi-space-size is already given (flags or NODE_OPTIONS).
 * Under load a worker's peak RSS followed the young generation: the TTP's 149–156 MB at 16 MB,
 * 141 MB at 8, with the same decisions/s (`npm run bench`, docs/speed.md; issue 13's ≤ 150 MB).
 */
export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((flag) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(flag));
  return given ? [...execArgv] : [...execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];
}

/** The primary: prepare the identity and the schema once, fork the workers, report the address. */
export async function runPrimary(config: Config): Promise<void> {
  assertLoopback(config.host);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The CA party's own register (PostgreSQL with a URL): its root is made and its schema migrated here, once.
  const ca = await CaService.open({ dataDir, ...(config.party === 'ca' && config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
  try {
    if (config.party !== 'ca') await (await openParty(config, ca)).close();
  } finally {
    await ca.close();
  }
  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
  const env = { [CONFIG_ENV]: JSON.stringify(config), [ROOT_ENV]: ca.rootCertificate };
  let stopping = false;
  let port = config.port;
  const listening = new Set<number>();
  let reported = false;
  const fork = () => cluster.fork(env);
  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    port = address.port;
    if (!reported && listening.size === config.processes) {
      reported = true;
      const pids = Object.values(cluster.workers ?? {}).map((w) => w?.process.pid);
      process.stdout.write(`${JSON.stringify({ url: urlFor(config.host, port), pids })}\n`);
    }
  });
  cluster.on('exit', (worker) => {
    listening.delete(worker.id);
    // A worker that died is replaced; what it had decided is in the database.
    if (!stopping) fork();
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    const exit = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    };
    cluster.on('exit', exit);
    exit();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < config.processes; i++) fork();
}

/** A worker: the party over the shared database, listening on the primary's port. */
async function runWorker(): Promise<void> {
  const config = Config.parse(JSON.parse(process.env[CONFIG_ENV] ?? '{}'));
  const root = process.env[ROOT_ENV];
  if (!root) throw new SemperError('ERR_INTERNAL', `${ROOT_ENV} is not set`);
  const party = await openParty(config, rootOnly(root));
  // Port 0: every worker gets the same port, the one the primary opened for the first.
  const server = await listen({ host: config.host, port: config.port, fetch: (request, env) => party.app.fetch(request, env) });
  party.listening?.(urlFor(config.host, server.port));
  process.on('SIGTERM', () => {
    void server
      .close()
      .then(() => party.close())
      .finally(() => process.exit(0));
  });
}

function parseArgs(argv: string[]): Config {
  const [party, ...rest] = argv;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) flags.set(rest[i]!.replace(/^--/, ''), rest[i + 1] ?? '');
  const list = (name: string) => flags.get(name)?.split(',').filter(Boolean);
  return Config.parse({
    party,
    processes: Number(flags.get('processes') ?? 2),
    host: flags.get('host') ?? '127.0.0.1',
    port: Number(flags.get('port') ?? 0),
    dataDir: flags.get('data-dir') ?? '.semper-data',
    ...(process.env[DATABASE_URL_ENV] ? { databaseUrl: process.env[DATABASE_URL_ENV] } : {}),
    ...(flags.has('rate') ? { signedStatementsPerMinute: Number(flags.get('rate')) } : {}),
    ...(list('denominations') ? { denominations: list('denominations')!.map(Number) } : {}),
    ...(list('trusted-ttps') ? { trustedTtps: list('trusted-ttps') } : {}),
    ...(flags.has('currency') ? { currency: flags.get('currency') } : {}),
  });
}

if (cluster.isWorker && process.env[CONFIG_ENV]) {
  runWorker().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (import.meta.url === `file://${process.argv[1]}`) {
  runPrimary(parseArgs(process.argv.slice(2))).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
