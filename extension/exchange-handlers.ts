/**
 * The worker's handlers for the exchange operations (exchange-operations.ts). The caller checks
 * (extension pages only; the deciding ones only from the trusted window showing that exchange)
 * are in operation-handlers.ts.
 */
import type { z } from 'zod';
import { SemperError } from '../core/errors.js';
import { informationText } from '../core/commerce/exchange-deal.js';
import { TTP_TYPES } from '../core/exchange/index.js';
import type { Statement } from '../core/statements/index.js';
import type { ArchiveEntry } from './deal-store.js';
import type { TrustedTtp } from './exchange-db.js';
import type { ExchangeOperationRequests, ExchangeOperationResponses, ExchangeSummary, TtpSummary } from './exchange-operations.js';
import { archivedStatementView } from './operation-common.js';
import type { ExchangeRunner } from './exchange-runner.js';
import type { ExchangeDealRecord, ExchangeStore } from './exchange-store.js';

export interface ExchangeHandlerDeps {
  store: ExchangeStore;
  runner: Pick<ExchangeRunner, 'confirm' | 'reject'>;
  ttps: {
    add(input: { certificate?: string; fingerprint?: string; url: string }): Promise<TrustedTtp>;
    list(): Promise<TrustedTtp[]>;
    remove(fingerprint: string): Promise<boolean>;
  };
}

type Requests = { [O in keyof typeof ExchangeOperationRequests]: z.infer<(typeof ExchangeOperationRequests)[O]> };
type Handlers = { [O in keyof Requests]: (request: Requests[O], deps: { exchange: ExchangeHandlerDeps }) => Promise<ExchangeOperationResponses[O]> };

async function requireExchange(store: ExchangeStore, dealId: string): Promise<ExchangeDealRecord> {
  const record = await store.get(dealId);
  if (!record) throw new SemperError('ERR_NOT_FOUND', `no exchange ${dealId}`);
  return record;
}

export function summariseExchange(r: ExchangeDealRecord): ExchangeSummary {
  return {
    dealId: r.dealId,
    origin: r.origin,
    use: r.use,
    status: r.status,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    ...(r.view ? { title: r.view.title, merchant: r.view.merchant.legalName, ttp: r.view.ttp.name } : {}),
    ...(r.exchange?.exchangeId ? { exchangeId: r.exchange.exchangeId } : {}),
    ...(r.result?.kind === 'failed' ? { error: r.result.error } : {}),
  };
}

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

function ttpSummary(t: TrustedTtp): TtpSummary {
  return {
    fingerprint: t.fingerprint,
    url: t.url,
    ...(t.commonName ? { commonName: t.commonName } : {}),
    ...(t.keyId ? { keyId: t.keyId } : {}),
    ...(t.notAfter ? { notAfter: t.notAfter } : {}),
    addedAt: new Date(t.addedAt).toISOString(),
  };
}

export const exchangeHandlers: Handlers = {
  async getPendingExchange({ dealId }, { exchange }) {
    const record = await requireExchange(exchange.store, dealId);
    if (!record.view || record.status !== 'awaiting-confirmation') {
      throw new SemperError('ERR_PROTOCOL_STATE', `exchange ${dealId} has nothing awaiting confirmation (${record.status})`);
    }
    return { view: record.view, status: record.status };
  },
  async confirmExchange({ dealId }, { exchange }) {
    return { status: (await exchange.runner.confirm(dealId)).status };
  },
  async rejectExchange({ dealId }, { exchange }) {
    return { status: (await exchange.runner.reject(dealId)).status };
  },
  async listExchanges(_r, { exchange }) {
    const all = await exchange.store.listAll();
    return { exchanges: all.sort((a, b) => b.createdAt - a.createdAt).map(summariseExchange) };
  },
  async getExchange({ dealId }, { exchange }) {
    const record = await requireExchange(exchange.store, dealId);
    const archive = (await exchange.store.archiveOf(dealId)).sort((a, b) => a.archivedAt - b.archivedAt || rank(a) - rank(b));
    const find = (type: string): Statement | undefined => archive.find((a) => a.type === type && a.direction === 'received')?.statement as Statement | undefined;
    const outcome = record.exchange?.outcome ?? null;
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
  async 'settings.addTtp'(input, { exchange }) {
    return { ttp: ttpSummary(await exchange.ttps.add({ url: input.url, ...(input.certificate !== undefined ? { certificate: input.certificate } : {}), ...(input.fingerprint !== undefined ? { fingerprint: input.fingerprint } : {}) })) };
  },
  async 'settings.listTtps'(_r, { exchange }) {
    return { ttps: (await exchange.ttps.list()).map(ttpSummary) };
  },
  async 'settings.removeTtp'({ fingerprint }, { exchange }) {
    return { removed: await exchange.ttps.remove(fingerprint) };
  },
};
