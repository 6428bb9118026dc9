/**
 * The demo marketplace `npm start` runs: the CA and the Fogra demo shop, each its own party
 * with its own database, on loopback only. Importable too: tests start real servers in-process
 * with `startMarketplace({ ..., caPort: 0, shopPort: 0 })`.
 *
 * Start-up order matters: the shop's certificate names its exact origin, and with port 0 that
 * origin is known only after listening, so the shop listens first (answering 503 for the
 * moment), then enrols with the CA, then serves.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Hono } from 'hono';
import { z } from 'zod';
import { fingerprintOf } from '../core/pki/index.js';
import { errorBody } from './http/errors.js';
import { assertLoopback, listen, urlFor, type RunningServer } from './http/listen.js';
import { CaService, createCaApp } from './ca/index.js';
import { openShop, type Shop } from './shop/index.js';

export interface MarketplaceOptions {
  dataDir: string;
  /** 0 for an ephemeral port. */
  caPort: number;
  shopPort: number;
  /** Loopback only (127.0.0.1 by default). */
  host?: string;
  /** Clock for offers and certificates; tests inject one to make offers expire. */
  now?: () => number;
  offerTtlMs?: number;
}

export interface Marketplace {
  caUrl: string;
  shopUrl: string;
  /** The CA root, DER base64: what a shopper's extension must trust. */
  rootCertificate: string;
  rootPem: string;
  /** `dataDir/ca-root.pem`, for the extension's settings and for OpenSSL. */
  rootPemPath: string;
  /** The shop's current merchant certificate (DER base64). */
  merchantCertificate: string;
  dataDir: string;
  close(): Promise<void>;
}

function unavailable(): Response {
  return new Response(JSON.stringify(errorBody('ERR_INTERNAL', 'the shop is still starting')), {
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': '1' },
  });
}

/** Write then rename, so a reader never sees a half-written PEM. */
function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

export async function startMarketplace(options: MarketplaceOptions): Promise<Marketplace> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const opened: { close(): void | Promise<void> }[] = [];
  const closeAll = async () => {
    // Servers first (stop taking requests), then the databases they write to.
    for (const item of [...opened].reverse()) await item.close();
  };
  try {
    const ca = await CaService.open({ dataDir, ...(options.now ? { now: options.now } : {}) });
    opened.push(ca);
    const rootPemPath = join(dataDir, 'ca-root.pem');
    writeFileAtomic(rootPemPath, ca.rootPem);
    const caApp = createCaApp(ca);
    const caServer = await listen({ host, port: options.caPort, fetch: (req) => caApp.fetch(req) });
    opened.push(caServer);

    let shopApp: Hono | undefined;
    const shopServer: RunningServer = await listen({ host, port: options.shopPort, fetch: (req) => (shopApp ? shopApp.fetch(req) : unavailable()) });
    opened.push(shopServer);
    const shop: Shop = await openShop({
      dataDir,
      origin: urlFor(host, shopServer.port),
      ca,
      ...(options.now ? { now: options.now } : {}),
      ...(options.offerTtlMs !== undefined ? { offerTtlMs: options.offerTtlMs } : {}),
    });
    // The shop's database must close after its server: push it before the server in close order.
    opened.splice(opened.indexOf(shopServer), 0, shop);
    shopApp = shop.app;

    let closing: Promise<void> | undefined;
    return {
      caUrl: caServer.url,
      shopUrl: shopServer.url,
      rootCertificate: ca.rootCertificate,
      rootPem: ca.rootPem,
      rootPemPath,
      merchantCertificate: shop.identity.certificate,
      dataDir,
      close: () => (closing ??= closeAll()),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

const Port = z.coerce.number().int().min(0).max(65535);

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = Port.safeParse(raw);
  if (!parsed.success) throw new Error(`${name} must be a port number (0-65535), not ${raw}`);
  return parsed.data;
}

async function main(): Promise<void> {
  const market = await startMarketplace({
    dataDir: process.env.SEMPER_DATA_DIR || './data',
    caPort: envPort('SEMPER_CA_PORT', 8450),
    shopPort: envPort('SEMPER_SHOP_PORT', 8451),
  });
  const dist = resolve('dist');
  console.log(
    [
      '',
      'Semper marketplace',
      `  Shop (Fogra Literature Service)  ${market.shopUrl}/`,
      `  Certification authority          ${market.caUrl}/ca/root`,
      `  CA root certificate (PEM)        ${market.rootPemPath}`,
      `  CA root fingerprint (SHA-256)    ${await fingerprintOf(market.rootCertificate)}`,
      `  Data directory                   ${market.dataDir}`,
      `  Extension build                  ${dist}  (chrome://extensions → Load unpacked)`,
      '',
      'Ctrl-C stops both servers.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    // If a connection refuses to finish, do not hang forever.
    setTimeout(() => process.exit(1), 5000).unref();
    market.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
