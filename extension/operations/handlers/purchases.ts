/** Operations on purchases: the trusted window's decision (device key, pseudonym or security key) and a purchase's details (the list: start.ts). */
import { DeliveryBody, STATEMENT_TYPES } from '../../../core/protocol/commerce.js';
import type { PurchaseRecord } from '../../deals/records.js';
import type { Handlers } from '../context.js';
import { summarisePurchase } from '../summaries.js';
import { archivedStatementView, requireDeal } from '../views.js';
import { SemperError } from '../../../core/errors.js';
import { chequeRequest } from '../../../core/commerce/shopper.js';

const TYPE_ORDER: string[] = [STATEMENT_TYPES.offer, STATEMENT_TYPES.order, STATEMENT_TYPES.confirmation, STATEMENT_TYPES.delivery];

export const purchaseHandlers: Handlers<'getPendingOffer' | 'confirmDeal' | 'rejectDeal' | 'tokens.orderToSign' | 'submitSignedOrder' | 'getDeal'> = {
  async getPendingOffer({ dealId }, { store }) {
    const record = await requireDeal(store, dealId, 'purchase');
    if (!record.view || (record.state.phase !== 'awaiting-confirmation' && record.state.phase !== 'ordering')) {
      throw new SemperError('ERR_PROTOCOL_STATE', `deal ${dealId} has no offer awaiting confirmation (${record.state.phase})`);
    }
    return { view: record.view, status: record.state.phase };
  },
  async confirmDeal({ dealId, anonymous, method }, { store, host, now, payments }) {
    const deal = await requireDeal(store, dealId, 'purchase');
    if (method === 'cheque') {
      // The wallet writes the cheque (the account key) for exactly what the machine asks; the machine checks it and signs the order naming it.
      const cheque = await payments.cheque(chequeRequest(deal.state));
      const record = await host.event(dealId, { type: 'user-confirmed-cheque', cheque, now: now() } as { type: string; now: number });
      return { status: (record as PurchaseRecord).state.phase };
    }
    // Anonymous: this merchant origin's pseudonym signs (the same one every time, never another origin's).
    const record = await host.event(dealId, { type: 'user-confirmed', now: now(), anonymous: anonymous === true } as { type: string; now: number });
    return { status: (record as PurchaseRecord).state.phase };
  },
  async rejectDeal({ dealId }, { store, host, now }) {
    await requireDeal(store, dealId, 'purchase');
    const record = await host.event(dealId, { type: 'user-rejected', now: now() });
    return { status: (record as PurchaseRecord).state.phase };
  },
  async 'tokens.orderToSign'({ dealId, credentialId }, { store, identity, now }) {
    const record = await requireDeal(store, dealId, 'purchase');
    return identity.tokenSigningRequest(record.state, credentialId, now());
  },
  async submitSignedOrder({ dealId, order }, { store, host, identity, now }) {
    await requireDeal(store, dealId, 'purchase');
    const credentialId = await identity.checkTokenSigner(order);
    const record = await host.event(dealId, { type: 'order-signed', order, now: now() } as { type: string; now: number });
    await identity.tokenUsed(credentialId).catch(() => undefined);
    return { status: (record as PurchaseRecord).state.phase };
  },
  async getDeal({ dealId }, { store }) {
    const record = await requireDeal(store, dealId, 'purchase');
    const archive = (await store.archiveOf(dealId)).sort((a, b) => a.archivedAt - b.archivedAt || TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type));
    const delivery = archive.find((a) => a.type === STATEMENT_TYPES.delivery);
    const goods = delivery ? (DeliveryBody.safeParse(delivery.statement.body).data?.goods ?? []) : [];
    return {
      deal: summarisePurchase(record),
      ...(record.view ? { view: record.view } : {}),
      ...(record.result?.kind === 'finished' ? { outcome: record.result.outcome } : {}),
      statements: archive.map(archivedStatementView),
      goods,
    };
  },
};
