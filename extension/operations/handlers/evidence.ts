/**
 * exportEvidence: a deal's evidence bundle (core/evidence), for the popup's "Export evidence"
 * button. Every statement of the deal in its archive and record (statements carried inside others
 * too), and the delivered goods as attachments, so "the goods don't match the offer" can be judged.
 */
import { decodeBase64url, utf8 } from '../../../core/encoding/index.js';
import { SemperError } from '../../../core/errors.js';
import { buildBundle, bundleToJson, collectStatements, roleOf } from '../../../core/evidence/index.js';
import { DeliveryBody, STATEMENT_TYPES } from '../../../core/protocol/commerce.js';
import type { Handlers } from '../context.js';

export const evidenceHandlers: Handlers<'exportEvidence'> = {
  async exportEvidence({ dealId }, { store, now }) {
    const record = await store.get(dealId);
    if (!record) throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
    const archive = await store.archiveOf(dealId);
    const { statements } = await collectStatements([archive.map((a) => a.statement), record], dealId);
    if (statements.length === 0) throw new SemperError('ERR_NOT_FOUND', `deal ${dealId} holds no signed statement yet`);
    const attachments = statements
      .filter((s) => s.type === STATEMENT_TYPES.delivery)
      .flatMap((s) => DeliveryBody.safeParse(s.body).data?.goods ?? [])
      .map((g) => ({ mediaType: g.mediaType, data: g.encoding === 'utf8' ? utf8(g.content) : decodeBase64url(g.content) }));
    const bundle = await buildBundle({
      deal: { id: dealId, kind: record.kind, exporter: 'Semper browser extension' },
      statements: statements.map((statement) => ({ statement, role: roleOf(statement) })),
      attachments,
      now: now(),
    });
    return { fileName: `semper-evidence-${dealId}.json`, json: bundleToJson(bundle) };
  },
};
