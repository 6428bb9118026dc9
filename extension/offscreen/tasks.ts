/**
 * The tasks themselves (protocol.ts): imported by the offscreen document (Chromium) and, through
 * import(), by the Firefox event page — never statically by the worker, which is the point: this
 * module's imports (pkijs, the second asn1js) stay out of the worker's start bundle.
 */
import { decodeBase64url } from '../../core/encoding/base64url.js';
import { checkTimestamp } from '../settings/tsa-check.js';
import { TASKS, type TaskName, type TaskResult } from './protocol.js';

const RUN: { [T in TaskName]: (args: unknown) => Promise<TaskResult<T>> } = {
  async 'timestamp.check'(raw) {
    const args = TASKS['timestamp.check'].args.parse(raw);
    const check = await checkTimestamp(args.token, decodeBase64url(args.digest), { roots: args.roots, tsas: args.tsas });
    // The reason is a library's message: bounded so the answer always fits the protocol.
    return check.status === 'invalid' ? { status: 'invalid', reason: check.reason.slice(0, 4096) } : check;
  },
};

export async function runTask<T extends TaskName>(task: T, args: unknown): Promise<TaskResult<T>> {
  return RUN[task](args) as Promise<TaskResult<T>>;
}
