/**
 * The in-page provider protocol (`window.semper.request({ method, params })`), EIP-1193 style.
 * Pages are untrusted business applications: they may ask, never decide.
 */
import { z } from '../zod.js';
import { PurchaseParams } from './commerce.js';

/** Exchange uses: the page names only which document or contract; everything shown comes from the merchant's signed descriptor. */
const ExchangeDocumentId = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'document id'));
export const CertifiedMailParams = z.strictObject({ documentId: ExchangeDocumentId });
export const SignContractParams = z.strictObject({ contractId: ExchangeDocumentId });
/** A fair purchase: the page names only the good; price, payment and delivery come from the merchant's signed offer. */
export const BuyFairParams = z.strictObject({ sku: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'sku')) });

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
  z.strictObject({ method: z.literal('semper_getInfo'), params: z.optional(z.strictObject({})) }),
  z.strictObject({ method: z.literal('semper_purchase'), params: PurchaseParams }),
  z.strictObject({ method: z.literal('semper_certifiedMail'), params: CertifiedMailParams }),
  z.strictObject({ method: z.literal('semper_signContract'), params: SignContractParams }),
  z.strictObject({ method: z.literal('semper_buyFair'), params: BuyFairParams }),
]);
export type ProviderRequest = z.infer<typeof ProviderRequest>;

export interface PurchaseOutcome {
  dealId: string;
  status: 'completed';
  orderId: string;
  /** Titles and SKUs of what was delivered; the goods themselves stay in the shopper's archive. */
  delivered: { sku: string; title: string }[];
}

/** What a page learns when an exchange ends (the items themselves stay in the shopper's archive). */
export interface ExchangeOutcomeForPage {
  dealId: string;
  /** completed: the main protocol ran; resolved: the TTP stepped in and the shopper has the item or its replacement; aborted: nobody got anything. */
  status: 'completed' | 'resolved' | 'aborted';
  use: 'certified-mail' | 'contract-signing';
  /** statementDigest of m1: how the TTP names the exchange */
  exchangeId: string;
  title: string;
}

/** What a page learns when a fair purchase ends: the goods stay in the shopper's archive. */
export interface FairOutcomeForPage {
  dealId: string;
  /** completed: the merchant sent the key; resolved: the TTP revealed it */
  status: 'completed' | 'resolved';
  sku: string;
  title: string;
  goods: { mediaType: string; size: number; digest: string };
}

export interface ProviderErrorData {
  /** The SemperErrorCode behind the refusal, e.g. ERR_NONCE_MISMATCH. */
  reason: string;
}
