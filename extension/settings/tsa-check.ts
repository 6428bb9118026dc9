/**
 * The check of a time stamp against the trusted TSAs (tsa-trust.ts). Its own module because it is
 * what pulls in core/timestamp (pkijs, asn1js 4): the worker never imports it statically — it runs
 * as an offscreen task (extension/offscreen, issue 13), so the worker's start bundle stays without it.
 */
import { decodeBase64Der } from '../../core/pki/der.js';
import { verifyTimeStampToken } from '../../core/timestamp/verify.js';
import type { CheckTimestamp, TimestampCheck } from './tsa-trust.js';

/**
 * Checks a token (base64 DER) over `digest` (the stamped SHA-256): every check of core/timestamp
 * under `roots` (chain at the token's genTime, role tsa, EKU, imprint, signed attributes), then the
 * signer against the trusted TSAs by certificate fingerprint.
 */
export const checkTimestamp: CheckTimestamp = async (token, digest, trust): Promise<TimestampCheck> => {
  let verified: Awaited<ReturnType<typeof verifyTimeStampToken>>;
  try {
    verified = await verifyTimeStampToken(decodeBase64Der(token, 'time-stamp token', 'ERR_TIMESTAMP_INVALID', 64 * 1024), { digest, roots: trust.roots });
  } catch (e) {
    return { status: 'invalid', reason: e instanceof Error ? e.message : String(e) };
  }
  const { fingerprint, commonName } = verified.tsa;
  const genTime = verified.genTime.toISOString();
  const trusted = trust.tsas.some((t) => t.fingerprint === fingerprint);
  return { status: trusted ? 'trusted' : 'untrusted-tsa', genTime, tsa: commonName, fingerprint };
};
