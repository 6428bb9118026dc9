/**
 * RFC 3161 §2.4.1 TimeStampReq: what a client sends to a time-stamping authority, and the strict
 * reading of it a TSA does before stamping anything.
 *
 *   TimeStampReq ::= SEQUENCE {
 *     version        INTEGER { v1(1) },
 *     messageImprint MessageImprint,           -- SHA-256 only, here
 *     reqPolicy      TSAPolicyId     OPTIONAL,
 *     nonce          INTEGER         OPTIONAL,
 *     certReq        BOOLEAN         DEFAULT FALSE,
 *     extensions     [0] IMPLICIT Extensions OPTIONAL }
 *
 * Pure functions: the nonce is the caller's (randomNonce draws one), so the same inputs give the
 * same bytes.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SemperError } from '../errors.js';
import { der, OID, parseDer, positiveInteger, readOid, readPositiveInteger } from './asn1.js';

export const TIMESTAMP_QUERY_TYPE = 'application/timestamp-query';
export const TIMESTAMP_REPLY_TYPE = 'application/timestamp-reply';

export interface TimeStampRequestParams {
  /** SHA-256 of the evidence (32 bytes): only the imprint travels, never the evidence. */
  digest: Uint8Array;
  /** A positive random number the reply must echo (randomNonce()); omit only if the caller checks freshness otherwise. */
  nonce?: bigint;
  /** Ask for the TSA's certificate in the token (default true: the token then verifies on its own). */
  certReq?: boolean;
  /** TSA policy the token should be issued under (an OID). */
  policy?: string;
}

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new SemperError('ERR_SCHEMA', 'RFC 3161 §2.4.1: the messageImprint is a SHA-256 digest of 32 bytes');
  }
}

/** A fresh 64-bit positive nonce (RFC 3161 §2.4.1: "a large random number"). */
export function randomNonce(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive, and never zero
  return BigInt(`0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`);
}

export function sha256MessageImprint(digest: Uint8Array): pkijs.MessageImprint {
  checkDigest(digest);
  // Parameters absent for SHA-2 (RFC 5754 §2), as OpenSSL writes them.
  return new pkijs.MessageImprint({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
    hashedMessage: new asn1js.OctetString({ valueHex: new Uint8Array(digest) }),
  });
}

/** The DER TimeStampReq for `digest` (version 1, SHA-256 imprint, nonce, certReq). */
export function buildTimeStampRequest(params: TimeStampRequestParams): Uint8Array<ArrayBuffer> {
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: sha256MessageImprint(params.digest),
    ...(params.policy ? { reqPolicy: params.policy } : {}),
    ...(params.nonce !== undefined ? { nonce: positiveInteger(params.nonce) } : {}),
    // certReq is DEFAULT FALSE: DER leaves a false value out (X.690 §11.5).
    ...((params.certReq ?? true) ? { certReq: true } : {}),
  });
  return der(request.toSchema());
}

/** Why a TSA refuses a request: the PKIFailureInfo bit it answers with (RFC 3161 §2.4.2). */
export type TimeStampFailure =
  | 'badAlg'
  | 'badRequest'
  | 'badDataFormat'
  | 'timeNotAvailable'
  | 'unacceptedPolicy'
  | 'unacceptedExtension'
  | 'addInfoNotAvailable'
  | 'systemFailure';

/** PKIFailureInfo bit numbers (RFC 3161 §2.4.2). */
export const FAILURE_BITS: Readonly<Record<TimeStampFailure, number>> = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
};

/** A request the TSA will not stamp, with the failure it answers. */
export class TimeStampRequestError extends SemperError {
  override readonly name = 'TimeStampRequestError';
  constructor(
    readonly failure: TimeStampFailure,
    message: string,
  ) {
    super('ERR_SCHEMA', message, { failure });
  }
}

export interface ParsedTimeStampRequest {
  digest: Uint8Array<ArrayBuffer>;
  nonce: bigint | undefined;
  certReq: boolean;
  policy: string | undefined;
}

/**
 * Read a TimeStampReq as a TSA must before stamping: DER, version 1, a SHA-256 imprint of 32
 * bytes, a positive nonce, no extensions (none is supported, RFC 3161 §2.4.1 says refuse them).
 */
export function parseTimeStampRequest(bytes: Uint8Array): ParsedTimeStampRequest {
  const bad = (rule: string) => new TimeStampRequestError('badRequest', rule);
  let asn: asn1js.AsnType;
  try {
    asn = parseDer(bytes, 'TimeStampReq', 'ERR_SCHEMA');
  } catch (e) {
    throw bad(e instanceof Error ? e.message : String(e));
  }
  let request: pkijs.TimeStampReq;
  try {
    request = new pkijs.TimeStampReq({ schema: asn });
  } catch (e) {
    throw bad(`RFC 3161 §2.4.1: not a TimeStampReq (${e instanceof Error ? e.message : String(e)})`);
  }
  if (request.version !== 1) throw bad(`RFC 3161 §2.4.1: TimeStampReq version must be 1, not ${request.version}`);
  const algorithm = request.messageImprint.hashAlgorithm;
  if (algorithm.algorithmId !== OID.sha256) {
    throw new TimeStampRequestError('badAlg', `RFC 3161 §2.4.2: this TSA stamps SHA-256 imprints only, not ${algorithm.algorithmId}`);
  }
  // RFC 5754 §2: parameters absent, or (tolerated, as OpenSSL and others accept) NULL.
  if (algorithm.algorithmParams !== undefined && !(algorithm.algorithmParams instanceof asn1js.Null)) {
    throw new TimeStampRequestError('badAlg', 'RFC 5754 §2: SHA-256 parameters must be absent');
  }
  const digest = new Uint8Array(request.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (digest.length !== 32) {
    throw new TimeStampRequestError('badDataFormat', `RFC 3161 §2.4.1: a SHA-256 imprint has 32 bytes, not ${digest.length}`);
  }
  if (request.extensions?.length) throw new TimeStampRequestError('unacceptedExtension', 'RFC 3161 §2.4.1: this TSA supports no request extensions');
  let nonce: bigint | undefined;
  if (request.nonce) {
    try {
      nonce = readPositiveInteger(request.nonce, 'nonce', 'ERR_SCHEMA');
    } catch (e) {
      throw bad(`RFC 3161 §2.4.1: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Positive and minimal, so the token's re-encoding of the value echoes the request's bytes exactly.
    if (request.nonce.valueBlock.valueHexView.length > 32) throw bad('RFC 3161 §2.4.1: nonce longer than 256 bits');
  }
  // reqPolicy read from its bytes (readOid): pkijs's string is wrong for arcs above 2^53.
  const reqPolicy = asn instanceof asn1js.Sequence ? asn.valueBlock.value.find((v) => v instanceof asn1js.ObjectIdentifier) : undefined;
  let policy: string | undefined;
  try {
    policy = reqPolicy instanceof asn1js.ObjectIdentifier ? readOid(reqPolicy) : undefined;
  } catch (e) {
    throw bad(`RFC 3161 §2.4.1: reqPolicy: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { digest, nonce, certReq: request.certReq === true, policy };
}
