/**
 * The operations the service worker answers from its start script (issue 13, worker start), with
 * their entries of the operation table (table.ts takes these same entries): what the popup asks
 * first when it opens — the settings, the notices, the first pages of the history and of each
 * kind of deal. Their request
 * schemas and handlers import nothing of the deal machines, statements or certificates, so a
 * first message after a cold start waits for none of that code (extension/worker/background.ts).
 */
import { z } from '../../core/zod.js';
import { DealId } from '../../core/protocol/deal-id.js';
import { HISTORY_KINDS } from '../history/search.js';

export type Access = 'page' | 'trusted-page' | 'deal-window';
export interface OperationSpec {
  request: z.ZodMiniType;
  access: Access;
}

export const Empty = z.strictObject({});
/** Where a newest-first list continues: the `next` of the previous page. */
export const PageAfter = z.strictObject({ createdAt: z.number().check(z.int(), z.gte(0)), dealId: DealId });
/** A page of a newest-first list of one kind of deal: at most `limit` rows (default DEAL_PAGE), after `after`. */
export const Page = z.strictObject({ limit: z.optional(z.number().check(z.int(), z.gte(1), z.lte(200))), after: z.optional(PageAfter) });

export const START_OPERATIONS = {
  /** Purchases newest first, a page at a time (`next` when there are older ones). */
  listDeals: { request: Page, access: 'page' },
  listExchanges: { request: Page, access: 'page' },
  listFairPurchases: { request: Page, access: 'page' },
  /** Deals newest first whose shop, origin or item titles hold every word of `text` (NFKC, any case), by kind, status (outcome or phase), creation time. */
  'history.search': {
    request: z.strictObject({
      text: z.optional(z.string().check(z.maxLength(200))),
      kind: z.optional(z.enum(HISTORY_KINDS)),
      status: z.optional(z.string().check(z.maxLength(64))),
      from: z.optional(z.iso.datetime({ offset: true })),
      to: z.optional(z.iso.datetime({ offset: true })),
      /** Rows per page (default HISTORY_PAGE). */
      limit: z.optional(z.number().check(z.int(), z.gte(1), z.lte(200))),
      /** Continue after this row: the `next` of the previous page. */
      after: z.optional(PageAfter),
    }),
    access: 'page',
  },
  'settings.get': { request: Empty, access: 'page' },
  /** Requests that failed before any trusted window could show an offer: what happened, what to do. */
  'notices.list': { request: Empty, access: 'page' },
} as const satisfies Record<string, OperationSpec>;

export type StartOperationName = keyof typeof START_OPERATIONS;

/** `{ op, request }` naming one of these operations (table.ts's OperationMessage names every operation). */
export const StartOperationMessage = z.strictObject({
  op: z.enum(Object.keys(START_OPERATIONS) as [StartOperationName, ...StartOperationName[]]),
  request: z.unknown(),
});
