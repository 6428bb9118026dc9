/** Operations on fair purchases: the trusted window's decision (with the payment method), and the popup's list with the goods and evidence. */
import { SemperError } from '../../../core/errors.js';
import { informationText } from '../../../core/commerce/exchange-deal.js';
import type { FairPurchaseRecord } from '../../deals/records.js';
import type { Handlers } from '../context.js';
import { summariseFair } from '../summaries.js';
import { archivedStatementView, requireDeal } from '../views.js';

export const fairHandlers: Handlers<'getPendingFair' | 'confirmFair' | 'rejectFair' | 'getFairPurchase'> = {
  async getPendingFair({ dealId }, { store, payments }) {
    const record = await requireDeal(store, dealId, 'fair-purchase');
    if (!record.view || record.state.phase !== 'awaiting-confirmation') {
      throw new SemperError('ERR_PROTOCOL_STATE', `purchase ${dealId} has nothing awaiting confirmation (${record.state.phase})`);
    }
    const funds = await payments.funds(record.view.bank, record.view.price, record.view.methods, record.view.card);
    return { view: record.view, status: record.state.phase, funds };
  },
  async confirmFair({ dealId, method }, { store, host, payments, now }) {
    const record = await requireDeal(store, dealId, 'fair-purchase');
    if (!record.view?.methods.includes(method)) throw new SemperError('ERR_PAYMENT_METHOD', `the merchant does not take ${method} for this purchase`);
    // Refuse before anything is signed when the chosen method cannot pay (the window offers only those that can).
    const funds = (await payments.funds(record.view.bank, record.view.price, [method], record.view.card))[0];
    if (!funds?.available) throw new SemperError('ERR_PAYMENT_METHOD', `${method} cannot pay this now (${funds?.reason ?? 'unavailable'})`);
    return { status: ((await host.event(dealId, { type: 'user-confirmed', method, now: now() } as never)) as FairPurchaseRecord).state.phase };
  },
  async rejectFair({ dealId }, { store, host, now }) {
    await requireDeal(store, dealId, 'fair-purchase');
    return { status: ((await host.event(dealId, { type: 'user-rejected', now: now() })) as FairPurchaseRecord).state.phase };
  },
  async getFairPurchase({ dealId }, { store }) {
    const record = await requireDeal(store, dealId, 'fair-purchase');
    const statements = (await store.archiveOf(dealId)).map(archivedStatementView);
    const s = record.state;
    const goods =
      s.phase === 'completed'
        ? (() => {
            const text = informationText({ kind: 'information', mediaType: s.offer.body.goods.mediaType, data: s.goods });
            return {
              title: s.offer.body.title,
              mediaType: s.offer.body.goods.mediaType,
              data: s.goods,
              ...(text?.text !== undefined ? { text: text.text } : {}),
            };
          })()
        : undefined;
    const paid = 'paid' in s && s.paid ? s.paid : undefined;
    return {
      purchase: summariseFair(record),
      ...(record.view ? { view: record.view } : {}),
      ...(record.result?.kind === 'finished' ? { outcome: record.result.outcome } : {}),
      statements,
      ...(paid ? { paid } : {}),
      ...(goods ? { goods } : {}),
    };
  },
};
