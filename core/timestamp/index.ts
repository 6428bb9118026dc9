export { OID as TIMESTAMP_OIDS } from './asn1.js';
export { type FetchFn, MAX_TIMESTAMP_REPLY_BYTES, type RequestTimestampOptions, requestTimestamp } from './client.js';
export {
  buildTimeStampRequest,
  FAILURE_BITS,
  type ParsedTimeStampRequest,
  parseTimeStampRequest,
  randomNonce,
  TIMESTAMP_QUERY_TYPE,
  TIMESTAMP_REPLY_TYPE,
  type TimeStampFailure,
  TimeStampRequestError,
  type TimeStampRequestParams,
} from './request.js';
export { grantedResponse, PKI_STATUS, type ParsedTimeStampResponse, parseTimeStampResponse, rejectionResponse } from './response.js';
export { httpTimestamper, type Timestamper } from './timestamper.js';
export { buildTstInfo, createTimeStampToken, type SignTstInfoParams, signTstInfo, type TimeStampAccuracy, type TimeStampTokenParams } from './token.js';
export { type TimeStampVerifyOptions, type VerifiedTimeStamp, verifyTimeStampResponse, verifyTimeStampToken } from './verify.js';
