/**
 * The RFC 3161 check `verifyBundle` plugs in (`EvidenceTrust.verifyTimestamp`): core/timestamp's own
 * verifier — every check our own, stricter than pkijs's and than OpenSSL 3.0 where they differ
 * (docs/timestamps.md) — over the statement digest the bundle says the token covers.
 */
import { verifyTimeStampToken } from '../timestamp/verify.js';
import type { VerifyTimestamp } from './verify.js';

export const verifyRfc3161Timestamp: VerifyTimestamp = async (token, digest, roots) => {
  const { genTime } = await verifyTimeStampToken(token, { digest, roots });
  return { genTime };
};
