/** Disputes (extension/disputes): raise one about a finished deal with a trusted arbiter; list a deal's verdicts; check a verdict's time stamp. */
import { SemperError } from '../../../core/errors.js';
import { complaintToSign, listDisputes, raiseDispute, raiseTokenSignedDispute, type DisputeDeps, type DisputeInput } from '../../disputes/raise.js';
import { verdictTimestamp } from '../../disputes/timestamp.js';
import type { Handlers, OperationContext } from '../context.js';
import type { OperationRequest } from '../table.js';

function disputeDeps(ctx: OperationContext): DisputeDeps {
  if (!ctx.arbiters) throw new SemperError('ERR_INTERNAL', 'this context has no trusted arbiters');
  return { store: ctx.store, keys: ctx.keys, roots: ctx.roots, arbiters: ctx.arbiters, now: ctx.now, ...(ctx.fetchImpl ? { fetchImpl: ctx.fetchImpl } : {}) };
}

const disputeInput = (r: OperationRequest<'disputes.raise'>): DisputeInput => ({
  dealId: r.dealId,
  claim: r.claim,
  arbiter: r.arbiter,
  ...(r.statement ? { statement: r.statement } : {}),
});

export const disputeHandlers: Handlers<
  'disputes.raise' | 'disputes.complaintToSign' | 'disputes.raiseSigned' | 'disputes.list' | 'disputes.openWindow' | 'disputes.timestamp'
> = {
  async 'disputes.raise'(request, ctx) {
    return { dispute: await raiseDispute(disputeDeps(ctx), disputeInput(request)) };
  },
  async 'disputes.complaintToSign'(request, ctx) {
    return complaintToSign(disputeDeps(ctx), ctx.identity, disputeInput(request));
  },
  async 'disputes.raiseSigned'(request, ctx) {
    if (!ctx.webauthn) throw new SemperError('ERR_INTERNAL', 'this context cannot verify security-key signatures');
    return { dispute: await raiseTokenSignedDispute(disputeDeps(ctx), ctx.webauthn, { ...disputeInput(request), complaint: request.complaint }) };
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
