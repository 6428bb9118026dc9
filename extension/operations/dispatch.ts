/**
 * The worker's side of the whole operation API (table.ts): `handleOperation` is the dispatcher
 * (dispatcher.ts: who may call, the request's schema, one handler) of every operation in the
 * table. The handler groups never import one another.
 */
import type { Handlers, OperationContext } from './context.js';
import { operationDispatcher, type CallerChecks, type OperationSender } from './dispatcher.js';
import { exchangeHandlers } from './handlers/exchanges.js';
import { evidenceHandlers } from './handlers/evidence.js';
import { disputeHandlers } from './handlers/disputes.js';
import { fairHandlers } from './handlers/fair.js';
import { historyHandlers } from './handlers/history.js';
import { identityHandlers } from './handlers/identity.js';
import { purchaseHandlers } from './handlers/purchases.js';
import { settingsHandlers } from './handlers/settings.js';
import { noticeHandlers } from './handlers/notices.js';
import { startHandlers } from './handlers/start.js';
import { walletHandlers } from './handlers/wallet.js';
import { cardHandlers } from './handlers/cards.js';
import { OperationMessage, OPERATIONS, type OperationName, type OperationResult } from './table.js';

export type { OperationSender } from './dispatcher.js';

export interface DispatchDeps extends OperationContext, CallerChecks {}

const HANDLERS: Handlers<OperationName> = {
  ...startHandlers,
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

const dispatch = operationDispatcher<OperationName, OperationContext>({ operations: OPERATIONS, message: OperationMessage, handlers: HANDLERS });

export function handleOperation(raw: unknown, sender: OperationSender, deps: DispatchDeps): Promise<OperationResult<OperationName>> {
  // The handlers answer their operation's response type (context.ts); the dispatcher carries it as it is.
  return dispatch(raw, sender, deps) as Promise<OperationResult<OperationName>>;
}
