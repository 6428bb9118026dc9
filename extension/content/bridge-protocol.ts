/**
 * Messages between the in-page provider (MAIN world), the content script (isolated world) and
 * the service worker (runtime port). Dependency-free so the two content scripts stay small; the
 * worker validates everything again with zod (extension/port-protocol.ts).
 *
 *   page ──window.postMessage──▶ content script ──port──▶ worker
 *   page ◀──window.postMessage── content script ◀──port── worker
 *
 * The window channel is shared with every script of the page, so it carries nothing secret: a
 * page can only lie to itself. Messages name a random per-page channel id (the provider's) and a
 * request id; both sides only accept messages whose `event.source` is the page's own window.
 */
import type { PROVIDER_ERRORS as CORE_PROVIDER_ERRORS, ProviderErrorCode } from '../../core/protocol/provider.js';

/**
 * The provider error codes of core/protocol/provider.ts, repeated here so that the content
 * scripts do not bundle zod (core/protocol builds schemas at import time). The type below fails
 * to compile if the two ever differ.
 */
export const PROVIDER_ERRORS = {
  userRejected: 4001,
  unauthorized: 4100,
  unsupportedMethod: 4200,
  invalidParams: -32602,
  internal: -32603,
} as const;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameCodes: Same<typeof PROVIDER_ERRORS, typeof CORE_PROVIDER_ERRORS> = true;
void sameCodes;

export const PAGE_TO_CONTENT = 'semper:provider-request/1';
export const CONTENT_TO_PAGE = 'semper:provider-response/1';
export const PAGE_PORT_NAME = 'semper-page/1';
export const TRUSTED_WINDOW_PORT_NAME = 'semper-trusted-window/1';

/** Ids are short opaque strings; channels are 128-bit random hex. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const CHANNEL = /^[0-9a-f]{32}$/;

export interface ProviderErrorShape {
  code: ProviderErrorCode;
  message: string;
  data: { reason: string };
}

/** provider → content script */
export interface PageRequestMessage {
  type: typeof PAGE_TO_CONTENT;
  channel: string;
  id: string;
  method: string;
  params?: unknown;
}

/** content script → provider */
export type PageResponseMessage =
  | { type: typeof CONTENT_TO_PAGE; channel: string; id: string; ok: true; result: unknown }
  | { type: typeof CONTENT_TO_PAGE; channel: string; id: string; ok: false; error: ProviderErrorShape };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isChannel(v: unknown): v is string {
  return typeof v === 'string' && CHANNEL.test(v);
}

export function isRequestId(v: unknown): v is string {
  return typeof v === 'string' && ID.test(v);
}

const KNOWN_CODES = new Set<number>(Object.values(PROVIDER_ERRORS));

export function isProviderErrorShape(v: unknown): v is ProviderErrorShape {
  return (
    isRecord(v) &&
    typeof v.code === 'number' &&
    KNOWN_CODES.has(v.code) &&
    typeof v.message === 'string' &&
    isRecord(v.data) &&
    typeof v.data.reason === 'string'
  );
}

export function isPageRequest(v: unknown): v is PageRequestMessage {
  return (
    isRecord(v) &&
    v.type === PAGE_TO_CONTENT &&
    isChannel(v.channel) &&
    isRequestId(v.id) &&
    typeof v.method === 'string' &&
    v.method.length > 0 &&
    v.method.length <= 64
  );
}

export function isPageResponse(v: unknown): v is PageResponseMessage {
  if (!isRecord(v) || v.type !== CONTENT_TO_PAGE || !isChannel(v.channel) || !isRequestId(v.id)) return false;
  if (v.ok === true) return 'result' in v;
  if (v.ok === false) return isProviderErrorShape(v.error);
  return false;
}

/** content script → worker, over the runtime port */
export type PortRequest =
  /**
   * `key`: random per page request (the content script's, never the page's): the same request
   * re-sent after a worker restart finds the deal it already started instead of starting another.
   */
  | { type: 'request'; id: string; method: string; params?: unknown; key?: string }
  /** After a reconnect (worker restart): re-attach to a deal this page started. */
  | { type: 'attach'; id: string; dealId: string };

/** worker → content script */
export type PortResponse =
  /** The deal id, as soon as the deal exists, so the request survives a worker restart. */
  { type: 'deal'; id: string; dealId: string } | { type: 'result'; id: string; result: unknown } | { type: 'error'; id: string; error: ProviderErrorShape };

const DEAL_ID = /^[A-Za-z0-9_-]{16,64}$/;

export function isPortResponse(v: unknown): v is PortResponse {
  if (!isRecord(v) || !isRequestId(v.id)) return false;
  switch (v.type) {
    case 'deal':
      return typeof v.dealId === 'string' && DEAL_ID.test(v.dealId);
    case 'result':
      return 'result' in v;
    case 'error':
      return isProviderErrorShape(v.error);
    default:
      return false;
  }
}

export function providerError(code: ProviderErrorCode, message: string, reason: string): ProviderErrorShape {
  return { code, message, data: { reason } };
}
