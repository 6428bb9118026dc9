/**
 * What the parts of the operation API share (operations.ts, exchange-operations.ts,
 * identity-operations.ts): the common request schemas, and how an archived statement is shown.
 * Its own module because operations.ts spreads the other parts in at load time.
 */
import { z } from 'zod';
import { DealId } from '../core/protocol/commerce.js';
import type { Statement } from '../core/statements/index.js';
import type { ArchiveEntry } from './record-store.js';

export const Fingerprint = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
export const Empty = z.strictObject({});
export const ByDeal = z.strictObject({ dealId: DealId });

/** An archived statement of a deal (purchase or exchange), as getDeal / getExchange return it. */
export interface ArchivedStatementView {
  type: string;
  direction: 'sent' | 'received';
  digest: string;
  issuedAt: string;
  archivedAt: string;
  statement: Statement<unknown>;
}

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
