/**
 * Shopper registration with one-time codes, holder revocation and the CRL: the CA over real
 * HTTP on loopback (port 0) with its real database — its SQLite file, or PostgreSQL when the run
 * has a cluster (test/helpers/engines.ts) — and an injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { exportPublicJwk, generateKeyPair, signerFromKeyPair } from '../../core/crypto/index.js';
import {
  canonicalSerial,
  createCertificationRequest,
  normaliseRegistrationCode,
  readCertificate,
  validateChain,
  verifyCrl,
  type CrlResponse,
  type RevocationResponse,
} from '../../core/pki/index.js';
import { signStatement } from '../../core/statements/index.js';
import { encodeBase64 } from '../../core/encoding/index.js';
import { sql } from 'kysely';
import { CA_SCHEMA, CaService, createCaApp, type CertificateRecord } from '../../server/ca/index.js';
import { firstOf, rowsOf } from '../../server/storage/database.js';
import { SqliteStore } from '../../server/storage/sqlite.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';
import { listen, type RunningServer } from '../../server/http/listen.js';
import { getJson, postJson, tempDataDir, type ErrorJson, type HttpResult } from './helpers.js';
import { registerShopper, revocationBody, signRevocation, x509Signer } from './registration-helpers.js';
import { makeTestCa } from '../helpers/pki.js';

const MIN = 60_000;
const DAY = 86_400_000;

describe.each(ENGINES)('the CA on %s', (engine) => {
  const tmp = tempDataDir(`ca-registration-${engine}`);
  /** Where the CA keeps its register: the data directory's ca.sqlite, or a PostgreSQL schema of this suite. */
  let databaseUrl: string | undefined;
  const location = () => ({ dataDir: tmp.dir, ...(databaseUrl ? { databaseUrl } : {}) });
  let skewMs = 0;
  const clock = () => Date.now() + skewMs;
  let ca: CaService;
  /** Generous attempt limit: functional tests. */
  let server: RunningServer;
  /** The default limit (10 per minute): the rate-limit test only. */
  let limited: RunningServer;

  function expectError(res: HttpResult<unknown>, status: number, code: string, message?: RegExp): void {
    const json = res.json as ErrorJson | undefined;
    expect({ status: res.status, code: json?.error?.code }).toEqual({ status, code });
    if (message) expect(json!.error.message).toMatch(message);
    expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules|"stack"/);
  }

  beforeAll(async () => {
    databaseUrl = engine === 'postgres' ? await pgSchema('ca') : undefined;
    ca = await CaService.open({ ...location(), now: clock });
    const app = createCaApp(ca, { registrationAttemptsPerMinute: 1000, now: clock });
    server = await listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => app.fetch(req, env) });
    const limitedApp = createCaApp(ca, { now: clock });
    limited = await listen({ host: '127.0.0.1', port: 0, fetch: (req, env) => limitedApp.fetch(req, env) });
  });

  afterAll(async () => {
    await server?.close();
    await limited?.close();
    await ca?.close();
    tmp.remove();
  });

  describe('registration codes', () => {
    it('are 4 groups of 4 Crockford base32 symbols (80 bits), forgiving to type, and stored only as SHA-256', async () => {
      const codes = await Promise.all(Array.from({ length: 20 }, () => ca.createRegistrationCode({ name: 'Someone', validForMs: MIN })));
      for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      expect(new Set(codes).size).toBe(codes.length);
      const code = codes[0]!;
      expect(normaliseRegistrationCode(` ${code.toLowerCase().replace(/-/g, ' ')} `)).toBe(code.replace(/-/g, ''));
      expect(normaliseRegistrationCode(code.replace(/0/g, 'O').replace(/1/g, 'l'))).toBe(code.replace(/-/g, ''));
      const dump = JSON.stringify(await rowsOf(ca.database.db, sql`SELECT * FROM registration_codes`));
      for (const c of codes) expect(dump).not.toContain(c.replace(/-/g, ''));
      expect(await firstOf(ca.database.db, sql`SELECT COUNT(*) AS n FROM registration_codes WHERE name = ${'Someone'}`)).toEqual({ n: 20 });
      await expect(ca.createRegistrationCode({ name: ' padded ' })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
      await expect(ca.createRegistrationCode({ name: 'x\u0000y' })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    });
  });

  describe('POST /ca/register', () => {
    it("certifies the requester's key under the name on file for the code: role shopper, one year, chains to the root", async () => {
      const code = await ca.createRegistrationCode({ name: 'Ann Example', validForMs: 60 * MIN });
      // Typed sloppily, and the CSR asks for another name: the CA uses its own record.
      const typed = code.toLowerCase().replace(/-/g, ' ');
      const { res, keys } = await registerShopper(server.url, typed, 'ES256', 'Mallory Impostor');
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('cache-control')).toBe('no-store');
      const { certificate, chain, name, serial } = res.json;
      expect(Object.keys(res.json).sort()).toEqual(['certificate', 'chain', 'name', 'serial']);
      expect(name).toBe('Ann Example');
      expect(chain).toEqual([certificate]);
      const v = await validateChain(chain, { roots: [ca.rootCertificate], now: new Date() });
      expect(v.leaf).toMatchObject({ commonName: 'Ann Example', role: 'shopper', isCA: false, origins: [] });
      expect(v.leaf.subject).not.toContain('Mallory');
      expect(v.leaf.publicJwk).toEqual(await exportPublicJwk(keys.publicKey));
      expect(canonicalSerial(v.leaf.serialNumber)).toBe(serial);
      expect(serial).toMatch(/^[1-9a-f][0-9a-f]*$/); // Semper's one form of a serial
      const lifetime = v.leaf.notAfter.getTime() - v.leaf.notBefore.getTime();
      expect(lifetime).toBeGreaterThanOrEqual(365 * DAY);
      expect(lifetime).toBeLessThanOrEqual(365 * DAY + 10 * MIN);

      const record = await getJson<CertificateRecord>(`${server.url}/ca/certificates/${serial}`);
      expect(record.json).toMatchObject({ serial, role: 'shopper', commonName: 'Ann Example', certificate, revokedAt: null, revocationReason: null });
      expect((await getJson(`${server.url}/ca/status/${serial}`)).json).toEqual({ serial, status: 'good' });
    });

    it('names its CRL distribution point once it knows where it publishes, and the DER CRL there verifies', async () => {
      ca.publishCrlAt(`${server.url}/ca/crl.der`);
      const code = await ca.createRegistrationCode({ name: 'Dora Example', validForMs: 60 * MIN });
      const { res } = await registerShopper(server.url, code, 'ES256', 'Dora Example');
      expect(res.status).toBe(200);
      const info = await readCertificate(res.json.certificate);
      expect(info.crlUrls).toEqual([`${server.url}/ca/crl.der`]);
      const der = new Uint8Array(await (await fetch(info.crlUrls[0]!)).arrayBuffer());
      const crl = await verifyCrl(encodeBase64(der), ca.rootCertificate, new Date());
      expect(crl.revokedSerials.has(res.json.serial)).toBe(false);
    });

    it('certifies Ed25519 keys too', async () => {
      const code = await ca.createRegistrationCode({ name: 'Bo Ed', validForMs: MIN });
      const { res, keys } = await registerShopper(server.url, code, 'EdDSA');
      expect(res.status).toBe(200);
      const info = await readCertificate(res.json.certificate);
      expect(info.publicJwk).toEqual(await exportPublicJwk(keys.publicKey));
    });

    it('consumes a code once: a second use is 403 ERR_REGISTRATION_CODE, also under concurrency', async () => {
      const code = await ca.createRegistrationCode({ name: 'Once Only', validForMs: MIN });
      expect((await registerShopper(server.url, code)).res.status).toBe(200);
      expectError((await registerShopper(server.url, code)).res, 403, 'ERR_REGISTRATION_CODE', /already been used/);

      const raced = await ca.createRegistrationCode({ name: 'Raced', validForMs: MIN });
      const results = await Promise.all(Array.from({ length: 6 }, () => registerShopper(server.url, raced)));
      expect(results.map((r) => r.res.status).sort()).toEqual([200, 403, 403, 403, 403, 403]);
      for (const r of results.filter((x) => x.res.status === 403)) expectError(r.res, 403, 'ERR_REGISTRATION_CODE');
    });

    it('refuses unknown and expired codes with 403 ERR_REGISTRATION_CODE and a clear message', async () => {
      expectError((await registerShopper(server.url, 'ABCD-EFGH-JKMN-PQRS')).res, 403, 'ERR_REGISTRATION_CODE', /unknown registration code/);
      expectError((await registerShopper(server.url, 'ABCD-EFGH-JKMN-PQRU')).res, 403, 'ERR_REGISTRATION_CODE', /XXXX-XXXX-XXXX-XXXX/);
      const code = await ca.createRegistrationCode({ name: 'Too Late', validForMs: 5 * MIN });
      skewMs = 5 * MIN + 1000;
      try {
        expectError((await registerShopper(server.url, code)).res, 403, 'ERR_REGISTRATION_CODE', /expired/);
      } finally {
        skewMs = 0;
      }
      // The refused attempt did not consume the code: before its expiry (clock back) it still works.
      expect((await registerShopper(server.url, code)).res.status).toBe(200);
    });

    it('refuses a CSR that is not signed by its key (no proof of possession) without burning the code', async () => {
      const code = await ca.createRegistrationCode({ name: 'Careful Carl', validForMs: MIN });
      const keys = await generateKeyPair('ES256');
      const csr = await createCertificationRequest({ keys, commonName: 'Carl' });
      const bytes = Buffer.from(csr, 'base64');
      bytes[bytes.indexOf('Carl')] = 'K'.charCodeAt(0);
      expectError(
        await postJson(`${server.url}/ca/register`, { registrationCode: code, csr: bytes.toString('base64') }),
        403,
        'ERR_SIGNATURE_INVALID',
        /proof of possession/,
      );
      expectError(await postJson(`${server.url}/ca/register`, { registrationCode: code, csr: 'AAAA' }), 400, 'ERR_SCHEMA');
      expectError(await postJson(`${server.url}/ca/register`, { registrationCode: code, csr, name: 'Extra' }), 400, 'ERR_SCHEMA');
      expectError(await postJson(`${server.url}/ca/register`, { registrationCode: code, csr }, { 'content-type': 'text/plain' }), 400, 'ERR_SCHEMA');
      expectError(await postJson(`${server.url}/ca/register`, { registrationCode: code, csr: 'A'.repeat(20_000) }), 413, 'ERR_SCHEMA');
      const ok = await postJson<{ name: string }>(`${server.url}/ca/register`, { registrationCode: code, csr });
      expect(ok.status).toBe(200);
      expect(ok.json.name).toBe('Careful Carl');
    });

    it('limits guesses per client address (the 11th unknown code within a minute is 429), while a code the CA issued counts against that code', async () => {
      const code = await ca.createRegistrationCode({ name: 'Patient Pat', validForMs: 10 * MIN });
      for (let i = 0; i < 10; i++) expectError((await registerShopper(limited.url, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ')).res, 403, 'ERR_REGISTRATION_CODE');
      const refused = (await registerShopper(limited.url, 'YYYY-YYYY-YYYY-YYYY')).res;
      expectError(refused, 429, 'ERR_RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // Malformed requests and other media types are refused before they count (a web page's no-cors POSTs).
      expectError(await postJson(`${limited.url}/ca/register`, { registrationCode: code, csr: 'AAAA' }, { 'content-type': 'text/plain' }), 400, 'ERR_SCHEMA');
      // The holder of a real code is not stopped by guesses from its address: that code has a budget of its own …
      expect((await registerShopper(limited.url, code)).res.status).toBe(200);
      // … spent by attempts that name it (the code is used now: each further attempt is refused and counts).
      for (let i = 0; i < 9; i++) expectError((await registerShopper(limited.url, code)).res, 403, 'ERR_REGISTRATION_CODE');
      expectError((await registerShopper(limited.url, code)).res, 429, 'ERR_RATE_LIMITED');
      skewMs = 61_000;
      try {
        expectError((await registerShopper(limited.url, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ')).res, 403, 'ERR_REGISTRATION_CODE');
      } finally {
        skewMs = 0;
      }
    });

    it('sends no CORS headers on POST and grants no cross-origin preflight, while public GETs stay readable', async () => {
      const preflight = await fetch(`${server.url}/ca/register`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(preflight.headers.get('access-control-allow-methods') ?? '').not.toContain('POST');
      const root = await fetch(`${server.url}/ca/root`, { headers: { origin: 'https://any.example' } });
      expect(root.headers.get('access-control-allow-origin')).toBe('*');
    });
  });

  describe('revocation and the CRL', () => {
    async function registered(name: string) {
      const code = await ca.createRegistrationCode({ name, validForMs: MIN });
      const r = await registerShopper(server.url, code);
      expect(r.res.status).toBe(200);
      return { ...r, certificate: r.res.json.certificate, serial: r.res.json.serial };
    }

    it("the holder revokes with a request signed by the certificate's own key; status, record and CRL say so; repeating is harmless", async () => {
      const holder = await registered('Holder Hanna');
      const request = await signRevocation(revocationBody(holder.serial, 'keyCompromise'), holder.signer, [holder.certificate]);
      const res = await postJson<RevocationResponse>(`${server.url}/ca/revoke`, { request });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ serial: holder.serial, status: 'revoked', reason: 'keyCompromise' });
      expect(Date.parse(res.json.revokedAt)).toBeGreaterThan(Date.now() - MIN);
      expect((await getJson(`${server.url}/ca/status/${holder.serial}`)).json).toEqual({ serial: holder.serial, status: 'revoked' });
      expect((await getJson<CertificateRecord>(`${server.url}/ca/certificates/${holder.serial}`)).json.revocationReason).toBe('keyCompromise');

      const crl = await getJson<CrlResponse>(`${server.url}/ca/crl`);
      expect(crl.status).toBe(200);
      expect(crl.headers.get('access-control-allow-origin')).toBe('*');
      const verified = await verifyCrl(crl.json.crl, ca.rootCertificate, new Date());
      expect(verified.revokedSerials.has(holder.serial)).toBe(true);
      expect(verified.crlNumber).toBe(crl.json.crlNumber);
      expect(verified.nextUpdate.toISOString()).toBe(crl.json.nextUpdate);
      expect(Date.parse(crl.json.nextUpdate) - Date.parse(crl.json.thisUpdate)).toBe(15 * MIN);
      expect(crl.json.pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
      const der = await fetch(`${server.url}/ca/crl.der`);
      expect(der.headers.get('content-type')).toBe('application/pkix-crl');
      expect(Buffer.from(await der.arrayBuffer()).toString('base64')).toBe(crl.json.crl);

      // A validator using the CRL now refuses the certificate.
      const { crlRevocationChecker } = await import('../../core/pki/index.js');
      await expect(
        validateChain([holder.certificate], {
          roots: [ca.rootCertificate],
          now: new Date(),
          isRevoked: crlRevocationChecker(crl.json.crl, ca.rootCertificate, new Date()),
        }),
      ).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });

      const again = await postJson<RevocationResponse>(`${server.url}/ca/revoke`, { request });
      expect(again.status).toBe(200);
      expect(again.json).toEqual(res.json);
    });

    it('refuses a request signed by another certificate, a bare key, another CA, or naming another serial', async () => {
      const victim = await registered('Victim Vera');
      const attacker = await registered('Attacker Anton');
      const bySomeoneElse = await signRevocation(revocationBody(victim.serial), attacker.signer, [attacker.certificate]);
      expectError(await postJson(`${server.url}/ca/revoke`, { request: bySomeoneElse }), 403, 'ERR_SIGNATURE_INVALID', /certificate it revokes/);

      // The attacker's key under the victim's certificate: the signature does not verify.
      const borrowed = await signRevocation(revocationBody(victim.serial), attacker.signer, [victim.certificate]);
      expectError(await postJson(`${server.url}/ca/revoke`, { request: borrowed }), 403, 'ERR_SIGNATURE_INVALID');

      // The victim's own key, but as a bare JWK signer: revocation needs the certified signer.
      const { unsignedRevocationRequest } = await import('../../core/pki/index.js');
      const bare = await signStatement(unsignedRevocationRequest(revocationBody(victim.serial), Date.now()), victim.signer);
      expectError(await postJson(`${server.url}/ca/revoke`, { request: bare }), 403, 'ERR_CERT_UNTRUSTED');

      const otherCa = await makeTestCa('Other CA');
      const stranger = await otherCa.issue({ commonName: 'Stranger', role: 'shopper' });
      const foreign = await signRevocation(revocationBody(victim.serial), stranger.signer, stranger.chain);
      expectError(await postJson(`${server.url}/ca/revoke`, { request: foreign }), 403, 'ERR_CERT_UNTRUSTED');

      const wrongType = await signStatement(
        {
          type: 'semper.order',
          version: 1,
          dealId: 'deal-id-123456',
          issuedAt: new Date().toISOString(),
          body: { serial: victim.serial, reason: 'unspecified' },
        },
        victim.signer,
        x509Signer([victim.certificate]),
      );
      expectError(await postJson(`${server.url}/ca/revoke`, { request: wrongType }), 400, 'ERR_STATEMENT_TYPE');
      const badReason = await signStatement(
        unsignedRevocationRequest({ serial: victim.serial, reason: 'cACompromise' as 'unspecified' }, Date.now()),
        victim.signer,
        x509Signer([victim.certificate]),
      );
      expectError(await postJson(`${server.url}/ca/revoke`, { request: badReason }), 400, 'ERR_SCHEMA');
      expectError(await postJson(`${server.url}/ca/revoke`, { serial: victim.serial }), 400, 'ERR_SCHEMA');

      expect((await getJson(`${server.url}/ca/status/${victim.serial}`)).json).toEqual({ serial: victim.serial, status: 'good' });
      // The holder can still do it.
      const own = await signRevocation(revocationBody(victim.serial, 'superseded'), victim.signer, [victim.certificate]);
      expect((await postJson(`${server.url}/ca/revoke`, { request: own })).status).toBe(200);
    });

    it('publishes a fresh CRL: a stale one is refused by verifiers, the next GET is a newer one; the operator can revoke too', async () => {
      const first = (await getJson<CrlResponse>(`${server.url}/ca/crl`)).json;
      // Unchanged while current: the same CRL.
      expect((await getJson<CrlResponse>(`${server.url}/ca/crl`)).json.crlNumber).toBe(first.crlNumber);
      skewMs = 16 * MIN;
      try {
        await expect(verifyCrl(first.crl, ca.rootCertificate, new Date(clock()))).rejects.toMatchObject({
          code: 'ERR_REVOCATION_UNKNOWN',
          details: { check: 'stale' },
        });
        const next = (await getJson<CrlResponse>(`${server.url}/ca/crl`)).json;
        expect(BigInt(next.crlNumber)).toBeGreaterThan(BigInt(first.crlNumber));
        const v = await verifyCrl(next.crl, ca.rootCertificate, new Date(clock()));
        expect([...v.revokedSerials].sort()).toEqual([...(await verifyCrl(first.crl, ca.rootCertificate, new Date())).revokedSerials].sort());
      } finally {
        skewMs = 0;
      }

      const byOperator = await registered('Former Employee');
      const before = (await getJson<CrlResponse>(`${server.url}/ca/crl`)).json;
      const record = await ca.revoke(byOperator.serial, 'privilegeWithdrawn');
      expect(record.revocationReason).toBe('privilegeWithdrawn');
      const after = (await getJson<CrlResponse>(`${server.url}/ca/crl`)).json;
      expect(BigInt(after.crlNumber)).toBeGreaterThan(BigInt(before.crlNumber));
      expect((await verifyCrl(after.crl, ca.rootCertificate, new Date())).revokedSerials.has(byOperator.serial)).toBe(true);
      await expect(ca.revoke((await readCertificate(ca.rootCertificate)).serialNumber)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
      await expect(ca.revoke('0123456789abcdef')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    });

    it('keeps codes, revocations and the CRL number across a restart', async () => {
      const code = await ca.createRegistrationCode({ name: 'Restart Rita', validForMs: 10 * MIN });
      const before = (await getJson<CrlResponse>(`${server.url}/ca/crl`)).json;
      const reopened = await CaService.open({ ...location(), now: clock });
      try {
        const keys = await generateKeyPair('ES256');
        const reg = await reopened.registerShopper({ registrationCode: code, csr: await createCertificationRequest({ keys, commonName: 'x' }) });
        expect(reg.name).toBe('Restart Rita');
        await expect(
          reopened.registerShopper({ registrationCode: code, csr: await createCertificationRequest({ keys, commonName: 'x' }) }),
        ).rejects.toMatchObject({ code: 'ERR_REGISTRATION_CODE' });
        const crl = await reopened.currentCrl();
        expect(BigInt(crl.crlNumber)).toBeGreaterThanOrEqual(BigInt(before.crlNumber));
        const listed = (await verifyCrl(crl.crl, reopened.rootCertificate, new Date())).revokedSerials;
        expect(listed.size).toBeGreaterThanOrEqual(3);
        const signer = await signerFromKeyPair('ES256', keys);
        const request = await signRevocation(revocationBody(reg.serial, 'cessationOfOperation'), signer, [reg.certificate]);
        expect((await reopened.revokeByHolder(request)).revocationReason).toBe('cessationOfOperation');
      } finally {
        await reopened.close();
      }
      if (engine === 'sqlite') expect(statSync(join(tmp.dir, 'ca.sqlite')).mode & 0o777).toBe(0o600);
    });

    it.skipIf(engine === 'postgres')('migrates a version-1 register: serials with leading zero digits become canonical', async () => {
      const made = tempDataDir('ca-v1-root');
      const old = tempDataDir('ca-v1');
      try {
        // A root as version 1 stored it: made by today's CA, copied into a file of the version-1 layout.
        const first = await CaService.open({ dataDir: made.dir });
        const root = (await firstOf(first.database.db, sql<Record<string, unknown>>`SELECT * FROM ca_root`))!;
        const certificate = (await firstOf(first.database.db, sql<Record<string, unknown>>`SELECT * FROM certificates`))!;
        const rootSerial = canonicalSerial((await readCertificate(first.rootCertificate)).serialNumber);
        await first.close();
        const v1 = SqliteStore.open({ dataDir: old.dir, fileName: 'ca.sqlite', schema: [{ component: 'ca', migrations: CA_SCHEMA.migrations.slice(0, 1) }] });
        v1.db
          .prepare('INSERT INTO ca_root (id, private_key_pkcs8, certificate, created_at) VALUES (@id, @private_key_pkcs8, @certificate, @created_at)')
          .run(root);
        v1.db
          .prepare(
            `INSERT INTO certificates (serial, subject, common_name, role, origins, der, not_before, not_after, issued_at)
           VALUES ('00' || @serial, @subject, @common_name, @role, @origins, @der, @not_before, @not_after, @issued_at)`,
          )
          .run(certificate);
        v1.close();
        const reopened = await CaService.open({ dataDir: old.dir });
        try {
          expect((await reopened.getCertificate(rootSerial))?.serial).toBe(rootSerial);
          expect(await reopened.status(`000${rootSerial}`)).toBe('good');
          expect(await reopened.createRegistrationCode({ name: 'After Migration' })).toMatch(/^[0-9A-Z]{4}-/);
        } finally {
          await reopened.close();
        }
      } finally {
        made.remove();
        old.remove();
      }
    });
  });

  describe('mutation table (docs/mutation-pki.md): codes and the revocation endpoint', () => {
    it('a code of the wrong length is refused as such, and a code is only made with a positive validity', async () => {
      for (const typed of ['ABCD-EFGH-JKMN-PQRS-T', 'ABCD-EFGH-JKMN-PQR', 'ABCD-EFGH-JKMN-PQRS-TVWX']) {
        expectError((await registerShopper(server.url, typed)).res, 403, 'ERR_REGISTRATION_CODE', /XXXX-XXXX-XXXX-XXXX/);
      }
      for (const validForMs of [0, -MIN, Number.NaN]) {
        await expect(ca.createRegistrationCode({ name: 'Nobody', validForMs })).rejects.toMatchObject({
          code: 'ERR_SCHEMA',
          message: expect.stringMatching(/validForMs/),
        });
      }
    });

    it('limits revocation requests per client address (the 61st within a minute is 429)', async () => {
      const { unsignedRevocationRequest } = await import('../../core/pki/index.js');
      const signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
      const request = await signStatement(unsignedRevocationRequest(revocationBody('0a'), Date.now()), signer);
      for (let i = 0; i < 60; i++) expectError(await postJson(`${limited.url}/ca/revoke`, { request }), 403, 'ERR_CERT_UNTRUSTED');
      const refused = await postJson(`${limited.url}/ca/revoke`, { request });
      expectError(refused, 429, 'ERR_RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('mutation table (docs/mutation-pki.md): holder revocation by the keys the CA itself holds', () => {
    it("a request signed with the root's own key for the root, or for a certificate the CA never recorded, revokes nothing", async () => {
      const { importEs256Pkcs8 } = await import('../../server/storage/keys.js');
      const { issueCertificate } = await import('../../core/pki/index.js');
      const row = (await firstOf(ca.database.db, sql<{ private_key_pkcs8: Buffer }>`SELECT private_key_pkcs8 FROM ca_root WHERE id = 1`))!;
      const rootKeys = await importEs256Pkcs8(new Uint8Array(row.private_key_pkcs8));
      const rootSigner = await signerFromKeyPair('ES256', rootKeys);
      const rootSerial = canonicalSerial((await readCertificate(ca.rootCertificate)).serialNumber);
      const byRoot = await signRevocation(revocationBody(rootSerial), rootSigner, [ca.rootCertificate]);
      expectError(await postJson(`${server.url}/ca/revoke`, { request: byRoot }), 400, 'ERR_SCHEMA', /distrust it instead/);
      expect(await ca.status(rootSerial)).toBe('good');

      // A leaf signed with the root key outside the register (a leaked key, a restored backup): not this CA's to revoke.
      const keys = await generateKeyPair('ES256');
      const unrecorded = await issueCertificate({
        issuerCertificate: ca.rootCertificate,
        issuerPrivateKey: rootKeys.privateKey,
        subjectPublicKey: keys.publicKey,
        commonName: 'Off The Books',
        role: 'shopper',
        notBefore: new Date(Date.now() - MIN),
        notAfter: new Date(Date.now() + DAY),
      });
      const serial = canonicalSerial((await readCertificate(unrecorded)).serialNumber);
      const request = await signRevocation(revocationBody(serial), await signerFromKeyPair('ES256', keys), [unrecorded]);
      expectError(await postJson(`${server.url}/ca/revoke`, { request }), 404, 'ERR_NOT_FOUND');
      expect(await ca.status(serial)).toBe('unknown');
    });
  });
});
