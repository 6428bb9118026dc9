/** How stored things are shown through the operation API (shared by the handlers of every kind). */
import type { ArchiveEntry, DealRecord } from '../deals/records.js';
import type { ArchivedStatementView } from './table.js';
import { SemperError } from '../../core/errors.js';
import type { DealKind } from '../deals/records.js';
import type { DealStore } from '../deals/records.js';

export function archivedStatementView(a: ArchiveEntry): ArchivedStatementView {
  return {
    type: a.type,
    direction: a.direction,
    digest: a.digest,
    issuedAt: a.statement.issuedAt,
    archivedAt: new Date(a.archivedAt).toISOString(),
    statement: a.statement,
  };
}

/** A stored deal of one kind, or ERR_NOT_FOUND (a deal of another kind is not found either). */
export async function requireDeal<K extends DealKind>(store: DealStore, dealId: string, kind: K): Promise<Extract<DealRecord, { kind: K }>> {
  const record = await store.get(dealId);
  if (!record || record.kind !== kind) throw new SemperError('ERR_NOT_FOUND', `no ${kind === 'purchase' ? 'deal' : kind} ${dealId}`);
  return record as Extract<DealRecord, { kind: K }>;
}
