/**
 * The bank's evidence export: GET /bank/deals/:reference/evidence (operator token) — the deal's
 * transfer order, the bank's receipt and proof, checked by verifyBundle; nothing of other deals.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EvidenceBundle, verifyBundle } from '../../core/evidence/index.js';
import type { Statement } from '../../core/statements/index.js';
import { createBankApp } from '../../server/bank/index.js';
import { closeCheckingInvariants, type Customer, customer, openTestBank, T0, type TestBank } from '../core/payment/helpers.js';
import { order } from '../core/payment/orders.js';

let t: TestBank;
let alice: Customer;
let shop: Customer;

beforeEach(async () => {
  t = await openTestBank();
  alice = await customer(t.bank, 10_000);
  shop = await customer(t.bank);
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
});
