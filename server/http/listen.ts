/** Running a web-standard fetch handler on a Node HTTP server, with a clean, awaitable shutdown. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/**
 * `env` is what @hono/node-server passes as the second argument (`{ incoming, outgoing }`), so a
 * Hono app given it can read the peer address (`getConnInfo`), e.g. for per-client rate limits.
 */
export type FetchHandler = (request: Request, env?: unknown) => Response | Promise<Response>;

export interface RunningServer {
  /** http://host:port, with the port the OS actually assigned (listen on port 0 for an ephemeral one). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export function urlFor(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/;

/** The demo parties keep private keys in plain files and trust loopback callers: never expose them beyond this machine. */
export function assertLoopback(host: string): void {
  if (!LOOPBACK.test(host)) throw new Error(`refusing to listen on ${host}: the demo parties listen on loopback only`);
}

export async function listen(options: { fetch: FetchHandler; host: string; port: number }): Promise<RunningServer> {
  const server = createAdaptorServer({ fetch: (request: Request, env: unknown) => options.fetch(request, env) }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: urlFor(options.host, port),
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections (browsers, fetch) would hold close() open; end idle ones now.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      return closing;
    },
  };
}
