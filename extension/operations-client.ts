/** The extension pages' side of the operation API (popup, trusted window). */
import type { OperationName, OperationRequest, OperationResponses, OperationResult } from './operations.js';
import { browser } from './browser.js';

export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function callOperation<O extends OperationName>(op: O, request: OperationRequest<O>): Promise<OperationResponses[O]> {
  const result = (await browser.runtime.sendMessage({ op, request })) as OperationResult<O> | undefined;
  if (!result) throw new OperationError('ERR_INTERNAL', 'no answer from the Semper worker');
  if (!result.ok) throw new OperationError(result.error.code, result.error.message);
  return result.response;
}
