/**
 * The words for claims and decisions of a dispute (core/arbiter), for every page that shows one:
 * the dispute UI (extension/ui/disputes.tsx) of the trusted window and the popup.
 */
import type { Claim } from '../../core/arbiter/statements.js';
import type { DisputeView } from '../disputes/raise.js';
import type { MessageKey } from './i18n.js';

export const CLAIM_LABELS: Record<Claim, MessageKey> = {
  'goods-not-delivered': 'dspClaimGoodsNotDelivered',
  'goods-mismatch': 'dspClaimGoodsMismatch',
  'offer-denied': 'dspClaimOfferDenied',
  'order-denied': 'dspClaimOrderDenied',
  'payment-not-received': 'dspClaimPaymentNotReceived',
  'ttp-conflict': 'dspClaimTtpConflict',
  'contract-signed': 'dspClaimContractSigned',
};

export const DECISION_LABELS: Record<DisputeView['decision'], MessageKey> = { upheld: 'dspUpheld', dismissed: 'dspDismissed', undecided: 'dspUndecided' };
