/**
 * The CA as several processes (server/cluster.ts ca) over one PostgreSQL database (issue 10): the
 * primary makes the root once and every worker serves it; 50 concurrent redemptions of one
 * registration code spread over the two processes issue exactly one certificate; the processes
 * publish the one CRL the database holds. Runs when the test run has PostgreSQL.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../core/crypto/index.js';
import { createCertificationRequest, verifyCrl } from '../../core/pki/index.js';
import { CaService } from '../../server/ca/index.js';
import { WORKER_SEMI_SPACE_MB } from '../../server/cluster.js';
import { rowsOf } from '../../server/storage/database.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';
import { builtCluster, type Cluster, startCluster, stopCluster } from '../helpers/party-cluster.js';

describe.skipIf(!ENGINES.includes('postgres'))('two CA processes over one PostgreSQL', () => {
  let dir: string;
  let cluster: Cluster | undefined;
  let operator: CaService;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semper-ca-cluster-'));
    const databaseUrl = await pgSchema('cacluster');
    cluster = await startCluster('ca', { processes: 2, dataDir: dir, databaseUrl, built: await builtCluster() });
    // The operator's tools open the same register (codes are made in-process, never over HTTP).
    operator = await CaService.open({ dataDir: join(dir, 'operator'), databaseUrl });
  }, 120_000);

  afterAll(async () => {
    await operator?.close();
    await stopCluster(cluster);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve the one root the primary made', async () => {
    expect(new Set(cluster!.pids).size).toBe(2);
    const roots = await Promise.all(
      Array.from({ length: 6 }, async () => ((await (await fetch(`${cluster!.url}/ca/root`)).json()) as { certificate: string }).certificate),
    );
    expect(new Set(roots)).toEqual(new Set([operator.rootCertificate]));
  });

  it("run with the smaller young generation that bounds a worker's memory (workerExecArgv)", () => {
    for (const pid of cluster!.pids) {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(args).toContain(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
    }
  });

  it('50 concurrent redemptions of one code over both processes: exactly one certificate', async () => {
    const code = await operator.createRegistrationCode({ name: 'Clustered Clara', validForMs: 600_000 });
    const csrs = await Promise.all(
      Array.from({ length: 50 }, async () => createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'x' })),
    );
    const statuses = await Promise.all(
      csrs.map(async (csr) => {
        const res = await fetch(`${cluster!.url}/ca/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ registrationCode: code, csr }),
        });
        const body = (await res.json()) as { serial?: string; error?: { code: string } };
        return { status: res.status, code: body.error?.code, serial: body.serial };
      }),
    );
    expect(statuses.filter((s) => s.status === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s.status === 403 && s.code === 'ERR_REGISTRATION_CODE')).toHaveLength(49);
    const serial = statuses.find((s) => s.serial)!.serial!;
    expect(await rowsOf(operator.database.db, sql`SELECT certificate_serial FROM registration_code_uses`)).toEqual([{ certificate_serial: serial }]);
    expect(await operator.status(serial)).toBe('good');
  });

  it('publish the CRL the database holds, listing a revocation made by another process', async () => {
    const code = await operator.createRegistrationCode({ name: 'Revoked Rita', validForMs: 600_000 });
    const reg = await operator.registerShopper({
      registrationCode: code,
      csr: await createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'x' }),
    });
    await operator.revoke(reg.serial, 'superseded');
    const crls = await Promise.all(
      Array.from({ length: 6 }, async () => (await (await fetch(`${cluster!.url}/ca/crl`)).json()) as { crl: string; crlNumber: string }),
    );
    const stored = new Set((await rowsOf(operator.database.db, sql<{ der: string }>`SELECT der FROM crls`)).map((r) => r.der));
    for (const c of crls) {
      expect(stored.has(c.crl)).toBe(true);
      expect((await verifyCrl(c.crl, operator.rootCertificate, new Date())).revokedSerials.has(reg.serial)).toBe(true);
    }
  });
});
