/** Serve a TTP app on a port (0 = any free port) with @hono/node-server. */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createTtpApp } from './app.js';
import type { TtpService } from './service.js';

export interface RunningTtp {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function startTtpServer(service: TtpService, options: { port?: number; hostname?: string } = {}): Promise<RunningTtp> {
  const app = createTtpApp(service);
  const hostname = options.hostname ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    let server: ServerType;
    try {
      server = serve({ fetch: app.fetch, port: options.port ?? 0, hostname }, (info: AddressInfo) => {
        resolve({
          url: `http://${hostname}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((res, rej) => {
              if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') server.closeAllConnections();
              server.close((err) => (err ? rej(err) : res()));
            }),
        });
      });
      server.on('error', reject);
    } catch (e) {
      reject(e);
    }
  });
}
