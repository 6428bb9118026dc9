/**
 * The worker's implementation of the operation API (operations.ts). `handleOperation` checks the
 * caller (extension pages only; the deal-deciding operations only from the trusted window that
 * shows that deal), validates the request with zod, and runs the handler.
 */
import { errorToJson, SemperError } from '../core/errors.js';
import { DeliveryBody, STATEMENT_TYPES } from '../core/protocol/commerce.js';
import type { Signer } from '../core/crypto/keys.js';
import type { DealRunner } from './deal-runner.js';
import type { DealRecord, DealStore } from './deal-store.js';
import type { TrustedRoot } from './db.js';
import { archivedStatementView } from './operation-common.js';
import {
  OperationMessage,
  OperationRequests,
  TRUSTED_WINDOW_OPERATIONS,
  type DealSummary,
  type OperationName,
  type OperationRequest,
  type OperationResponses,
  type OperationResult,
  type RootSummary,
} from './operations.js';
import { isExtensionPage, isTrustedWindowPage } from './sender.js';
import { dealSigner, identityHandlers, type IdentityHandlerDeps } from './identity-handlers.js';
import { TRUSTED_PAGE_OPERATIONS } from './identity-operations.js';
import { exchangeHandlers, type ExchangeHandlerDeps } from './exchange-handlers.js';
import type { CurrentWindow } from './trusted-window-manager.js';

export interface OperationDeps {
  extensionId: string;
  /** browser.runtime.getURL('') */
  extensionBase: string;
  store: DealStore;
  runner: Pick<DealRunner, 'confirm' | 'reject' | 'submitSignedOrder'>;
  currentWindow(): Promise<CurrentWindow | undefined>;
  signer(): Promise<Signer>;
  roots: {
    add(text: string): Promise<TrustedRoot>;
    list(): Promise<TrustedRoot[]>;
    remove(fingerprint: string): Promise<boolean>;
  };
  /** Key store, personalisation, CA registration, hardware tokens, threshold (identity-handlers.ts). */
  identity: IdentityHandlerDeps;
  /** Exchange deals (certified mail, contract signing) and the trusted TTPs (exchange-handlers.ts). */
  exchange: ExchangeHandlerDeps;
}

/** What the browser reports about a message's sender (chrome.runtime / browser.runtime MessageSender alike). */
export type OperationSender = Pick<chrome.runtime.MessageSender, 'id' | 'url'> & { tab?: { windowId?: number } | undefined };

function forbidden(message: string): OperationResult<OperationName> {
  return { ok: false, error: { code: 'ERR_FORBIDDEN', message } };
}

export async function handleOperation(raw: unknown, sender: OperationSender, deps: OperationDeps): Promise<OperationResult<OperationName>> {
  if (!isExtensionPage(sender, deps.extensionId, deps.extensionBase)) return forbidden('operations are only for Semper\'s own pages');
  const message = OperationMessage.safeParse(raw);
  if (!message.success) return { ok: false, error: { code: 'ERR_SCHEMA', message: 'expected { op, request } with a known op' } };
  const op = message.data.op;
  const request = OperationRequests[op].safeParse(message.data.request);
  if (!request.success) {
    const issue = request.error.issues[0];
    return { ok: false, error: { code: 'ERR_SCHEMA', message: `${op}: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}` } };
  }
  if (TRUSTED_PAGE_OPERATIONS.includes(op) && !isTrustedWindowPage(sender, deps.extensionId, deps.extensionBase)) {
    return forbidden(`${op} is only for the trusted window`);
  }
  if (TRUSTED_WINDOW_OPERATIONS.includes(op)) {
    const dealId = (request.data as { dealId: string }).dealId;
    const current = await deps.currentWindow();
    const fromItsWindow =
      isTrustedWindowPage(sender, deps.extensionId, deps.extensionBase) &&
      current !== undefined &&
      current.dealId === dealId &&
      sender.tab?.windowId === current.windowId;
    if (!fromItsWindow) return forbidden(`${op} is only for the trusted window showing deal ${dealId}`);
  }
  try {
    const response = await run(op, request.data as never, deps);
    return { ok: true, response };
  } catch (e) {
    return { ok: false, error: errorToJson(e) };
  }
}

async function run<O extends OperationName>(op: O, request: OperationRequest<O>, deps: OperationDeps): Promise<OperationResponses[O]> {
  const handler = handlers[op] as (r: OperationRequest<O>, d: OperationDeps) => Promise<OperationResponses[O]>;
  return handler(request, deps);
}

async function requireDeal(store: DealStore, dealId: string): Promise<DealRecord> {
  const record = await store.get(dealId);
  if (!record) throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
  return record;
}

export function summarise(record: DealRecord): DealSummary {
  return {
    dealId: record.dealId,
    origin: record.origin,
    status: record.status,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    ...(record.view ? { merchant: record.view.merchant.legalName, total: record.view.total } : {}),
    ...(record.result?.kind === 'failed' ? { error: record.result.error } : {}),
  };
}

function rootSummary(r: TrustedRoot): RootSummary {
  return { fingerprint: r.fingerprint, commonName: r.commonName, subject: r.subject, notAfter: r.notAfter, addedAt: new Date(r.addedAt).toISOString() };
}

const TYPE_ORDER: string[] = [STATEMENT_TYPES.offer, STATEMENT_TYPES.order, STATEMENT_TYPES.confirmation, STATEMENT_TYPES.delivery];

const handlers: { [O in OperationName]: (request: OperationRequest<O>, deps: OperationDeps) => Promise<OperationResponses[O]> } = {
  async getPendingOffer({ dealId }, { store }) {
    const record = await requireDeal(store, dealId);
    if (!record.view || (record.status !== 'awaiting-confirmation' && record.status !== 'ordering')) {
      throw new SemperError('ERR_PROTOCOL_STATE', `deal ${dealId} has no offer awaiting confirmation (${record.status})`);
    }
    return { view: record.view, status: record.status };
  },
  async confirmDeal({ dealId, anonymous }, { runner, store, identity }) {
    const deal = await requireDeal(store, dealId);
    // Anonymous: this merchant origin's pseudonym (the same one every time, never another origin's).
    const record = await runner.confirm(dealId, { signer: await dealSigner(identity, deal.origin, anonymous === true) });
    return { status: record.status };
  },
  async rejectDeal({ dealId }, { runner }) {
    const record = await runner.reject(dealId);
    return { status: record.status };
  },
  async listDeals(_request, { store }) {
    const deals = await store.listAll();
    return { deals: deals.sort((a, b) => b.createdAt - a.createdAt).map(summarise) };
  },
  async getDeal({ dealId }, { store }) {
    const record = await requireDeal(store, dealId);
    const archive = (await store.archiveOf(dealId)).sort(
      (a, b) => a.archivedAt - b.archivedAt || TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type),
    );
    const delivery = archive.find((a) => a.type === STATEMENT_TYPES.delivery);
    const goods = delivery ? (DeliveryBody.safeParse(delivery.statement.body).data?.goods ?? []) : [];
    return {
      deal: summarise(record),
      ...(record.view ? { view: record.view } : {}),
      ...(record.result?.kind === 'finished' ? { outcome: record.result.outcome } : {}),
      statements: archive.map(archivedStatementView),
      goods,
    };
  },
  async getIdentity(_request, { signer }) {
    const s = await signer();
    return { keyId: s.keyId, publicJwk: s.publicJwk, alg: 'ES256' };
  },
  async 'settings.addRoot'({ certificate }, { roots }) {
    return { root: rootSummary(await roots.add(certificate)) };
  },
  async 'settings.listRoots'(_request, { roots }) {
    return { roots: (await roots.list()).map(rootSummary) };
  },
  async 'settings.removeRoot'({ fingerprint }, { roots }) {
    return { removed: await roots.remove(fingerprint) };
  },
  ...identityHandlers,
  ...exchangeHandlers,
};
