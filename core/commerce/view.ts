/**
 * What the trusted window may show about an offer: built only from a verified offer and its
 * validated certificate chain, never from anything the page said.
 */
import type { Money, OfferedItem, PaymentMethod } from '../protocol/commerce.js';

/** The merchant as the trusted window shows it: read from its validated certificate chain only. */
export interface CertifiedMerchant {
  legalName: string;
  organization?: string;
  certifiedOrigins: string[];
  /** Common name of the root CA the certificate chains to. */
  issuer: string;
  certificateFingerprint: string;
  certificateNotAfter: string;
}

/** How the order must be signed, and who asked for it. */
export interface SignatureRequirement {
  hardwareToken: boolean;
  userVerification: boolean;
  /** merchant: demanded in the signed offer; amount: the shopper's own threshold setting. */
  because: ('merchant' | 'amount')[];
}

export interface VerifiedOfferView {
  dealId: string;
  offerId: string;
  /** The origin that asked for the deal, as the browser reported it; equal to the certified origin. */
  origin: string;
  merchant: CertifiedMerchant;
  items: OfferedItem[];
  total: Money;
  expiresAt: string;
  /** Merchant-provided text: signed by the merchant, but its content is the merchant's word. */
  terms: string;
  paymentMethods: PaymentMethod[];
  /** With method cheque: whom the cheque is made out to and the bank that clears it. */
  cheque?: { payee: string; bank: { keyId: string; url: string } };
  signature: SignatureRequirement;
  verifiedAt: string;
}
