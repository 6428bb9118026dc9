/**
 * The database files of the release before the one host step (commit ec876a2): their schemas,
 * verbatim, and writers of rows in their layout. The migration tests build an installed shop's
 * `shop.sqlite` and the TTP's `ttp-identity.sqlite` with these, then open them with today's code.
 * Frozen on purpose: this file describes what is on users' disks, not what the code does now.
 */
import { readCertificate } from '../../core/pki/index.js';
import type { ExchangeState } from '../../core/exchange/index.js';
import type { MerchantDealState } from '../../core/commerce/merchant.js';
import type { DescriptorBody } from '../../core/commerce/exchange-deal.js';
import type { Statement } from '../../core/statements/index.js';
import { SqliteStore, type MigrationSet } from '../../server/storage/sqlite.js';

const MERCHANT_V1: MigrationSet = {
  component: 'merchant',
  migrations: [
    {
      version: 1,
      description: 'merchant deal states',
      up: `
        CREATE TABLE merchant_deals (
          deal_id TEXT PRIMARY KEY,
          phase TEXT NOT NULL,
          offer_digest TEXT NOT NULL,
          order_digest TEXT,
          state TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX merchant_deals_order ON merchant_deals (order_digest) WHERE order_digest IS NOT NULL;
      `,
    },
  ],
};

const SHOP_IDENTITY_V1: MigrationSet = {
  component: 'shop-identity',
  migrations: [
    {
      version: 1,
      description: 'merchant signing key and certificates',
      up: `
        CREATE TABLE merchant_key (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          private_key_pkcs8 BLOB NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE merchant_certificates (
          serial TEXT PRIMARY KEY,
          origin TEXT NOT NULL,
          certificate TEXT NOT NULL,
          not_after TEXT NOT NULL,
          enrolled_at TEXT NOT NULL
        );
        CREATE INDEX merchant_certificates_origin ON merchant_certificates (origin, enrolled_at);
      `,
    },
  ],
};

const MERCHANT_EXCHANGE_V1: MigrationSet = {
  component: 'merchant-exchange',
  migrations: [
    {
      version: 1,
      description: 'merchant exchange deals (descriptor + responder state)',
      up: `
        CREATE TABLE merchant_exchanges (
          deal_id TEXT PRIMARY KEY,
          use TEXT NOT NULL,
          phase TEXT NOT NULL,
          exchange_id TEXT,
          wake_at INTEGER,
          stopped INTEGER NOT NULL DEFAULT 0,
          descriptor TEXT NOT NULL,
          state TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX merchant_exchanges_due ON merchant_exchanges (wake_at) WHERE phase <> 'done' AND stopped = 0;
      `,
    },
  ],
};

const TTP_IDENTITY_V1: MigrationSet = {
  component: 'ttp-identity',
  migrations: [
    {
      version: 1,
      description: 'TTP signing key and certificates',
      up: `
        CREATE TABLE ttp_key (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          private_key_pkcs8 BLOB NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE ttp_certificates (
          serial TEXT PRIMARY KEY,
          certificate TEXT NOT NULL,
          not_after TEXT NOT NULL,
          issued_at TEXT NOT NULL
        );
      `,
    },
  ],
};

/** shop.sqlite as the release's openShop opened it (with exchanges configured). */
export const LEGACY_SHOP_SCHEMA = [MERCHANT_V1, SHOP_IDENTITY_V1, MERCHANT_EXCHANGE_V1];
export const LEGACY_TTP_IDENTITY_SCHEMA = [TTP_IDENTITY_V1];

const iso = (t: number) => new Date(t).toISOString();

export function writeLegacyKey(store: SqliteStore, table: 'merchant_key' | 'ttp_key', pkcs8: Uint8Array, at: number): void {
  store.db.prepare(`INSERT INTO ${table} (id, private_key_pkcs8, created_at) VALUES (1, ?, ?)`).run(Buffer.from(pkcs8), iso(at));
}

export async function writeLegacyMerchantCertificate(store: SqliteStore, origin: string, certificate: string, at: number): Promise<void> {
  const info = await readCertificate(certificate);
  store.db
    .prepare('INSERT INTO merchant_certificates (serial, origin, certificate, not_after, enrolled_at) VALUES (?, ?, ?, ?, ?)')
    .run(info.serialNumber.toLowerCase(), origin, certificate, info.notAfter.toISOString(), iso(at));
}

export async function writeLegacyTtpCertificate(store: SqliteStore, certificate: string, at: number): Promise<void> {
  const info = await readCertificate(certificate);
  store.db
    .prepare('INSERT INTO ttp_certificates (serial, certificate, not_after, issued_at) VALUES (?, ?, ?, ?)')
    .run(info.serialNumber.toLowerCase(), certificate, info.notAfter.toISOString(), iso(at));
}

/** A purchase row as the release's SqliteMerchantDealStore wrote it. */
export function writeLegacyPurchase(store: SqliteStore, state: Exclude<MerchantDealState, { phase: 'new' }>, version: number, at: number): void {
  store.db
    .prepare(
      `INSERT INTO merchant_deals (deal_id, phase, offer_digest, order_digest, state, version, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      state.dealId,
      state.phase,
      state.offerDigest,
      state.phase === 'confirmed' ? state.orderDigest : null,
      JSON.stringify(state),
      version,
      iso(at),
      iso(at),
    );
}

/** An exchange row as the release's SqliteMerchantExchangeStore wrote it. */
export function writeLegacyExchange(
  store: SqliteStore,
  row: { dealId: string; use: string; descriptor: Statement<DescriptorBody>; state: ExchangeState; stopped: boolean; version: number },
  at: number,
): void {
  const { state } = row;
  store.db
    .prepare(
      `INSERT INTO merchant_exchanges (deal_id, use, phase, exchange_id, wake_at, stopped, descriptor, state, version, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      row.dealId,
      row.use,
      state.phase,
      state.exchangeId,
      state.wakeAt,
      row.stopped ? 1 : 0,
      JSON.stringify(row.descriptor),
      JSON.stringify(state),
      row.version,
      iso(at),
      iso(at),
    );
}

export function openLegacy(dataDir: string, fileName: string, schema: readonly MigrationSet[]): SqliteStore {
  return SqliteStore.open({ dataDir, fileName, schema });
}
