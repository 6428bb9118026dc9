/**
 * RFC 3161 §2.4.2 TimeStampResp: a PKIStatusInfo and, when granted, the token.
 *
 *   TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
 *   PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
 *                                failInfo PKIFailureInfo OPTIONAL }
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SemperError } from '../errors.js';
import { der, parseDer } from './asn1.js';
import { FAILURE_BITS, type TimeStampFailure } from './request.js';

export const PKI_STATUS = { granted: 0, grantedWithMods: 1, rejection: 2, waiting: 3, revocationWarning: 4, revocationNotification: 5 } as const;

/** A granted reply carrying `token` (a DER ContentInfo from createTimeStampToken). */
export function grantedResponse(token: Uint8Array): Uint8Array<ArrayBuffer> {
  const asn = parseDer(token, 'TimeStampToken', 'ERR_INTERNAL');
  const response = new pkijs.TimeStampResp({
    status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.granted }),
    timeStampToken: new pkijs.ContentInfo({ schema: asn }),
  });
  return der(response.toSchema());
}

/** PKIFailureInfo as a DER named BIT STRING: one bit set, trailing zero bits dropped (X.690 §11.2.2). */
function failureBits(failure: TimeStampFailure): asn1js.BitString {
  const bit = FAILURE_BITS[failure];
  const bytes = new Uint8Array((bit >> 3) + 1);
  bytes[bit >> 3] = 0x80 >> (bit & 7);
  return new asn1js.BitString({ valueHex: bytes, unusedBits: 7 - (bit & 7) });
}

/** A rejection (RFC 3161 §2.4.2) naming the failure and, for a human, why. */
export function rejectionResponse(failure: TimeStampFailure, text: string): Uint8Array<ArrayBuffer> {
  const response = new pkijs.TimeStampResp({
    status: new pkijs.PKIStatusInfo({
      status: pkijs.PKIStatus.rejection,
      statusStrings: [new asn1js.Utf8String({ value: text.slice(0, 200) })],
      failInfo: failureBits(failure),
    }),
  });
  return der(response.toSchema());
}

export interface ParsedTimeStampResponse {
  status: number;
  statusStrings: string[];
  /** The failure bits set, by name. */
  failures: TimeStampFailure[];
  /** The TimeStampToken's DER, when the reply carries one. */
  token: Uint8Array<ArrayBuffer> | undefined;
}

export function parseTimeStampResponse(bytes: Uint8Array): ParsedTimeStampResponse {
  const asn = parseDer(bytes, 'TimeStampResp', 'ERR_TIMESTAMP_INVALID');
  let response: pkijs.TimeStampResp;
  try {
    response = new pkijs.TimeStampResp({ schema: asn });
  } catch (e) {
    throw new SemperError('ERR_TIMESTAMP_INVALID', `RFC 3161 §2.4.2: not a TimeStampResp (${e instanceof Error ? e.message : String(e)})`);
  }
  const failures: TimeStampFailure[] = [];
  const info = response.status.failInfo;
  if (info) {
    const view = info.valueBlock.valueHexView;
    for (const [name, bit] of Object.entries(FAILURE_BITS) as [TimeStampFailure, number][]) {
      if ((view[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) failures.push(name);
    }
  }
  // The token's bytes as received (not a re-encoding), so what is verified is what was sent.
  const element = response.timeStampToken && asn instanceof asn1js.Sequence ? asn.valueBlock.value[1] : undefined;
  const token = element ? new Uint8Array(element.valueBeforeDecodeView) : undefined;
  return { status: response.status.status, statusStrings: (response.status.statusStrings ?? []).map((s) => s.valueBlock.value), failures, token };
}
