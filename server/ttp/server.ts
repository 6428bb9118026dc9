/** Serve a TTP app on a port (0 = any free port), on loopback, with http/listen.ts. */
import { listen, type RunningServer } from '../http/listen.js';
import { createTtpApp, type TtpAppOptions } from './app.js';
import type { TtpService } from './service.js';

export type RunningTtp = RunningServer;

export function startTtpServer(service: TtpService, options: TtpAppOptions & { port?: number; hostname?: string } = {}): Promise<RunningTtp> {
  const { port, hostname, ...appOptions } = options;
  const app = createTtpApp(service, appOptions);
  // env carries the socket, so the per-client limit sees the client's address.
  return listen({ host: hostname ?? '127.0.0.1', port: port ?? 0, fetch: (request, env) => app.fetch(request, env) });
}
