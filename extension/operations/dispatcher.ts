/**
 * The worker's side of the operation API (table.ts), for one table of operations and its
 * handlers: a dispatcher checks who is calling (extension pages only; per the table, the
 * trusted-window page only, or only the trusted window that currently shows the deal named in the
 * request), validates the request with the table's schema, and runs the one handler for the
 * operation. dispatch.ts makes the dispatcher of the whole table; the service worker's start
 * script makes one of the operations it answers before the rest of the worker is loaded
 * (start-table.ts), with these same checks.
 */
import { z } from '../../core/zod.js';
import { errorToJson } from '../../core/errors.js';
import { DealId } from '../../core/protocol/deal-id.js';
import { isExtensionPage, isTrustedWindowPage } from '../worker/sender.js';
import type { CurrentWindow } from '../worker/trusted-window-manager.js';
import type { OperationSpec } from './start-table.js';

/** What the browser reports about a message's sender (chrome.runtime / browser.runtime MessageSender alike). */
export type OperationSender = Pick<chrome.runtime.MessageSender, 'id' | 'url'> & { tab?: { windowId?: number } | undefined };

/** An answer as it crosses to the page: the response, or a typed error. */
export type OperationAnswer = { ok: true; response: unknown } | { ok: false; error: { code: string; message: string } };

/** Who is calling, and the trusted window a deal-window operation must come from. */
export interface CallerChecks {
  extensionId: string;
  /** browser.runtime.getURL('') */
  extensionBase: string;
  currentWindow(): Promise<CurrentWindow | undefined>;
  /** The user decided in the deal's window: confirmed (keep it for the result) or declined (close it when the deal ends). */
  keepForResult?(dealId: string, keep: boolean): Promise<void>;
}

/** The operations that decide a deal in its window: after a confirmation the window shows the result. */
const CONFIRMS = new Set<string>(['confirmDeal', 'submitSignedOrder', 'confirmExchange', 'confirmFair']);
const DECLINES = new Set<string>(['rejectDeal', 'rejectExchange', 'rejectFair']);

function forbidden(message: string): OperationAnswer {
  return { ok: false, error: { code: 'ERR_FORBIDDEN', message } };
}

function schemaError(op: string, error: z.core.$ZodError): OperationAnswer {
  const issue = error.issues[0];
  return { ok: false, error: { code: 'ERR_SCHEMA', message: `${op}: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}` } };
}

/** Enough of a deal-window request to tell which deal it is about (the full schema comes after the access check). */
const NamesDeal = z.object({ dealId: DealId });

export interface OperationTable<O extends string, C> {
  operations: Record<O, OperationSpec>;
  /** `{ op, request }` with `op` one of the table's names. */
  message: z.ZodMiniType<{ op: O; request: unknown }>;
  /** One handler per operation; each takes its request as the table's schema parsed it. */
  handlers: { [K in O]: (request: never, ctx: C) => Promise<unknown> };
}

export function operationDispatcher<O extends string, C>(
  table: OperationTable<O, C>,
): (raw: unknown, sender: OperationSender, deps: CallerChecks & C) => Promise<OperationAnswer> {
  return async (raw, sender, deps) => {
    if (!isExtensionPage(sender, deps.extensionId, deps.extensionBase)) return forbidden("operations are only for Semper's own pages");
    const message = table.message.safeParse(raw);
    if (!message.success) return { ok: false, error: { code: 'ERR_SCHEMA', message: 'expected { op, request } with a known op' } };
    const op = message.data.op;
    const spec = table.operations[op];
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
      const handler = table.handlers[op] as (request: unknown, ctx: C) => Promise<unknown>;
      return { ok: true, response: await handler(request.data, deps) };
    } catch (e) {
      // A refused confirmation leaves the deal awaiting the user: its window is the offer's again, not a result's.
      if (CONFIRMS.has(op)) await deps.keepForResult?.((request.data as { dealId: string }).dealId, false);
      return { ok: false, error: errorToJson(e) };
    }
  };
}
