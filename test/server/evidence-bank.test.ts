/**
 * The bank's evidence export: GET /bank/deals/:reference/evidence (operator token) — the deal's
 * transfer order, the bank's receipt and proof, checked by verifyBundle; nothing of other deals.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EvidenceBundle, verifyBundle, verifyRfc3161Timestamp } from '../../core/evidence/index.js';
import { statementDigest, type Statement } from '../../core/statements/index.js';
import { CaService } from '../../server/ca/index.js';
import { StatementStamps } from '../../server/storage/statement-stamps.js';
import { inProcessTimestamper, openMarketplaceTsa, type TsaService } from '../../server/tsa/index.js';
import { tempDataDir } from './helpers.js';
import { createBankApp } from '../../server/bank/index.js';
import { bankWithAliceAndShop, closeCheckingInvariants, type Customer, T0, type TestBank } from '../core/payment/helpers.js';
import { order } from '../core/payment/orders.js';

const stampDir = tempDataDir('bank-stamps');
let ca: CaService;
let tsa: TsaService;
let t: TestBank;

beforeAll(async () => {
  ca = await CaService.open({ dataDir: stampDir.dir });
  tsa = await openMarketplaceTsa({ dataDir: stampDir.dir, ca });
});
afterAll(() => {
  tsa?.close();
  ca?.close();
  stampDir.remove();
});
let alice: Customer;
let shop: Customer;

beforeEach(async () => {
  ({ t, alice, shop } = await bankWithAliceAndShop({ aliceFunds: 10_000 }));
});
afterEach(() => closeCheckingInvariants(t));

describe('bank evidence export', () => {
  it("exports one deal's payment (order, receipt, proof) as a bundle that verifies; operator only; 404 for an unknown deal", async () => {
    const mine = await order(alice, shop, 2_500, { reference: 'deal-evidence-0001' });
    const other = await order(alice, shop, 1_000, { reference: 'deal-evidence-0002' });
    await t.bank.transfer(mine);
    await t.bank.transfer(other);
    const app = createBankApp(t.bank, { operatorToken: 'bank-operator', now: () => T0 });
    const path = '/bank/deals/deal-evidence-0001/evidence';
    expect((await app.request(path)).status).toBe(401);
    const auth = { headers: { authorization: 'Bearer bank-operator' } };
    const res = await app.request(path, auth);
    expect(res.status).toBe(200);
    const bundle = EvidenceBundle.parse(await res.json());
    expect(bundle.deal).toMatchObject({ id: 'deal-evidence-0001', kind: 'payment', exporter: 'bank' });
    const types = bundle.statements.map((s) => (s.statement as Statement).type).sort();
    expect(types).toEqual(['semper.bank.transfer', 'semper.bank.transfer-receipt', 'semper.payment.proof']);
    expect(bundle.statements.every((s) => (s.statement as Statement).dealId === 'deal-evidence-0001')).toBe(true);
    const report = await verifyBundle(bundle, { roots: [] });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect((await app.request('/bank/deals/deal-evidence-9999/evidence', auth)).status).toBe(404);
    expect((await app.request('/bank/deals/x/evidence', auth)).status).toBe(400);
  });

  it('stamps the receipt and the proof it answers a transfer with (over HTTP), and exports their tokens', async () => {
    const stamps = StatementStamps.open({ dataDir: stampDir.dir, party: 'bank', timestamper: inProcessTimestamper(tsa) });
    const app = createBankApp(t.bank, { stamps, now: () => T0 });
    const o = await order(alice, shop, 700, { reference: 'deal-evidence-0003' });
    const res = await app.request('/bank/transfer', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request: o }) });
    expect(res.status).toBe(200);
    await stamps.idle();
    const bundle = EvidenceBundle.parse(await (await app.request('/bank/deals/deal-evidence-0003/evidence')).json());
    const typeOf = new Map<string, string>();
    for (const s of bundle.statements) typeOf.set(await statementDigest(s.statement as Statement), (s.statement as Statement).type);
    expect(bundle.timestamps.map((ts) => typeOf.get(ts.of)).sort()).toEqual(['semper.bank.transfer-receipt', 'semper.payment.proof']);
    const report = await verifyBundle(bundle, { roots: [ca.rootCertificate], verifyTimestamp: verifyRfc3161Timestamp });
    expect(report.timestamps.map((x) => x.status)).toEqual(['verified', 'verified']);
    await stamps.close();
  });
});
