/**
 * TTP throughput (issue 13): durable decisions per second over HTTP, with the clients in another
 * process, against the TTP's own crypto-only decision rate (2 ES256 verifies + 1 ES256 sign per
 * decision, 16 in flight) measured in the TTP's process in the same run; and the TTP's peak RSS
 * during the HTTP load run. The TTP (bench/ttp-server.ts) and its clients (bench/ttp-clients.ts)
 * are forked processes; every request is a distinct exchange, so every one is a decision committed
 * to SQLite (WAL, synchronous=FULL) before its answer leaves.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Figure, fmt } from './harness.js';

export interface BenchTtpOptions {
  requests?: number;
  concurrency?: number;
}

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

function spawnTs(file: string, env: Record<string, string> = {}, nodeArgs: string[] = []): ChildProcess {
  return fork(here(file), [], { execArgv: ['--import', 'tsx', ...nodeArgs], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`bench TTP: a child exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function benchTtp(options: BenchTtpOptions = {}): Promise<{ lines: string[]; figures: Figure[] }> {
  const requests = options.requests ?? 3_000;
  const concurrency = options.concurrency ?? 16;
  // BENCH_TTP_SERVER_NODE_ARGS, e.g. `--cpu-prof`, to profile the TTP's process.
  const serverArgs = process.env.BENCH_TTP_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const server = spawnTs('./ttp-server.ts', { BENCH_TTP_CONCURRENCY: String(concurrency) }, serverArgs);
  let clients: ChildProcess | undefined;
  try {
    const ready = await next<{ url: string; keyId: string; cryptoFloorPerSecond: number; inProcessPerSecond: number }>(server, 'ready');
    clients = spawnTs('./ttp-clients.ts', { BENCH_TTP_CLIENT: JSON.stringify({ url: ready.url, keyId: ready.keyId, requests, concurrency }) });
    await next(clients, 'ready');
    server.send({ type: 'load-start' });
    await next(server, 'load-started');
    clients.send({ type: 'go' });
    const done = await next<{ perSecond: number; failures: number; firstFailure: string }>(clients, 'done');
    server.send({ type: 'load-end' });
    const report = await next<{ peakRssBytes: number; maxRssBytes: number }>(server, 'report');
    if (done.failures) throw new Error(`bench TTP: ${done.failures} of ${requests} requests did not decide (${done.firstFailure})`);
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
    const ratio = done.perSecond / ready.cryptoFloorPerSecond;
    return {
      lines: [
        `TTP crypto-only decisions (2 verify + 1 sign, ${concurrency} in flight, TTP process): ${fmt(ready.cryptoFloorPerSecond)} /s  (floor)`,
        `TTP durable decisions in-process (no HTTP):   ${fmt(ready.inProcessPerSecond)} /s = ${fmt(ready.inProcessPerSecond / ready.cryptoFloorPerSecond)} x floor`,
        `TTP durable decisions over HTTP (${concurrency} clients in another process, ${requests} requests): ${fmt(done.perSecond)} /s = ${fmt(ratio)} x floor`,
        `TTP peak RSS during the HTTP load run: ${mb(report.peakRssBytes)} (process max RSS ${mb(report.maxRssBytes)})`,
      ],
      figures: [
        {
          figure: 'TTP, durable decisions/s over HTTP',
          ratio,
          unit: '× its crypto-only rate',
          goal: { op: '>=', value: 0.7 },
          detail: `${fmt(done.perSecond)} /s vs ${fmt(ready.cryptoFloorPerSecond)} /s; in-process ${fmt(ready.inProcessPerSecond)} /s`,
        },
        {
          figure: 'TTP peak RSS during its load run',
          ratio: report.peakRssBytes / 1024 / 1024,
          unit: ' MB',
          goal: { op: '<=', value: 150 },
          detail: `process max RSS ${mb(report.maxRssBytes)}`,
        },
      ],
    };
  } finally {
    clients?.kill();
    server.send({ type: 'exit' });
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
  }
}
