/**
 * The CA's exactly-once rules (issue 10), on each engine: a registration code issues one
 * certificate however many requests race for it, a certificate is revoked once (the first
 * revocation stands), serials are unique, CRL numbers strictly increase, and every table is
 * append-only in the database itself. On PostgreSQL the races run across two CA services sharing
 * one database, as two processes would (two services over one SQLite file in one process block each
 * other's event loop on the write lock: SQLite runs them in one service, where the write lock
 * serialises them just the same).
 */
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../core/crypto/index.js';
import { createCertificationRequest, verifyCrl } from '../../core/pki/index.js';
import { CA_APPEND_ONLY, CA_SCHEMA, CaService, createCaApp } from '../../server/ca/index.js';
import { firstOf, rowsOf } from '../../server/storage/database.js';
import { SqliteStore } from '../../server/storage/sqlite.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';
import { tempDataDir } from './helpers.js';
import { revocationBody, signRevocation } from './registration-helpers.js';

const MIN = 60_000;
const post = (app: ReturnType<typeof createCaApp>, path: string, body: unknown) =>
  app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe.each(ENGINES)('CA exactly-once rules on %s', (engine) => {
  const tmp = tempDataDir(`ca-concurrency-${engine}`);
  let skewMs = 0;
  const clock = () => Date.now() + skewMs;
  let first: CaService;
  /** The second service: another CA process on the same database (PostgreSQL), the same service on SQLite. */
  let second: CaService;
  let apps: ReturnType<typeof createCaApp>[];

  beforeAll(async () => {
    const location = { dataDir: tmp.dir, ...(engine === 'postgres' ? { databaseUrl: await pgSchema('ca') } : {}) };
    first = await CaService.open({ ...location, now: clock });
    second = engine === 'postgres' ? await CaService.open({ ...location, now: clock }) : first;
    expect(second.rootCertificate).toBe(first.rootCertificate);
    apps = [first, second].map((ca) => createCaApp(ca, { registrationAttemptsPerMinute: 10_000, now: clock }));
  });

  afterAll(async () => {
    if (second !== first) await second?.close();
    await first?.close();
    tmp.remove();
  });

  async function register(name: string) {
    const code = await first.createRegistrationCode({ name, validForMs: 10 * MIN });
    const keys = await generateKeyPair('ES256');
    const reg = await first.registerShopper({ registrationCode: code, csr: await createCertificationRequest({ keys, commonName: name }) });
    return { ...reg, signer: await signerFromKeyPair('ES256', keys) };
  }

  it('50 concurrent redemptions of one code across both services: exactly one certificate, 49 refusals, one use recorded', async () => {
    const code = await first.createRegistrationCode({ name: 'Raced Rosa', validForMs: 10 * MIN });
    const csrs = await Promise.all(
      Array.from({ length: 50 }, async () => createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'x' })),
    );
    const responses = await Promise.all(csrs.map((csr, i) => post(apps[i % 2]!, '/ca/register', { registrationCode: code, csr })));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { serial?: string; error?: { code: string; message: string } }[];
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    const refused = bodies.filter((b) => b.error);
    expect(refused).toHaveLength(49);
    for (const b of refused) expect(b.error).toMatchObject({ code: 'ERR_REGISTRATION_CODE', message: expect.stringMatching(/already been used/) });
    const serial = bodies.find((b) => b.serial)!.serial!;
    const db = first.database.db;
    expect(await rowsOf(db, sql`SELECT certificate_serial FROM registration_code_uses`)).toEqual([{ certificate_serial: serial }]);
    // The losers' certificates were signed but never recorded or returned.
    expect(await firstOf(db, sql`SELECT COUNT(*) AS n FROM certificates WHERE common_name = ${'Raced Rosa'}`)).toEqual({ n: 1 });
  });

  it('serials are unique: 40 concurrent issuances give 40 serials, and a stored serial cannot be inserted again', async () => {
    const issued = await Promise.all(
      Array.from({ length: 40 }, async (_, i) =>
        (i % 2 ? first : second).issueMerchantCertificate({
          legalName: `Shop ${String.fromCharCode(65 + (i % 26))} GmbH`,
          origins: [`https://shop${i}.example`],
          publicKey: (await generateKeyPair('ES256')).publicKey,
        }),
      ),
    );
    expect(new Set(issued.map((r) => r.serial)).size).toBe(40);
    const copy = issued[0]!;
    await expect(
      sql`INSERT INTO certificates (serial, subject, common_name, role, origins, der, not_before, not_after, issued_at)
        VALUES (${copy.serial}, 'CN=Copy', 'Copy', 'merchant', '[]', 'AAAA', ${copy.notBefore}, ${copy.notAfter}, ${copy.issuedAt})`.execute(first.database.db),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^(23505|SQLITE_CONSTRAINT_PRIMARYKEY)$/) });
  });

  it('50 concurrent revocations of one certificate with different reasons: one recorded, every answer names it', async () => {
    const holder = await register('Revoked Rudi');
    const reasons = ['keyCompromise', 'superseded', 'affiliationChanged', 'cessationOfOperation'] as const;
    const requests = await Promise.all(
      Array.from({ length: 50 }, (_, i) => signRevocation(revocationBody(holder.serial, reasons[i % reasons.length]), holder.signer, [holder.certificate])),
    );
    const responses = await Promise.all(requests.map((request, i) => post(apps[i % 2]!, '/ca/revoke', { request })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const answers = (await Promise.all(responses.map((r) => r.json()))) as { revokedAt: string; reason: string }[];
    const stored = await rowsOf(
      first.database.db,
      sql<{ revoked_at: string; reason: string }>`SELECT revoked_at, reason FROM revocations WHERE serial = ${holder.serial}`,
    );
    expect(stored).toHaveLength(1);
    for (const a of answers) expect(a).toMatchObject({ revokedAt: stored[0]!.revoked_at, reason: stored[0]!.reason });
    // The operator revoking it again changes nothing either.
    expect((await second.revoke(holder.serial, 'privilegeWithdrawn')).revocationReason).toBe(stored[0]!.reason);
  });

  it('CRL numbers strictly increase while both services reissue at once; what is served is stored and lists every revocation before it', async () => {
    const revoked = await Promise.all(Array.from({ length: 6 }, (_, i) => register(`Listed ${String.fromCharCode(65 + i)}`)));
    const served: { crlNumber: string; crl: string }[] = [];
    for (let round = 0; round < 4; round++) {
      // A revocation and a stale CRL (the clock past half its life) make every request want a new one.
      await (round % 2 ? second : first).revoke(revoked[round]!.serial, 'superseded');
      skewMs += 8 * MIN;
      served.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).currentCrl()))));
    }
    const numbers = await rowsOf(first.database.db, sql<{ crl_number: number; entries: number }>`SELECT crl_number, entries FROM crls ORDER BY crl_number`);
    for (let i = 1; i < numbers.length; i++) {
      expect(numbers[i]!.crl_number).toBe(numbers[i - 1]!.crl_number + 1);
      expect(numbers[i]!.entries).toBeGreaterThanOrEqual(numbers[i - 1]!.entries);
    }
    const stored = new Set((await rowsOf(first.database.db, sql<{ der: string }>`SELECT der FROM crls`)).map((r) => r.der));
    for (const s of served) expect(stored.has(s.crl)).toBe(true);
    const last = served.at(-1)!;
    const verified = await verifyCrl(last.crl, first.rootCertificate, new Date(clock()));
    for (const r of revoked.slice(0, 4)) expect(verified.revokedSerials.has(r.serial)).toBe(true);
  });

  it('every table is append-only in the database itself', async () => {
    const db = first.database.db;
    for (const table of CA_APPEND_ONLY) {
      expect((await firstOf(db, sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(table)}`))!.n).toBeGreaterThan(0);
      const key = sql.ref(keyOf(table));
      await expect(sql`UPDATE ${sql.table(table)} SET ${key} = ${key}`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`DELETE FROM ${sql.table(table)}`.execute(db)).rejects.toThrow(/append-only/);
      if (engine === 'postgres') await expect(sql`TRUNCATE ${sql.table(table)} CASCADE`.execute(db)).rejects.toThrow(/append-only/);
    }
  });
});

function keyOf(table: (typeof CA_APPEND_ONLY)[number]): string {
  return {
    ca_root: 'id',
    certificates: 'serial',
    revocations: 'serial',
    registration_codes: 'code_hash',
    registration_code_uses: 'code_hash',
    crls: 'crl_number',
  }[table];
}

describe('CA schema version 2 → 3 (SQLite)', () => {
  it('moves revocations, used codes and the CRL into the append-only tables; an unused code still works, a used one does not', async () => {
    const made = tempDataDir('ca-v3-source');
    const old = tempDataDir('ca-v2');
    try {
      // Today's CA makes the rows; a file of the version-2 layout receives them as version 2 kept them.
      const source = await CaService.open({ dataDir: made.dir });
      const used = await source.createRegistrationCode({ name: 'Used Ulla' });
      const reg = await source.registerShopper({
        registrationCode: used,
        csr: await createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'u' }),
      });
      const unused = await source.createRegistrationCode({ name: 'Unused Uwe' });
      await source.revoke(reg.serial, 'keyCompromise');
      const crl = await source.currentCrl();
      const q = source.database.db;
      const root = (await firstOf(q, sql<Record<string, unknown>>`SELECT * FROM ca_root`))!;
      const certificates = await rowsOf(q, sql<Record<string, unknown>>`SELECT * FROM certificates`);
      const codes = await rowsOf(
        q,
        sql<
          Record<string, unknown>
        >`SELECT c.*, u.used_at, u.certificate_serial FROM registration_codes c LEFT JOIN registration_code_uses u ON u.code_hash = c.code_hash`,
      );
      const crlRow = (await firstOf(q, sql<Record<string, unknown>>`SELECT * FROM crls`))!;
      await source.close();

      const v2 = SqliteStore.open({ dataDir: old.dir, fileName: 'ca.sqlite', schema: [{ component: 'ca', migrations: CA_SCHEMA.migrations.slice(0, 2) }] });
      v2.db
        .prepare('INSERT INTO ca_root (id, private_key_pkcs8, certificate, created_at) VALUES (@id, @private_key_pkcs8, @certificate, @created_at)')
        .run(root);
      for (const c of certificates) {
        const revoked = c.serial === reg.serial;
        v2.db
          .prepare(
            `INSERT INTO certificates (serial, subject, common_name, role, origins, der, not_before, not_after, issued_at, revoked_at, revocation_reason)
             VALUES (@serial, @subject, @common_name, @role, @origins, @der, @not_before, @not_after, @issued_at, @revoked_at, @revocation_reason)`,
          )
          .run({ ...c, revoked_at: revoked ? '2026-01-01T00:00:00.000Z' : null, revocation_reason: revoked ? 'keyCompromise' : null });
      }
      for (const c of codes) {
        v2.db
          .prepare(
            `INSERT INTO registration_codes (code_hash, name, created_at, expires_at, used_at, certificate_serial)
             VALUES (@code_hash, @name, @created_at, @expires_at, @used_at, @certificate_serial)`,
          )
          .run(c);
      }
      v2.db
        .prepare('INSERT INTO crl (id, crl_number, der, this_update, next_update, entries) VALUES (1, @crl_number, @der, @this_update, @next_update, @entries)')
        .run(crlRow);
      v2.close();

      const migrated = await CaService.open({ dataDir: old.dir });
      try {
        expect(await migrated.getCertificate(reg.serial)).toMatchObject({ revokedAt: '2026-01-01T00:00:00.000Z', revocationReason: 'keyCompromise' });
        const csr = await createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'x' });
        await expect(migrated.registerShopper({ registrationCode: used, csr })).rejects.toMatchObject({ code: 'ERR_REGISTRATION_CODE' });
        expect((await migrated.registerShopper({ registrationCode: unused, csr })).name).toBe('Unused Uwe');
        // The stored CRL is current (same entries, fresh): it is served as it was.
        expect((await migrated.currentCrl()).crlNumber).toBe(crl.crlNumber);
        const file = new BetterSqlite(join(old.dir, 'ca.sqlite'), { readonly: true });
        try {
          const tables = file
            .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .all()
            .map((r) => r.name);
          expect(tables).toEqual(['ca_root', 'certificates', 'crls', 'registration_code_uses', 'registration_codes', 'revocations', 'schema_version']);
        } finally {
          file.close();
        }
      } finally {
        await migrated.close();
      }
    } finally {
      made.remove();
      old.remove();
    }
  });
});
