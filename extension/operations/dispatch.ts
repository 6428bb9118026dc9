/**
 * The worker's side of the operation API (table.ts): `handleOperation` checks who is calling
 * (extension pages only; per the table, the trusted-window page only, or only the trusted window
 * that currently shows the deal named in the request), validates the request with the table's
 * schema, and runs the one handler for the operation. The handler groups never import one another.
 */
import { z } from '../../core/zod.js';
import { errorToJson } from '../../core/errors.js';
import { DealId } from '../../core/protocol/commerce.js';
import { isExtensionPage, isTrustedWindowPage } from '../worker/sender.js';
import type { CurrentWindow } from '../worker/trusted-window-manager.js';
import type { Handlers, OperationContext } from './context.js';
import { exchangeHandlers } from './handlers/exchanges.js';
import { evidenceHandlers } from './handlers/evidence.js';
import { disputeHandlers } from './handlers/disputes.js';
import { fairHandlers } from './handlers/fair.js';
import { historyHandlers } from './handlers/history.js';
import { identityHandlers } from './handlers/identity.js';
import { purchaseHandlers } from './handlers/purchases.js';
import { settingsHandlers } from './handlers/settings.js';
import { noticeHandlers } from './handlers/notices.js';
import { walletHandlers } from './handlers/wallet.js';
import { cardHandlers } from './handlers/cards.js';
import { OperationMessage, OPERATIONS, type OperationName, type OperationRequest, type OperationResult } from './table.js';

export interface DispatchDeps extends OperationContext {
  extensionId: string;
  /** browser.runtime.getURL('') */
  extensionBase: string;
  currentWindow(): Promise<CurrentWindow | undefined>;
  /** The user decided in the deal's window: confirmed (keep it for the result) or declined (close it when the deal ends). */
  keepForResult?(dealId: string, keep: boolean): Promise<void>;
}

/** The operations that decide a deal in its window: after a confirmation the window shows the result. */
const CONFIRMS = new Set<OperationName>(['confirmDeal', 'submitSignedOrder', 'confirmExchange', 'confirmFair']);
const DECLINES = new Set<OperationName>(['rejectDeal', 'rejectExchange', 'rejectFair']);

/** What the browser reports about a message's sender (chrome.runtime / browser.runtime MessageSender alike). */
export type OperationSender = Pick<chrome.runtime.MessageSender, 'id' | 'url'> & { tab?: { windowId?: number } | undefined };

const HANDLERS: Handlers<OperationName> = {
  ...purchaseHandlers,
  ...cardHandlers,
  ...exchangeHandlers,
  ...fairHandlers,
  ...identityHandlers,
  ...settingsHandlers,
  ...walletHandlers,
  ...noticeHandlers,
  ...evidenceHandlers,
  ...disputeHandlers,
  ...historyHandlers,
};

function forbidden(message: string): OperationResult<OperationName> {
  return { ok: false, error: { code: 'ERR_FORBIDDEN', message } };
}

function schemaError(op: string, error: z.core.$ZodError): OperationResult<OperationName> {
  const issue = error.issues[0];
  return { ok: false, error: { code: 'ERR_SCHEMA', message: `${op}: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}` } };
}

/** Enough of a deal-window request to tell which deal it is about (the full schema comes after the access check). */
const NamesDeal = z.object({ dealId: DealId });

export async function handleOperation(raw: unknown, sender: OperationSender, deps: DispatchDeps): Promise<OperationResult<OperationName>> {
  if (!isExtensionPage(sender, deps.extensionId, deps.extensionBase)) return forbidden("operations are only for Semper's own pages");
  const message = OperationMessage.safeParse(raw);
  if (!message.success) return { ok: false, error: { code: 'ERR_SCHEMA', message: 'expected { op, request } with a known op' } };
  const op = message.data.op;
  const spec = OPERATIONS[op];
  // Who may call is decided before the request is looked at any further.
  const fromTrustedWindow = isTrustedWindowPage(sender, deps.extensionId, deps.extensionBase);
  if (spec.access === 'trusted-page' && !fromTrustedWindow) return forbidden(`${op} is only for the trusted window`);
  if (spec.access === 'deal-window') {
    const named = NamesDeal.safeParse(message.data.request);
    if (!named.success) return schemaError(op, named.error);
    const current = await deps.currentWindow();
    const fromItsWindow = fromTrustedWindow && current !== undefined && current.dealId === named.data.dealId && sender.tab?.windowId === current.windowId;
    if (!fromItsWindow) return forbidden(`${op} is only for the trusted window showing deal ${named.data.dealId}`);
    // Before the decision takes effect: the deal may end (and release its window) within the handler.
    if (CONFIRMS.has(op) || DECLINES.has(op)) await deps.keepForResult?.(named.data.dealId, CONFIRMS.has(op));
  }
  const request = spec.request.safeParse(message.data.request);
  if (!request.success) return schemaError(op, request.error);
  try {
    return { ok: true, response: await run(op, request.data as OperationRequest<typeof op>, deps) };
  } catch (e) {
    // A refused confirmation leaves the deal awaiting the user: its window is the offer's again, not a result's.
    if (CONFIRMS.has(op)) await deps.keepForResult?.((request.data as { dealId: string }).dealId, false);
    return { ok: false, error: errorToJson(e) };
  }
}

function run<O extends OperationName>(op: O, request: OperationRequest<O>, ctx: OperationContext) {
  return (HANDLERS[op] as Handlers<O>[O])(request, ctx);
}
