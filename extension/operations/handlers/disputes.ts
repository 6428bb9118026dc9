/** Disputes (extension/disputes): raise one about a finished deal with a trusted arbiter; list a deal's verdicts; check a verdict's time stamp. */
import { SemperError } from '../../../core/errors.js';
import { listDisputes, raiseDispute } from '../../disputes/raise.js';
import { verdictTimestamp } from '../../disputes/timestamp.js';
import type { Handlers } from '../context.js';

export const disputeHandlers: Handlers<'disputes.raise' | 'disputes.list' | 'disputes.openWindow' | 'disputes.timestamp'> = {
  async 'disputes.raise'(request, ctx) {
    if (!ctx.arbiters) throw new SemperError('ERR_INTERNAL', 'this context has no trusted arbiters');
    const dispute = await raiseDispute(
      { store: ctx.store, keys: ctx.keys, roots: ctx.roots, arbiters: ctx.arbiters, now: ctx.now, ...(ctx.fetchImpl ? { fetchImpl: ctx.fetchImpl } : {}) },
      { dealId: request.dealId, claim: request.claim, arbiter: request.arbiter, ...(request.statement ? { statement: request.statement } : {}) },
    );
    return { dispute };
  },
  async 'disputes.list'({ dealId }, { store }) {
    return { disputes: await listDisputes(store, dealId) };
  },
  async 'disputes.openWindow'({ dealId }, { store, openWindow }) {
    // Only a deal of the archive (the window reads everything else itself, through the operations above).
    const record = await store.get(dealId);
    if (!record || record.kind === 'wallet') throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
    await openWindow('dispute', dealId);
    return { opened: true };
  },
  async 'disputes.timestamp'({ dealId, verdict }, { store, arbiters, tsas, roots, getJson, checkTimestamp }) {
    if (!arbiters || !tsas || !getJson || !checkTimestamp) throw new SemperError('ERR_INTERNAL', 'this context cannot check time stamps');
    return verdictTimestamp({ store, arbiters, tsas, roots, getJson, checkTimestamp }, { dealId, verdict });
  },
};
