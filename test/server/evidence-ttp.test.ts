/** The TTP's evidence export: GET /ttp/exchanges/:id/evidence (operator token), checked by verifyBundle. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceBundle, verifyBundle } from '../../core/evidence/index.js';
import { TTP_TYPES, EXCHANGE_TYPES } from '../../core/exchange/index.js';
import type { Statement } from '../../core/statements/index.js';
import { createTtpApp, TtpService } from '../../server/ttp/index.js';
import { T0, type Keys, type Scenario } from '../protocols/fixtures.js';
import { contractSetup, prepareExchanges } from './ttp-fixtures.js';

let keys: Keys;
let sc: Scenario;
let dir: string;
const clock = () => T0 + 1_000;
beforeAll(async () => {
  ({ keys, sc } = await contractSetup());
  dir = mkdtempSync(join(tmpdir(), 'semper-ttp-evidence-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TTP evidence export', () => {
  it('exports a resolved exchange (resolution, request, m1, m2) as a bundle that verifies; operator only; tar on request', async () => {
    const svc = new TtpService({ signer: keys.ttp, certificateChain: keys.ttpChain, trustRoots: [keys.root], store: { path: join(dir, 'ttp.sqlite') }, clock });
    const app = createTtpApp(svc, { operatorToken: 'ttp-operator-token', now: clock });
    const [ex] = await prepareExchanges(sc, 1, 11);
    const res = await app.request('/ttp/requests', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: ex!.resolve }),
    });
    expect(res.status).toBe(200);
    const path = `/ttp/exchanges/${ex!.exchangeId}/evidence`;
    expect((await app.request(path)).status).toBe(401);
    expect((await app.request(path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const auth = { headers: { authorization: 'Bearer ttp-operator-token' } };
    const ok = await app.request(path, auth);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toContain(`semper-evidence-${sc.dealId}.json`);
    const bundle = EvidenceBundle.parse(await ok.json());
    expect(bundle.deal).toMatchObject({ id: sc.dealId, exporter: 'ttp' });
    const types = bundle.statements.map((s) => (s.statement as Statement).type);
    expect(types[0]).toBe(TTP_TYPES.resolution);
    expect(types).toContain(EXCHANGE_TYPES.propose);
    expect(types).toContain(EXCHANGE_TYPES.accept);
    const report = await verifyBundle(bundle, { roots: [keys.root] });
    expect(report.problems).toEqual([]);
    expect(report.statements.map((s) => s.problems)).toEqual(bundle.statements.map(() => []));
    expect(report.ok).toBe(true);
    expect(report.statements[0]!.proves.join(' ')).toMatch(/resolved the exchange/);
    const tar = await app.request(`${path}?format=tar`, auth);
    expect(tar.headers.get('content-type')).toBe('application/x-tar');
    expect(new TextDecoder().decode(new Uint8Array(await tar.arrayBuffer()).subarray(257, 262))).toBe('ustar');
    expect((await app.request(`/ttp/exchanges/${'A'.repeat(43)}/evidence`, auth)).status).toBe(404);
    expect((await app.request('/ttp/exchanges/short/evidence', auth)).status).toBe(400);
    svc.close();
  });
});
