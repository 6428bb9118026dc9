/**
 * The in-page provider protocol (`window.semper.request({ method, params })`), EIP-1193 style.
 * Pages are untrusted business applications: they may ask, never decide.
 */
import { z } from 'zod';
import { PurchaseParams } from './commerce.js';

export const PROVIDER_ERRORS = {
  /** The shopper declined in the trusted window, or closed it. */
  userRejected: 4001,
  /** The request was refused: the offer failed verification or the origin may not do this. */
  unauthorized: 4100,
  unsupportedMethod: 4200,
  invalidParams: -32602,
  internal: -32603,
} as const;
export type ProviderErrorCode = (typeof PROVIDER_ERRORS)[keyof typeof PROVIDER_ERRORS];

export const ProviderRequest = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('semper_getInfo'), params: z.strictObject({}).optional() }),
  z.strictObject({ method: z.literal('semper_purchase'), params: PurchaseParams }),
]);
export type ProviderRequest = z.infer<typeof ProviderRequest>;

export interface PurchaseOutcome {
  dealId: string;
  status: 'completed';
  orderId: string;
  /** Titles and SKUs of what was delivered; the goods themselves stay in the shopper's archive. */
  delivered: { sku: string; title: string }[];
}

export interface ProviderErrorData {
  /** The SemperErrorCode behind the refusal, e.g. ERR_NONCE_MISMATCH. */
  reason: string;
}
