/** The shopper's history (issue 12): every deal of every kind (searched in start.ts); a deal's statements as a timeline; what it delivered, as files. */
import { SemperError } from '../../../core/errors.js';
import { historyRow } from '../../history/search.js';
import { timelineOf } from '../../history/timeline.js';
import { goodsOf } from '../../history/goods.js';
import type { Handlers } from '../context.js';

export const historyHandlers: Handlers<'history.timeline' | 'history.goods'> = {
  async 'history.timeline'({ dealId }, { store }) {
    const record = await store.get(dealId);
    const row = record ? historyRow(record) : undefined;
    if (!row) throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
    return { deal: row, ...(await timelineOf(await store.archiveOf(dealId))) };
  },
  async 'history.goods'({ dealId }, { store }) {
    const record = await store.get(dealId);
    if (!record || record.kind === 'wallet') throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
    return { files: goodsOf(record, await store.archiveOf(dealId)) };
  },
};
