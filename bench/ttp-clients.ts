/**
 * The TTP bench's clients, in a process of their own (forked by bench/ttp.ts): prepare distinct
 * abort requests for the TTP's key (outside the timed part), then, on `go`, POST them over loopback
 * HTTP with CONCURRENCY in flight and report decisions per second. Every request must decide.
 */
import { pool } from './harness.js';
import { abortRequests } from './ttp-requests.js';

const send = (m: unknown) => process.send!(m);
const { url, keyId, requests, concurrency } = JSON.parse(process.env.BENCH_TTP_CLIENT ?? '{}') as {
  url: string;
  keyId: string;
  requests: number;
  concurrency: number;
};
const bodies = (await abortRequests(keyId, requests)).map((request) => JSON.stringify({ request }));
// Warm up the connection pool.
await fetch(`${url}/ttp`).then((res) => res.text());
process.on('message', async (m: { type: string }) => {
  if (m.type !== 'go') return;
  let failures = 0;
  let firstFailure = '';
  const perSecond = await pool(bodies, concurrency, async (body) => {
    const res = await fetch(`${url}/ttp/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await res.text();
    if (res.status !== 200 || (JSON.parse(text) as { decided?: boolean }).decided !== true) {
      failures++;
      firstFailure ||= `${res.status} ${text.slice(0, 200)}`;
    }
  });
  send({ type: 'done', perSecond, failures, firstFailure });
  process.exit(0);
});
send({ type: 'ready' });
