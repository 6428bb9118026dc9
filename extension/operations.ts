/**
 * The worker's operation API (in the style of GNU Taler's wallet-core: operation → request →
 * response), used by the popup, the trusted window and tests through
 * `runtime.sendMessage({ op, request })` (`browser.*` in the extension, `chrome.*` in tests).
 * Requests are zod-validated in the worker, and only extension pages may call;
 * confirm/reject/getPendingOffer only from the trusted window that shows that deal.
 */
import { z } from 'zod';
import { DealId } from '../core/protocol/commerce.js';
import type { VerifiedOfferView } from '../core/commerce/view.js';
import type { ErrorInfo } from '../core/commerce/shopper.js';
import type { PublicJwk } from '../core/crypto/jwk.js';
import type { DeliveredGood, Money } from '../core/protocol/commerce.js';
import type { PurchaseOutcome } from '../core/protocol/provider.js';
import type { DealStatus } from './deal-store.js';
import { IDENTITY_DEAL_WINDOW_OPERATIONS, IdentityOperationRequests, type IdentityOperationResponses } from './identity-operations.js';
import { ByDeal, Empty, Fingerprint, type ArchivedStatementView } from './operation-common.js';
import { EXCHANGE_WINDOW_OPERATIONS, ExchangeOperationRequests, type ExchangeOperationResponses } from './exchange-operations.js';


export const OperationRequests = {
  getPendingOffer: ByDeal,
  /** `anonymous`: sign with this merchant origin's pseudonym instead of the identity key. */
  confirmDeal: z.strictObject({ dealId: DealId, anonymous: z.boolean().optional() }),
  rejectDeal: ByDeal,
  listDeals: Empty,
  getDeal: ByDeal,
  getIdentity: Empty,
  'settings.addRoot': z.strictObject({ certificate: z.string().min(1).max(20_000) }),
  'settings.listRoots': Empty,
  'settings.removeRoot': z.strictObject({ fingerprint: Fingerprint }),
  ...IdentityOperationRequests,
  ...ExchangeOperationRequests,
} as const;

export type OperationName = keyof typeof OperationRequests;
export const OPERATION_NAMES = Object.keys(OperationRequests) as OperationName[];
/** Operations only the trusted window showing the deal may call. */
export const TRUSTED_WINDOW_OPERATIONS: readonly OperationName[] = ['getPendingOffer', 'confirmDeal', 'rejectDeal', ...IDENTITY_DEAL_WINDOW_OPERATIONS, ...EXCHANGE_WINDOW_OPERATIONS];

export type OperationRequest<O extends OperationName> = z.infer<(typeof OperationRequests)[O]>;

export const OperationMessage = z.strictObject({
  op: z.enum(OPERATION_NAMES as [OperationName, ...OperationName[]]),
  request: z.unknown(),
});

export interface DealSummary {
  dealId: string;
  origin: string;
  status: DealStatus;
  createdAt: string;
  updatedAt: string;
  merchant?: string;
  total?: Money;
  error?: ErrorInfo;
}

export type { ArchivedStatementView } from './operation-common.js';

export interface RootSummary {
  fingerprint: string;
  commonName: string;
  subject: string;
  notAfter: string;
  addedAt: string;
}

export interface OperationResponses extends IdentityOperationResponses, ExchangeOperationResponses {
  getPendingOffer: { view: VerifiedOfferView; status: DealStatus };
  confirmDeal: { status: DealStatus };
  rejectDeal: { status: DealStatus };
  listDeals: { deals: DealSummary[] };
  getDeal: {
    deal: DealSummary;
    view?: VerifiedOfferView;
    outcome?: PurchaseOutcome;
    statements: ArchivedStatementView[];
    goods: DeliveredGood[];
  };
  getIdentity: { keyId: string; publicJwk: PublicJwk; alg: 'ES256' };
  'settings.addRoot': { root: RootSummary };
  'settings.listRoots': { roots: RootSummary[] };
  'settings.removeRoot': { removed: boolean };
}

export type OperationResult<O extends OperationName> =
  | { ok: true; response: OperationResponses[O] }
  | { ok: false; error: { code: string; message: string } };
