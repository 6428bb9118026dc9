/** Serve the card adapter on loopback (port 0 = any free port). */
import { assertLoopback, listen, type RunningServer } from '../http/listen.js';
import { createCardAdapterApp } from './app.js';
import type { CardAdapterService } from './service.js';

export async function startCardAdapterServer(adapter: CardAdapterService, options: { port?: number; hostname?: string } = {}): Promise<RunningServer> {
  const host = options.hostname ?? '127.0.0.1';
  assertLoopback(host);
  const app = createCardAdapterApp(adapter);
  return listen({ host, port: options.port ?? 0, fetch: (request) => app.fetch(request) });
}
