/** Serve a TSA app on a port (0 = any free port), on loopback, with http/listen.ts. */
import { assertLoopback, listen, type RunningServer } from '../http/listen.js';
import { createTsaApp, type TsaAppOptions } from './app.js';
import type { TsaService } from './service.js';

export type RunningTsa = RunningServer;

export async function startTsaServer(tsa: TsaService, options: TsaAppOptions & { port?: number; hostname?: string } = {}): Promise<RunningTsa> {
  const { port, hostname, ...appOptions } = options;
  const host = hostname ?? '127.0.0.1';
  assertLoopback(host);
  const app = createTsaApp(tsa, appOptions);
  // env carries the socket, so the per-client limit sees the client's address.
  return listen({ host, port: port ?? 0, fetch: (request, env) => app.fetch(request, env) });
}
