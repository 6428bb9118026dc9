/**
 * What the worker accepts from a page's content script, validated with zod: the page is
 * untrusted and the content script only forwards what the page said.
 */
import { z } from '../../core/zod.js';
import { DealId } from '../../core/protocol/commerce.js';
import { PROVIDER_ERRORS, ProviderRequest } from '../../core/protocol/provider.js';
import { providerError, type ProviderErrorShape } from './bridge-protocol.js';

const RequestId = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/));
/** A page request's random key (128 bits or more, base64url). */
export const RequestKey = z.string().check(z.regex(/^[A-Za-z0-9_-]{22,64}$/));

export const PortRequestSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('request'),
    id: RequestId,
    method: z.string().check(z.minLength(1), z.maxLength(64)),
    params: z.optional(z.unknown()),
    key: z.optional(RequestKey),
  }),
  z.strictObject({ type: z.literal('attach'), id: RequestId, dealId: DealId }),
]);
export type PortRequestMessage = z.infer<typeof PortRequestSchema>;

export const PROVIDER_METHODS = ['semper_getInfo', 'semper_purchase', 'semper_certifiedMail', 'semper_signContract', 'semper_buyFair'] as const;

export type ParsedProviderRequest = { ok: true; request: ProviderRequest } | { ok: false; error: ProviderErrorShape };

/** Validate a page's `{ method, params }`: unknown method → 4200, bad params → -32602. */
export function parseProviderRequest(method: string, params: unknown): ParsedProviderRequest {
  if (!(PROVIDER_METHODS as readonly string[]).includes(method)) {
    return { ok: false, error: providerError(PROVIDER_ERRORS.unsupportedMethod, `unsupported method ${method.slice(0, 64)}`, 'ERR_SCHEMA') };
  }
  const parsed = ProviderRequest.safeParse(params === undefined ? { method } : { method, params });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed';
    return { ok: false, error: providerError(PROVIDER_ERRORS.invalidParams, `invalid params (${where})`, 'ERR_SCHEMA') };
  }
  return { ok: true, request: parsed.data };
}
