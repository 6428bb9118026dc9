/** Operations on exchange deals: the trusted window's decision, and the popup's list with outcome and evidence. */
import { SemperError } from '../../../core/errors.js';
import { informationText } from '../../../core/commerce/exchange-deal.js';
import { TTP_TYPES } from '../../../core/exchange/index.js';
import type { Statement } from '../../../core/statements/index.js';
import type { ArchiveEntry, ExchangeRecord } from '../../deals/records.js';
import type { Handlers } from '../context.js';
import { summariseExchange } from '../summaries.js';
import { archivedStatementView, requireDeal } from '../views.js';

/** The shopper is always the originator: within one step, statements happened in this order. */
const ORDER = [
  'received semper.exchange.descriptor',
  'sent semper.exchange.propose',
  'received semper.exchange.accept',
  'sent semper.exchange.deliver',
  'received semper.exchange.deliver',
  'sent semper.exchange.abort-request',
  'sent semper.exchange.resolve-request',
  'sent semper.exchange.complaint',
  `received ${TTP_TYPES.abortToken}`,
  `received ${TTP_TYPES.revocationOrder}`,
  `received ${TTP_TYPES.resolution}`,
  `received ${TTP_TYPES.affidavit}`,
];
const rank = (a: ArchiveEntry) => {
  const i = ORDER.indexOf(`${a.direction} ${a.type}`);
  return i < 0 ? ORDER.length : i;
};

export const exchangeHandlers: Handlers<'getPendingExchange' | 'confirmExchange' | 'rejectExchange' | 'getExchange'> = {
  async getPendingExchange({ dealId }, { store }) {
    const record = await requireDeal(store, dealId, 'exchange');
    if (!record.view || record.state.phase !== 'awaiting-confirmation') {
      throw new SemperError('ERR_PROTOCOL_STATE', `exchange ${dealId} has nothing awaiting confirmation (${record.state.phase})`);
    }
    return { view: record.view, status: record.state.phase };
  },
  async confirmExchange({ dealId }, { store, host, now }) {
    await requireDeal(store, dealId, 'exchange');
    return { status: ((await host.event(dealId, { type: 'user-confirmed', now: now() })) as ExchangeRecord).state.phase };
  },
  async rejectExchange({ dealId }, { store, host, now }) {
    await requireDeal(store, dealId, 'exchange');
    return { status: ((await host.event(dealId, { type: 'user-rejected', now: now() })) as ExchangeRecord).state.phase };
  },
  async getExchange({ dealId }, { store }) {
    const record = await requireDeal(store, dealId, 'exchange');
    const archive = (await store.archiveOf(dealId)).sort((a, b) => a.archivedAt - b.archivedAt || rank(a) - rank(b));
    const find = (type: string): Statement | undefined =>
      archive.find((a) => a.type === type && a.direction === 'received')?.statement as Statement | undefined;
    const outcome = 'exchange' in record.state ? (record.state.exchange?.outcome ?? null) : null;
    const received = outcome && 'received' in outcome ? outcome.received : undefined;
    const resolution = find(TTP_TYPES.resolution);
    const affidavit = find(TTP_TYPES.affidavit);
    const abortToken = find(TTP_TYPES.abortToken);
    const doc = received ? informationText(received) : undefined;
    return {
      exchange: summariseExchange(record),
      ...(record.view ? { view: record.view } : {}),
      ...(record.result?.kind === 'finished' ? { outcome: record.result.outcome } : {}),
      statements: archive.map(archivedStatementView),
      evidence: { ...(resolution ? { resolution } : {}), ...(affidavit ? { affidavit } : {}), ...(abortToken ? { abortToken } : {}) },
      ...(doc && record.view?.document ? { document: { title: record.view.document.title, ...doc } } : {}),
      ...(record.view?.contract
        ? {
            contract: {
              title: record.view.contract.title,
              text: record.view.contract.text,
              ...(received?.kind === 'statement' ? { merchantSignature: received.statement } : {}),
            },
          }
        : {}),
    };
  },
};
