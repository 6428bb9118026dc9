/** The extension's exportEvidence operation: a stored purchase's archive → a bundle that verifies, goods attached. */
import { describe, expect, it } from 'vitest';
import { EvidenceBundle, verifyBundle } from '../../../core/evidence/index.js';
import { statementDigest, type Statement } from '../../../core/statements/index.js';
import { MemoryDealStore, type PurchaseRecord } from '../../../extension/deals/records.js';
import { evidenceHandlers } from '../../../extension/operations/handlers/evidence.js';
import type { OperationContext } from '../../../extension/operations/context.js';
import { makeEvidenceDeal } from '../../evidence/deal-fixture.js';

describe('exportEvidence (extension operation)', () => {
  it("exports a deal's archived statements and delivered goods as a bundle that verifies", async () => {
    const f = await makeEvidenceDeal();
    const store = new MemoryDealStore();
    const record = {
      kind: 'purchase',
      dealId: f.dealId,
      origin: 'http://127.0.0.1:8451',
      createdAt: 1,
      updatedAt: 2,
      state: { phase: 'completed', dealId: f.dealId },
      status: 'completed',
      terminal: true,
    } as unknown as PurchaseRecord;
    await store.create(record);
    const purchase = f.bundle.statements.slice(0, 4).map((s) => s.statement as Statement<unknown>);
    await store.commit(
      record,
      await Promise.all(
        purchase.map(async (statement, i) => ({
          dealId: f.dealId,
          direction: i === 1 ? ('sent' as const) : ('received' as const),
          type: statement.type,
          statement,
          digest: await statementDigest(statement),
          archivedAt: i,
        })),
      ),
    );
    const ctx = { store, now: () => Date.now() } as unknown as OperationContext;
    const { fileName, json } = await evidenceHandlers.exportEvidence({ dealId: f.dealId }, ctx);
    expect(fileName).toBe(`semper-evidence-${f.dealId}.json`);
    const bundle = EvidenceBundle.parse(JSON.parse(json));
    expect(bundle.deal).toMatchObject({ id: f.dealId, kind: 'purchase', exporter: 'Semper browser extension' });
    expect(bundle.statements.map((s) => (s.statement as Statement).type)).toEqual([
      'semper.offer',
      'semper.order',
      'semper.order-confirmation',
      'semper.delivery',
    ]);
    expect(bundle.attachments).toHaveLength(1);
    const report = await verifyBundle(bundle, { roots: [f.root] });
    expect(report.ok).toBe(true);
    expect(report.attachments).toEqual([expect.objectContaining({ ok: true, referenced: true, mediaType: 'text/plain' })]);
    await expect(evidenceHandlers.exportEvidence({ dealId: 'no-such-deal-000000' }, ctx)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
