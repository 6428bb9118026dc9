/**
 * TTP throughput and memory (issue 13). Three processes besides this one, one after the other:
 * 1. bench/ttp-server.ts measures, in one process with the TTP's own key, the crypto-only decision
 *    rate (2 ES256 verifies + 1 ES256 sign per decision, 16 in flight: the floor) and the durable
 *    in-process rate (TtpService.handle, no HTTP);
 * 2. a bare node:http server (bench/http-floor-server.ts) under the same clients: what HTTP alone
 *    costs one process at this load, which bounds the ratio any TTP over HTTP can reach;
 * 3. the TTP as deployed — the built cluster entry (scripts/build-server.ts), one worker process
 *    over a SQLite file (WAL, synchronous=FULL) — under the clients (bench/ttp-clients.ts, another
 *    process); every request is a distinct exchange, so every answer follows a committed decision.
 *    Its peak RSS is the kernel's high-water mark of that worker process (VmHWM), start-up included.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServer } from '../scripts/build-server.js';
import { startCluster, stopCluster } from '../test/helpers/party-cluster.js';
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

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((r) => child.once('exit', r));
}

/**
 * Run the clients against `url` (decisions must come back `decided: true`): requests per second,
 * and the CPU time the server's processes (`serverPids`, all threads) spent per request meanwhile —
 * on a machine shared with other work the rate follows the neighbours, the CPU per request much less.
 */
async function load(
  url: string,
  keyId: string,
  requests: number,
  concurrency: number,
  serverPids: number[],
): Promise<{ perSecond: number; cpuMs: number; clientCpuMs: number }> {
  const clients = spawnTs('./ttp-clients.ts', { BENCH_TTP_CLIENT: JSON.stringify({ url, keyId, requests, concurrency, serverPids }) });
  try {
    await next(clients, 'ready');
    clients.send({ type: 'go' });
    const done = await next<{ perSecond: number; serverCpuMsPerRequest: number; clientCpuMsPerRequest: number; failures: number; firstFailure: string }>(
      clients,
      'done',
    );
    if (done.failures) throw new Error(`bench TTP: ${done.failures} of ${requests} requests did not decide (${done.firstFailure})`);
    return { perSecond: done.perSecond, cpuMs: done.serverCpuMsPerRequest, clientCpuMs: done.clientCpuMsPerRequest };
  } finally {
    clients.kill();
  }
}

/** The kernel's figures for a process: resident now and its high-water mark, bytes. */
function residentMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

export async function benchTtp(options: BenchTtpOptions = {}): Promise<{ lines: string[]; figures: Figure[] }> {
  const requests = options.requests ?? 3_000;
  const concurrency = options.concurrency ?? 16;
  // BENCH_TTP_SERVER_NODE_ARGS, e.g. `--cpu-prof`, to profile the in-process measurement;
  // BENCH_TTP_WORKER_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, the built TTP under load.
  const args = (name: string) => process.env[name]?.split(' ').filter(Boolean) ?? [];
  const serverArgs = args('BENCH_TTP_SERVER_NODE_ARGS');

  const inProcess = spawnTs('./ttp-server.ts', { BENCH_TTP_CONCURRENCY: String(concurrency) }, serverArgs);
  let ready: { cryptoFloorPerSecond: number; cryptoFloorCpuMs: number; inProcessPerSecond: number; inProcessCpuMs: number };
  try {
    ready = await next(inProcess, 'ready');
  } finally {
    inProcess.send({ type: 'exit' });
    await exited(inProcess);
  }

  const bare = spawnTs('./http-floor-server.ts');
  let httpFloor: { perSecond: number; cpuMs: number; clientCpuMs: number };
  try {
    const { url } = await next<{ url: string }>(bare, 'ready');
    httpFloor = await load(url, 'x'.repeat(43), requests, concurrency, [bare.pid!]);
  } finally {
    bare.send({ type: 'exit' });
    await exited(bare);
  }

  const dir = mkdtempSync(join(tmpdir(), 'semper-bench-ttp-'));
  // In the repository, so that the bundle finds its packages in node_modules.
  const built = await buildServer();
  const cluster = await startCluster('ttp', {
    processes: 1,
    dataDir: join(dir, 'data'),
    built: built.files.cluster,
    nodeArgs: args('BENCH_TTP_WORKER_NODE_ARGS'),
  });
  let overHttp: { perSecond: number; cpuMs: number; clientCpuMs: number };
  let memory: { rss: number; peak: number };
  try {
    const worker = cluster.pids[0]!;
    const info = (await (await fetch(`${cluster.url}/ttp`)).json()) as { keyId: string };
    overHttp = await load(cluster.url, info.keyId, requests, concurrency, [worker]);
    memory = residentMemory(worker);
  } finally {
    await stopCluster(cluster);
    rmSync(dir, { recursive: true, force: true });
  }

  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
  const floor = ready.cryptoFloorPerSecond;
  const { perSecond } = overHttp;
  const httpFloorPerSecond = httpFloor.perSecond;
  const ratio = perSecond / floor;
  const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  // The same comparison in CPU time per decision (all threads), which the neighbours move much less.
  const cpuRatio = ready.cryptoFloorCpuMs / overHttp.cpuMs;
  const cpuCeiling = ready.cryptoFloorCpuMs / (ready.cryptoFloorCpuMs + httpFloor.cpuMs);
  // One process does HTTP and crypto one after the other: even with nothing else, a decision over
  // HTTP costs 1/httpFloor + 1/floor seconds, so the ratio can be at most httpFloor / (httpFloor + floor).
  const ceiling = httpFloorPerSecond / (httpFloorPerSecond + floor);
  // Any number of TTP processes or threads: a decision over HTTP takes at least its crypto, the bare
  // server's HTTP work and the clients' own CPU for one request, and the machine has `cores` cores
  // for all of it, clients included (they run here). So no TTP can decide faster than
  // cores / (crypto + HTTP + client) per second on this machine; against the one-process floor:
  const cores = availableParallelism();
  const clientCpuMs = Math.min(httpFloor.clientCpuMs, overHttp.clientCpuMs);
  const machineCeiling = cores / (ready.cryptoFloorCpuMs + httpFloor.cpuMs + clientCpuMs) / (floor / 1000);
  return {
    lines: [
      `TTP crypto-only decisions (2 verify + 1 sign, ${concurrency} in flight, one process): ${fmt(floor)} /s  (floor)`,
      `TTP durable decisions in-process (no HTTP):   ${fmt(ready.inProcessPerSecond)} /s = ${fmt(ready.inProcessPerSecond / floor)} x floor`,
      `bare node:http server, same clients (HTTP alone): ${fmt(httpFloorPerSecond)} /s — bounds any single-process TTP over HTTP at ${fmt(ceiling)} x floor`,
      `TTP durable decisions over HTTP (built TTP, 1 worker; ${concurrency} clients in another process, ${requests} timed requests after 500 of warm-up): ${fmt(perSecond)} /s = ${fmt(ratio)} x floor (${fmt(ratio / ceiling)} x that bound)`,
      `CPU per decision (all threads): crypto-only ${us(ready.cryptoFloorCpuMs)}, in-process ${us(ready.inProcessCpuMs)}, bare HTTP server ${us(httpFloor.cpuMs)} per request, TTP over HTTP ${us(overHttp.cpuMs)} = ${fmt(cpuRatio)} x floor in CPU (bound ${fmt(cpuCeiling)}, ${fmt(cpuRatio / cpuCeiling)} x that bound)`,
      `the clients' own CPU per request: ${us(httpFloor.clientCpuMs)} against the bare server, ${us(overHttp.clientCpuMs)} against the TTP; with ${cores} cores for clients and server, crypto + HTTP + the clients' ${us(clientCpuMs)} bound ANY TTP here (processes or threads) at ${fmt(machineCeiling)} x floor`,
      `TTP worker process RSS: peak ${mb(memory.peak)} (start-up and load run), ${mb(memory.rss)} at the end of the load run`,
    ],
    figures: [
      {
        figure: 'TTP, durable decisions/s over HTTP',
        ratio,
        unit: '× its crypto-only rate',
        goal: { op: '>=', value: 0.7 },
        detail: `${fmt(perSecond)} /s vs ${fmt(floor)} /s; HTTP alone bounds it at ${fmt(ceiling)}× in one process (bare server ${fmt(httpFloorPerSecond)} /s), and at ${fmt(machineCeiling)}× on this machine's ${cores} cores shared with the clients, however many processes; in-process ${fmt(ready.inProcessPerSecond)} /s; in CPU per decision ${fmt(cpuRatio)}× (bound ${fmt(cpuCeiling)}×)`,
      },
      {
        figure: 'TTP peak RSS during its load run',
        ratio: memory.peak / 1024 / 1024,
        unit: ' MB',
        goal: { op: '<=', value: 150 },
        detail: `kernel high-water mark of the built TTP's worker process; ${mb(memory.rss)} at the end`,
      },
    ],
  };
}
