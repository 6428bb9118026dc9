/**
 * A small RFC 3161 §3.4 client (time-stamp protocol over HTTP): POST the DER TimeStampReq as
 * application/timestamp-query, read application/timestamp-reply, verify it against the request.
 * The fetch function is the caller's (the extension's, Node's, a test's app.request), so core
 * does no I/O of its own.
 */
import { SemperError } from '../errors.js';
import { buildTimeStampRequest, TIMESTAMP_QUERY_TYPE, TIMESTAMP_REPLY_TYPE } from './request.js';
import { type TimeStampVerifyOptions, type VerifiedTimeStamp, verifyTimeStampResponse } from './verify.js';

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** The largest reply read: a token with its certificate is about 1.5 KiB. */
export const MAX_TIMESTAMP_REPLY_BYTES = 64 * 1024;

export interface RequestTimestampOptions extends Omit<TimeStampVerifyOptions, 'digest' | 'nonce'> {
  /** Ask for the TSA certificate in the token (default true). */
  certReq?: boolean;
  policy?: string;
}

/** Ask the TSA at `url` to stamp `digest`, with `nonce` (randomNonce()), and verify what comes back. */
export async function requestTimestamp(
  fetchFn: FetchFn,
  url: string,
  digest: Uint8Array,
  nonce: bigint,
  options: RequestTimestampOptions,
): Promise<VerifiedTimeStamp & { token: Uint8Array<ArrayBuffer> }> {
  const { certReq, policy, ...verify } = options;
  const body = buildTimeStampRequest({ digest, nonce, certReq: certReq ?? true, ...(policy ? { policy } : {}) });
  let response: Response;
  try {
    response = await fetchFn(url, { method: 'POST', headers: { 'content-type': TIMESTAMP_QUERY_TYPE }, body });
  } catch (e) {
    throw new SemperError('ERR_TIMESTAMP_REFUSED', `the TSA at ${url} did not answer (${e instanceof Error ? e.message : String(e)})`);
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== TIMESTAMP_REPLY_TYPE) {
    throw new SemperError(
      'ERR_TIMESTAMP_REFUSED',
      `RFC 3161 §3.4: the TSA answered HTTP ${response.status} with ${type || 'no content type'}, not ${TIMESTAMP_REPLY_TYPE}`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > MAX_TIMESTAMP_REPLY_BYTES)
    throw new SemperError('ERR_TIMESTAMP_INVALID', `the TSA's reply is larger than ${MAX_TIMESTAMP_REPLY_BYTES} bytes`);
  const verified = await verifyTimeStampResponse(bytes, { ...verify, digest, nonce });
  // RFC 3161 §2.4.2: a TSA answers a request naming a policy under that policy or not at all.
  if (policy && verified.policy !== policy)
    throw new SemperError('ERR_TIMESTAMP_INVALID', `RFC 3161 §2.4.2: the token is issued under policy ${verified.policy}, not the requested ${policy}`);
  return verified;
}
