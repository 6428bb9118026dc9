/**
 * The TTP in a process of its own, for http-edge.test.ts: whether hostile bodies hold the TTP up
 * is measured in the TTP's process (its event loop), not in the test's, which makes the bodies.
 * Prints `{"url": ...}` once listening. Besides the TTP's routes it answers `GET /__loop` with the
 * longest event-loop delay (ms) since the previous such request — a test fixture, not a TTP route.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { listen } from '../../server/http/listen.js';
import { createTtpApp } from '../../server/ttp/app.js';
import { TtpService } from '../../server/ttp/service.js';
import { ttpIssuer } from '../helpers/exchange.js';
import { makeTestCa } from '../helpers/pki.js';

const ca = await makeTestCa('TTP Process CA');
const service = await TtpService.create({
  ca: ttpIssuer(ca, { notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) }),
  dbPath: ':memory:',
});
const app = createTtpApp(service);
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
const server = await listen({
  host: '127.0.0.1',
  port: 0,
  fetch: (req, env) => {
    if (new URL(req.url).pathname === '/__loop') {
      const maxMs = delay.max / 1e6;
      delay.reset();
      return Response.json({ maxMs });
    }
    return app.fetch(req, env);
  },
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.on('SIGTERM', () => {
  void server.close().finally(() => {
    service.close();
    process.exit(0);
  });
});
