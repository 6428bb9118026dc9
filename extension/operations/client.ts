/** The extension pages' side of the operation API (popup, trusted window): one typed call per operation. */
import { browser } from '../browser.js';
import { OperationResultEnvelope, type OperationName, type OperationRequest, type OperationResponses } from './table.js';

export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a call says when the worker sent nothing back (it was stopping, or no listener answered). */
export const NO_ANSWER = 'no valid answer from the Semper worker';

export async function callOperation<O extends OperationName>(op: O, request: OperationRequest<O>): Promise<OperationResponses[O]> {
  const answer = OperationResultEnvelope.safeParse(await browser.runtime.sendMessage({ op, request }));
  if (!answer.success) throw new OperationError('ERR_INTERNAL', NO_ANSWER);
  if (!answer.data.ok) throw new OperationError(answer.data.error.code, answer.data.error.message);
  // The worker's own answer to this operation (the envelope is checked; its content is the worker's).
  return answer.data.response as OperationResponses[O];
}
