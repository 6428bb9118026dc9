/**
 * server/ttp: the Hono app without a port (app.request), and real HTTP on 127.0.0.1 (port 0):
 * concurrent abort/resolve races end in one decision per exchange, also with two TTP processes
 * sharing one database; a restart keeps every record and answers with the same statement. Each
 * suite runs on SQLite and on PostgreSQL (test/helpers/engines.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTtpApp, startTtpServer, TtpService, type TtpStoreLocation } from '../../server/ttp/index.js';
import { ENGINES, locations } from '../helpers/engines.js';
import BetterSqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { Database } from '../../server/storage/database.js';
import { EXCHANGE_TYPES, TTP_TYPES } from '../../core/exchange/index.js';
import { canonicalJson } from '../../core/encoding/index.js';
import { createRootCertificate, validateChain } from '../../core/pki/index.js';
import { ttpIssuer } from '../helpers/exchange.js';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { verifyStatement, type Statement } from '../../core/statements/index.js';
import { T0, type Keys, type Scenario } from '../protocols/fixtures.js';
import { contractSetup, prepareExchanges, request } from './ttp-fixtures.js';

let keys: Keys;
let sc: Scenario;
let dir: string;
const clock = () => T0 + 1_000;

beforeAll(async () => {
  ({ keys, sc } = await contractSetup());
  dir = mkdtempSync(join(tmpdir(), 'semper-ttp-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(ENGINES)('TTP on %s', (engine) => {
  const location = locations<TtpStoreLocation>(
    engine,
    (file) => ({ path: join(dir, `${engine}-${file}`) }),
    (url) => ({ url }),
  );

  async function service(file: string): Promise<TtpService> {
    return new TtpService({ signer: keys.ttp, certificateChain: keys.ttpChain, trustRoots: [keys.root], store: await location(file), clock });
  }

  async function post(fetcher: (path: string, init: RequestInit) => Promise<Response>, req: Statement) {
    const res = await fetcher('/ttp/requests', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request: req }) });
    return { status: res.status, body: (await res.json()) as { answer?: Statement; decided?: boolean; error?: { code: string; message: string } } };
  }

  describe('TTP app (no port)', () => {
    it('decides once, answers repeats and the other party with the same signed statement', async () => {
      const svc = await service('app.sqlite');
      const app = createTtpApp(svc);
      const fetcher = (path: string, init: RequestInit) => Promise.resolve(app.request(path, init));
      const [ex] = await prepareExchanges(sc, 1, 7);
      const info = (await (await app.request('/ttp')).json()) as { keyId: string; certificateChain: string[] };
      expect(info.keyId).toBe(keys.ttp.keyId);
      expect(info.certificateChain).toEqual(keys.ttpChain);

      const first = await post(fetcher, ex!.abort);
      expect(first.status).toBe(200);
      expect(first.body.decided).toBe(true);
      expect(first.body.answer!.type).toBe(TTP_TYPES.abortToken);
      const v = await verifyStatement(first.body.answer, {
        types: [TTP_TYPES.abortToken],
        trust: { roots: [keys.root], now: new Date(clock()) },
        requireCertificate: true,
      });
      expect(v.chain?.leaf.role).toBe('ttp');

      const again = await post(fetcher, ex!.abort);
      expect(again.body.decided).toBe(false);
      expect(canonicalJson(again.body.answer)).toBe(canonicalJson(first.body.answer));
      const resolve = await post(fetcher, ex!.resolve);
      expect(resolve.status).toBe(200);
      expect(canonicalJson(resolve.body.answer)).toBe(canonicalJson(first.body.answer));

      const status = await app.request(`/ttp/exchanges/${ex!.exchangeId}`);
      expect(await status.json()).toMatchObject({ exchangeId: ex!.exchangeId, decision: 'aborted' });
      expect((await app.request(`/ttp/exchanges/${'A'.repeat(43)}`)).status).toBe(404);
      await svc.close();
    });

    it('refuses what decides nothing, with a typed error', async () => {
      const svc = await service('refuse.sqlite');
      const app = createTtpApp(svc);
      const fetcher = (path: string, init: RequestInit) => Promise.resolve(app.request(path, init));
      const [ex] = await prepareExchanges(sc, 1, 8);
      // Not JSON / no request / not a statement
      expect((await app.request('/ttp/requests', { method: 'POST', body: 'nope' })).status).toBe(400);
      expect((await post(fetcher, { hello: 1 } as unknown as Statement)).body.error?.code).toBe('ERR_STATEMENT_TYPE');
      expect((await post(fetcher, { ...ex!.abort, version: 2 } as unknown as Statement)).body.error?.code).toBe('ERR_SCHEMA');
      // A stranger's request for the exchange
      const stranger = await request(keys.mallory, EXCHANGE_TYPES.abortRequest, sc.dealId, { exchangeId: ex!.exchangeId, m1: ex!.m1 });
      const s = await post(fetcher, stranger);
      expect(s.status).toBe(403);
      expect(s.body.error?.code).toBe('ERR_SIGNATURE_INVALID');
      // The responder may not abort a contract-signing exchange
      const rAbort = await request(keys.r, EXCHANGE_TYPES.abortRequest, sc.dealId, { exchangeId: ex!.exchangeId, m1: ex!.m1 });
      const ra = await post(fetcher, rAbort);
      expect(ra.status).toBe(409);
      expect(ra.body.error?.code).toBe('ERR_TTP');
      // A request naming another exchange than h(m1)
      const [other] = await prepareExchanges(sc, 1, 9);
      const mixed = await request(keys.o, EXCHANGE_TYPES.abortRequest, sc.dealId, { exchangeId: other!.exchangeId, m1: ex!.m1 });
      expect((await post(fetcher, mixed)).body.error?.code).toBe('ERR_REPLAY');
      // Tampered signature
      const tampered = { ...ex!.abort, body: { ...ex!.abort.body, exchangeId: other!.exchangeId } };
      expect((await post(fetcher, tampered)).body.error?.code).toBe('ERR_SIGNATURE_INVALID');
      // Nothing was decided by any of these
      expect(await svc.record(ex!.exchangeId)).toBeNull();
      await svc.close();
    });

    it('limits requests per client with the one signed-statement policy: 429 ERR_RATE_LIMITED, nothing decided', async () => {
      const svc = await service('limited.sqlite');
      let t = clock();
      const app = createTtpApp(svc, { signedStatementsPerMinute: 2, now: () => t });
      const fetcher = (path: string, init: RequestInit) => Promise.resolve(app.request(path, init));
      const [a, b] = await prepareExchanges(sc, 2, 10);
      expect((await post(fetcher, a!.abort)).status).toBe(200);
      expect((await post(fetcher, { hello: 1 } as unknown as Statement)).status).toBe(400);
      const refused = await app.request('/ttp/requests', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request: b!.abort }),
      });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_RATE_LIMITED');
      expect(await svc.record(b!.exchangeId)).toBeNull();
      // Reading decisions is not limited.
      expect((await app.request(`/ttp/exchanges/${a!.exchangeId}`)).status).toBe(200);
      t += 61_000;
      expect((await post(fetcher, b!.abort)).body.decided).toBe(true);
      await svc.close();
    });

    it('TtpService.create gets its certificate from a CA and names its key', async () => {
      const notBefore = new Date(Date.UTC(2025, 0, 1));
      const notAfter = new Date(Date.UTC(2040, 0, 1));
      const caKeys = await generateKeyPair('ES256');
      const rootCertificate = await createRootCertificate({ commonName: 'Marketplace CA', keys: caKeys, notBefore, notAfter });
      const ca = ttpIssuer({ root: rootCertificate, keys: caKeys }, { notBefore, notAfter });
      const svc = await TtpService.create({ ca, dbPath: ':memory:', commonName: 'Marketplace TTP' });
      const chain = await validateChain(svc.info().certificateChain, { roots: [rootCertificate], now: new Date() });
      expect(chain.leaf.role).toBe('ttp');
      expect(chain.leaf.commonName).toBe('Marketplace TTP');
      expect(svc.keyId).toBe(svc.signer.keyId);
      await svc.close();
    });
  });

  describe('TTP over real HTTP on 127.0.0.1', () => {
    it('concurrent abort and resolve races: one decision per exchange, everyone gets it', async () => {
      const svc = await service('race.sqlite');
      const server = await startTtpServer(svc);
      try {
        const fetcher = (path: string, init: RequestInit) => fetch(server.url + path, init);
        const exchanges = await prepareExchanges(sc, 24, 11);
        // Per exchange: the originator aborts and the responder resolves, three times each, all at once, shuffled.
        const jobs = exchanges.flatMap((ex) =>
          [0, 1, 2].flatMap(() => [
            { ex, req: ex.abort },
            { ex, req: ex.resolve },
          ]),
        );
        for (let i = jobs.length - 1; i > 0; i--) {
          const j = (i * 7919) % (i + 1);
          [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
        }
        const results = await Promise.all(jobs.map(async (j) => ({ ex: j.ex, res: await post(fetcher, j.req) })));
        for (const ex of exchanges) {
          const mine = results.filter((r) => r.ex === ex);
          expect(mine.every((r) => r.res.status === 200)).toBe(true);
          const answers = new Set(mine.map((r) => canonicalJson(r.res.body.answer)));
          expect(answers.size, `exchange ${ex.exchangeId}: ${answers.size} different answers`).toBe(1);
          expect(mine.filter((r) => r.res.body.decided).length).toBe(1);
          const record = (await svc.record(ex.exchangeId))!;
          const type = mine[0]!.res.body.answer!.type;
          expect(type).toBe(record.decision === 'aborted' ? TTP_TYPES.abortToken : TTP_TYPES.resolution);
        }
        const store = svc.store as unknown as { counts(): Promise<{ aborted: number; resolved: number }> };
        const counts = await store.counts();
        expect(counts.aborted + counts.resolved).toBe(exchanges.length);
      } finally {
        await server.close();
        await svc.close();
      }
    });

    it('two TTP services on one database still decide each exchange once', async () => {
      const a = await service('shared.sqlite');
      const b = await service('shared.sqlite');
      const sa = await startTtpServer(a);
      const sb = await startTtpServer(b);
      try {
        const exchanges = await prepareExchanges(sc, 16, 12);
        const results = await Promise.all(
          exchanges.flatMap((ex) => [
            post((p, i) => fetch(sa.url + p, i), ex.abort).then((res) => ({ ex, res })),
            post((p, i) => fetch(sb.url + p, i), ex.resolve).then((res) => ({ ex, res })),
          ]),
        );
        for (const ex of exchanges) {
          const mine = results.filter((r) => r.ex === ex);
          expect(new Set(mine.map((r) => canonicalJson(r.res.body.answer))).size).toBe(1);
          expect(mine.filter((r) => r.res.body.decided).length).toBe(1);
        }
      } finally {
        await sa.close();
        await sb.close();
        await a.close();
        await b.close();
      }
    });

    it('a decision row refuses UPDATE and DELETE in the database itself (and TRUNCATE on PostgreSQL)', async () => {
      const svc = await service('immutable.sqlite');
      const [ex] = await prepareExchanges(sc, 1, 14);
      expect((await svc.handle(ex!.abort)).decided).toBe(true);
      const where = await location('immutable.sqlite');
      const database = 'url' in where ? Database.postgres(where.url) : Database.sqlite(new BetterSqlite(where.path));
      try {
        const attempts = [
          sql`UPDATE ttp_exchanges SET decision = 'resolved'`,
          sql`DELETE FROM ttp_exchanges`,
          ...(database.engine === 'postgres' ? [sql`TRUNCATE ttp_exchanges`] : []),
        ];
        for (const attempt of attempts) await expect(database.write((tx) => attempt.execute(tx))).rejects.toThrow(/never|append-only/);
        expect((await svc.record(ex!.exchangeId))?.decision).toBe('aborted');
      } finally {
        await database.close();
        await svc.close();
      }
    });

    it('a restart keeps every record and answers with the same signed statement', async () => {
      const exchanges = await prepareExchanges(sc, 6, 13);
      const first = await service('restart.sqlite');
      const s1 = await startTtpServer(first);
      const before = new Map<string, string>();
      try {
        for (const [i, ex] of exchanges.entries()) {
          const res = await post((p, init) => fetch(s1.url + p, init), i % 2 ? ex.abort : ex.resolve);
          expect(res.status).toBe(200);
          before.set(ex.exchangeId, canonicalJson(res.body.answer));
        }
      } finally {
        await s1.close();
        await first.close();
      }
      const second = await service('restart.sqlite');
      const s2 = await startTtpServer(second);
      try {
        for (const [i, ex] of exchanges.entries()) {
          // The other request kind after the restart: still the first decision.
          const res = await post((p, init) => fetch(s2.url + p, init), i % 2 ? ex.resolve : ex.abort);
          expect(res.status).toBe(200);
          expect(res.body.decided).toBe(false);
          expect(canonicalJson(res.body.answer)).toBe(before.get(ex.exchangeId));
        }
      } finally {
        await s2.close();
        await second.close();
      }
    });
  });

  describe('one database per TTP', () => {
    it("refuses a second TTP key a database that keeps another TTP's decisions; its own TTP reopens it", async () => {
      const store = await location('owned.sqlite');
      const open = (signer: Signer) => new TtpService({ signer, certificateChain: keys.ttpChain, trustRoots: [keys.root], store, clock });
      const owner = await open(keys.ttp).opened();
      const [ex] = await prepareExchanges(sc, 1, 41);
      expect((await owner.handle(ex!.abort)).decided).toBe(true);
      await owner.close();

      // Another TTP (a second TTP of a k-of-n set, configured with the first one's database):
      // it would answer with the first TTP's decisions. Refused, before any request is decided.
      const intruder = open(await signerFromKeyPair('ES256', await generateKeyPair('ES256')));
      await expect(intruder.handle(ex!.resolve)).rejects.toMatchObject({ code: 'ERR_KEY' });
      await expect(intruder.opened()).rejects.toMatchObject({ code: 'ERR_KEY', message: expect.stringContaining(keys.ttp.keyId) });

      const again = await open(keys.ttp).opened();
      const repeat = await again.handle(ex!.resolve);
      expect(repeat.decided).toBe(false);
      expect(repeat.answer.type).toBe(TTP_TYPES.abortToken);
      await again.close();
    });
  });
});
