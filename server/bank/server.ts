/** Serve a bank app on a port (0 = any free port), on loopback, with http/listen.ts. */
import { assertLoopback, listen, type RunningServer } from '../http/listen.js';
import { type BankAppOptions, createBankApp } from './app.js';
import type { BankService } from './service.js';

export type RunningBank = RunningServer;

export async function startBankServer(bank: BankService, options: BankAppOptions & { port?: number; hostname?: string } = {}): Promise<RunningBank> {
  const { port, hostname, ...appOptions } = options;
  const host = hostname ?? '127.0.0.1';
  assertLoopback(host);
  const app = createBankApp(bank, appOptions);
  // env carries the socket, so the per-client limit sees the client's address.
  return listen({ host, port: port ?? 0, fetch: (request, env) => app.fetch(request, env) });
}
