/**
 * A deal's evidence bundle (core/evidence) from the worker's store: every statement of the deal in
 * its archive and record (statements carried inside others too), the delivered goods as
 * attachments, so "the goods don't match the offer" can be judged, and the time stamps kept with
 * archived statements. The popup's "Export evidence" (operations/handlers/evidence.ts) and a
 * dispute (disputes/raise.ts) file the same bundle.
 */
import { decodeBase64url, utf8 } from '../../core/encoding/index.js';
import { SemperError } from '../../core/errors.js';
// Not the core/evidence barrel: it re-exports the RFC 3161 check, whose pkijs would load with the worker (issue 13).
import { buildBundle, type EvidenceBundle } from '../../core/evidence/bundle.js';
import { collectStatements, roleOf } from '../../core/evidence/collect.js';
import { DeliveryBody, STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import type { DealRecord, DealStore } from '../deals/records.js';

export async function dealBundle(store: DealStore, dealId: string, now: number): Promise<{ record: DealRecord; bundle: EvidenceBundle }> {
  const record = await store.get(dealId);
  if (!record) throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
  const archive = await store.archiveOf(dealId);
  const { statements } = await collectStatements([archive.map((a) => a.statement), record], dealId);
  if (statements.length === 0) throw new SemperError('ERR_NOT_FOUND', `deal ${dealId} holds no signed statement yet`);
  const attachments = statements
    .filter((s) => s.type === STATEMENT_TYPES.delivery)
    .flatMap((s) => DeliveryBody.safeParse(s.body).data?.goods ?? [])
    .map((g) => ({ mediaType: g.mediaType, data: g.encoding === 'utf8' ? utf8(g.content) : decodeBase64url(g.content) }));
  // The time stamps kept with archived statements (a verdict's, once checked: disputes/timestamp.ts).
  const timestamps = archive.flatMap((a) => (a.timestamp ? [{ of: a.digest, token: a.timestamp }] : []));
  const bundle = await buildBundle({
    deal: { id: dealId, kind: record.kind, exporter: 'Semper browser extension' },
    statements: statements.map((statement) => ({ statement, role: roleOf(statement) })),
    timestamps,
    attachments,
    now,
  });
  return { record, bundle };
}
