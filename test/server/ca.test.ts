import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { generateKeyPair } from '../../core/crypto/index.js';
import { readCertificate, validateChain } from '../../core/pki/index.js';
import { CaService, createCaApp, type CertificateRecord } from '../../server/ca/index.js';
import { listen, type RunningServer } from '../../server/http/listen.js';
import { generatePersistableEs256 } from '../../server/storage/keys.js';
import { getJson, postJson, tempDataDir, type ErrorJson } from './helpers.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';

type Location = { dataDir: string; databaseUrl?: string };

async function serveCa(location: Location): Promise<{ ca: CaService; server: RunningServer; stop(): Promise<void> }> {
  const ca = await CaService.open(location);
  const app = createCaApp(ca);
  const server = await listen({ host: '127.0.0.1', port: 0, fetch: (req) => app.fetch(req) });
  return {
    ca,
    server,
    async stop() {
      await server.close();
      await ca.close();
    },
  };
}

describe.each(ENGINES)('CA over HTTP on %s', (engine) => {
  const tmp = tempDataDir(`ca-${engine}`);
  afterAll(() => tmp.remove());
  let location: Location;

  let firstRoot: { certificate: string; pem: string };
  let issued: CertificateRecord;

  beforeAll(async () => {
    location = { dataDir: tmp.dir, ...(engine === 'postgres' ? { databaseUrl: await pgSchema('ca') } : {}) };
    const party = await serveCa(location);
    try {
      const res = await getJson<{ certificate: string; pem: string }>(`${party.server.url}/ca/root`);
      expect(res.status).toBe(200);
      firstRoot = res.json;
      const merchantKeys = await generateKeyPair('ES256');
      issued = await party.ca.issueMerchantCertificate({
        legalName: 'Fogra Forschungsgesellschaft Druck e.V.',
        origins: ['http://127.0.0.1:9999'],
        publicKey: merchantKeys.publicKey,
      });
    } finally {
      await party.stop();
    }
  });

  it('publishes a self-signed ES256 root as DER and PEM', async () => {
    const info = await readCertificate(firstRoot.certificate);
    expect(info.isCA).toBe(true);
    expect(info.role).toBe('ca');
    expect(info.publicJwk.kty).toBe('EC');
    expect(info.subject).toBe(info.issuer);
    expect(firstRoot.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    const pemBody = firstRoot.pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    expect(pemBody).toBe(firstRoot.certificate);
  });

  it('keeps the same root across a restart and still knows what it issued', async () => {
    const party = await serveCa(location);
    try {
      const res = await getJson<{ certificate: string }>(`${party.server.url}/ca/root`);
      expect(res.json.certificate).toBe(firstRoot.certificate);

      const record = await getJson<CertificateRecord>(`${party.server.url}/ca/certificates/${issued.serial}`);
      expect(record.status).toBe(200);
      expect(record.json).toEqual(issued);
      expect(record.json.revokedAt).toBeNull();

      // The reloaded root key still issues certificates that chain to the unchanged root.
      const another = await party.ca.issueMerchantCertificate({
        legalName: 'Second Shop GmbH',
        origins: ['https://shop.example'],
        publicKey: (await generateKeyPair('ES256')).publicKey,
      });
      const chain = await validateChain([another.certificate], { roots: [firstRoot.certificate], now: new Date() });
      expect(chain.leaf.origins).toEqual(['https://shop.example']);
    } finally {
      await party.stop();
    }
  });

  it('records merchant certificates binding legal name, origins and key', async () => {
    const chain = await validateChain([issued.certificate], { roots: [firstRoot.certificate], now: new Date() });
    expect(chain.leaf.role).toBe('merchant');
    expect(chain.leaf.commonName).toBe('Fogra Forschungsgesellschaft Druck e.V.');
    expect(chain.leaf.organization).toBe('Fogra Forschungsgesellschaft Druck e.V.');
    expect(chain.leaf.origins).toEqual(['http://127.0.0.1:9999']);
    expect(issued.role).toBe('merchant');
    expect(issued.origins).toEqual(['http://127.0.0.1:9999']);
    expect(issued.serial).toBe(chain.leaf.serialNumber.toLowerCase().replace(/^0+/, ''));
    expect(issued.notAfter).toBe(chain.leaf.notAfter.toISOString());
  });

  it('answers status honestly: good for issued, unknown for never issued, 400 for a malformed serial', async () => {
    const party = await serveCa(location);
    try {
      const good = await getJson<{ serial: string; status: string }>(`${party.server.url}/ca/status/${issued.serial.toUpperCase()}`);
      expect(good.json).toEqual({ serial: issued.serial, status: 'good' });
      expect(good.headers.get('cache-control')).toBe('no-store');

      const unknown = await getJson<{ status: string }>(`${party.server.url}/ca/status/0123456789abcdef`);
      expect(unknown.json).toEqual({ serial: '123456789abcdef', status: 'unknown' });
      // Leading zeros and case do not matter: one serial, one name.
      const padded = await getJson<{ serial: string; status: string }>(`${party.server.url}/ca/status/00${issued.serial.toUpperCase()}`);
      expect(padded.json).toEqual({ serial: issued.serial, status: 'good' });

      const missing = await getJson<ErrorJson>(`${party.server.url}/ca/certificates/0123456789abcdef`);
      expect(missing.status).toBe(404);
      expect(missing.json.error.code).toBe('ERR_NOT_FOUND');

      const bad = await getJson<ErrorJson>(`${party.server.url}/ca/status/not-a-serial`);
      expect(bad.status).toBe(400);
      expect(bad.json.error.code).toBe('ERR_SCHEMA');
    } finally {
      await party.stop();
    }
  });

  it('offers no way to obtain a certificate over HTTP', async () => {
    const party = await serveCa(location);
    try {
      for (const path of ['/ca/certificates', '/ca/issue', '/ca/enrol', '/ca/root']) {
        const res = await postJson<ErrorJson>(`${party.server.url}${path}`, { legalName: 'Mallory', origins: ['https://evil.example'] });
        expect(res.status).toBe(404);
        expect(res.json.error.code).toBe('ERR_NOT_FOUND');
      }
    } finally {
      await party.stop();
    }
  });

  it('refuses to start if the stored key does not match the stored root', async () => {
    const other = tempDataDir('ca-mismatch');
    try {
      const where = { dataDir: other.dir, ...(engine === 'postgres' ? { databaseUrl: await pgSchema('ca') } : {}) };
      const ca = await CaService.open(where);
      // Tampering by someone with write access to the database: the append-only trigger goes first.
      const { pkcs8 } = await generatePersistableEs256();
      if (engine === 'sqlite') {
        await ca.close();
        const db = new Database(join(other.dir, 'ca.sqlite'));
        db.exec('DROP TRIGGER ca_root_no_update');
        db.prepare('UPDATE ca_root SET private_key_pkcs8 = ?').run(Buffer.from(pkcs8));
        db.close();
      } else {
        await sql`DROP TRIGGER ca_root_append_only ON ca_root`.execute(ca.database.db);
        await sql`UPDATE ca_root SET private_key_pkcs8 = ${Buffer.from(pkcs8)}`.execute(ca.database.db);
        await ca.close();
      }
      await expect(CaService.open(where)).rejects.toMatchObject({ code: 'ERR_KEY' });
    } finally {
      other.remove();
    }
  });
});
