/**
 * The in-process Timestamper (core/timestamp/timestamper.ts) over a TsaService: for parties that
 * run in the same process as the TSA (the marketplace) and want evidence stamped without HTTP.
 * Same tokens as POST /tsa with certReq true: the certificate is in the token, so it verifies
 * with the CA root alone.
 */
import type { Timestamper } from '../../core/timestamp/index.js';
import type { TsaService } from './service.js';

export function inProcessTimestamper(service: TsaService): Timestamper {
  return {
    async stamp(digest) {
      return (await service.stamp(digest, { certReq: true })).token;
    },
  };
}
