/** Serve the acquirer on loopback (port 0 = any free port). */
import { assertLoopback, listen, type RunningServer } from '../http/listen.js';
import { createAcquirerApp } from './app.js';
import type { AcquirerService } from './service.js';

export async function startAcquirerServer(
  acquirer: AcquirerService,
  options: { port?: number; hostname?: string; now?: () => number } = {},
): Promise<RunningServer> {
  const host = options.hostname ?? '127.0.0.1';
  assertLoopback(host);
  const app = createAcquirerApp(acquirer, options.now ? { now: options.now } : {});
  return listen({ host, port: options.port ?? 0, fetch: (request) => app.fetch(request) });
}
