/**
 * What a party that wants evidence time-stamped needs: one call from a SHA-256 digest to a DER
 * TimeStampToken. Implementations: server/tsa's in-process one over the TSA service, and
 * `httpTimestamper` here (RFC 3161 §3.4 over the caller's fetch, each reply verified).
 */
import { type FetchFn, requestTimestamp } from './client.js';
import { randomNonce } from './request.js';

export interface Timestamper {
  /** A DER TimeStampToken over `digest` (32 bytes, SHA-256 of the evidence), with the TSA certificate in it. */
  stamp(digest: Uint8Array): Promise<Uint8Array>;
}

/** A Timestamper that asks a TSA over HTTP and verifies every reply against `roots` before handing the token out. */
export function httpTimestamper(fetchFn: FetchFn, url: string, roots: readonly string[]): Timestamper {
  return {
    async stamp(digest) {
      return (await requestTimestamp(fetchFn, url, digest, randomNonce(), { roots })).token;
    },
  };
}
