/**
 * The TTP bench's clients, in a process of their own (forked by bench/ttp.ts): prepare distinct
 * abort requests for the TTP's key (outside the timed part), then, on `go`, POST them over loopback
 * HTTP with CONCURRENCY in flight and report decisions per second. Every request must decide.
 * node:http with a keep-alive agent rather than fetch: on two cores the clients share the machine
 * with the server, and undici's fetch costs the client several times as much CPU per request.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { pool } from './harness.js';
import { abortRequests } from './ttp-requests.js';

const send = (m: unknown) => process.send!(m);
const { url, keyId, requests, concurrency, serverPids } = JSON.parse(process.env.BENCH_TTP_CLIENT ?? '{}') as {
  url: string;
  keyId: string;
  requests: number;
  concurrency: number;
  /** The server's processes, whose CPU time (all their threads) the timed part is charged with. */
  serverPids: number[];
};
const TICK_MS = 1000 / Number(process.env.BENCH_CLK_TCK ?? 100);

/** User + system CPU time of a process, all threads, ms (/proc/<pid>/stat fields 14 and 15, in clock ticks). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are counted from its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}
const serverCpuMs = () => serverPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL('/ttp/requests', url);

function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Requests before the timed ones (not counted): they open the connections and let both sides' JIT
 * settle on this path. A few dozen left the server's first thousands of requests slower than the
 * rest by a third (its code paths were still being optimised), and the floor is timed warm.
 */
const WARM_UP = 500;
const bodies = (await abortRequests(keyId, WARM_UP + requests)).map((r) => JSON.stringify({ request: r }));
process.on('message', async (m: { type: string }) => {
  if (m.type !== 'go') return;
  let failures = 0;
  let firstFailure = '';
  await pool(bodies.slice(0, WARM_UP), concurrency, async (body) => void (await post(body)));
  const timed = bodies.slice(WARM_UP);
  const cpu0 = serverCpuMs();
  const own0 = process.cpuUsage();
  const perSecond = await pool(timed, concurrency, async (body) => {
    const { status, text } = await post(body);
    if (status !== 200 || (JSON.parse(text) as { decided?: boolean }).decided !== true) {
      failures++;
      firstFailure ||= `${status} ${text.slice(0, 200)}`;
    }
  });
  const serverCpuMsPerRequest = (serverCpuMs() - cpu0) / timed.length;
  // The clients' own CPU (this process, all threads): on a machine whose cores they share with the
  // server, what is left of the cores for the server.
  const own = process.cpuUsage(own0);
  const clientCpuMsPerRequest = (own.user + own.system) / 1000 / timed.length;
  send({ type: 'done', perSecond, serverCpuMsPerRequest, clientCpuMsPerRequest, failures, firstFailure });
  agent.destroy();
  process.exit(0);
});
send({ type: 'ready' });
