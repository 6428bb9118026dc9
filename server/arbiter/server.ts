/** Serve an arbiter app on a port (0 = any free port), on loopback, with http/listen.ts. */
import { assertLoopback, listen, type RunningServer } from '../http/listen.js';
import { type ArbiterAppOptions, createArbiterApp } from './app.js';
import type { ArbiterService } from './service.js';

export async function startArbiterServer(
  arbiter: ArbiterService,
  options: ArbiterAppOptions & { port?: number; hostname?: string } = {},
): Promise<RunningServer> {
  const { port, hostname, ...appOptions } = options;
  const host = hostname ?? '127.0.0.1';
  assertLoopback(host);
  const app = createArbiterApp(arbiter, appOptions);
  return listen({ host, port: port ?? 0, fetch: (request, env) => app.fetch(request, env) });
}
