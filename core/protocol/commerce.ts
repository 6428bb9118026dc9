/**
 * Wire schemas of the purchase flow (offer → order → confirmation → delivery), validated at
 * every boundary: the merchant validates what the shopper sends, the shopper what the merchant
 * returns. Money is an integer count of minor units (cents) with an ISO 4217 code: no floats.
 *
 * HTTP (the merchant's Semper endpoint, on the shop page's own origin):
 *   POST /semper/offer  OfferRequest            → 200 { offer: Statement<OfferBody> }
 *   POST /semper/order  { order: Statement<OrderBody> } → 200 OrderResult
 *   errors: 4xx/5xx { error: { code: SemperErrorCode, message } }
 */
import { z } from '../zod.js';
import { DealId } from './deal-id.js';

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));
export const Nonce = b64u.check(z.length(43)); // 32 random bytes
export { DealId };
export const Sku = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'sku'));

export const Money = z.strictObject({
  amount: z.number().check(z.int(), z.gte(0), z.lte(1_000_000_000)),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/, 'ISO 4217 code')),
});
export type Money = z.infer<typeof Money>;

export const RequestedItem = z.strictObject({ sku: Sku, quantity: z.number().check(z.int(), z.gte(1), z.lte(99)) });
export type RequestedItem = z.infer<typeof RequestedItem>;

/** What a page may ask for: the only page-provided input that reaches the worker's logic. */
export const PurchaseParams = z.strictObject({ items: z.array(RequestedItem).check(z.minLength(1), z.maxLength(20)) });
export type PurchaseParams = z.infer<typeof PurchaseParams>;

export const OfferRequest = z.strictObject({
  dealId: DealId,
  nonce: Nonce,
  items: PurchaseParams.shape.items,
  /**
   * Ask for an offer that commits to what each digital item delivers (`OfferedItem.content`). This
   * release's shoppers always ask and refuse offers without it; shoppers of the first release do not
   * ask, and their strict schemas would refuse an offer carrying it.
   */
  deliveryCommitments: z.optional(z.literal(true)),
});
export type OfferRequest = z.infer<typeof OfferRequest>;

/** A media type as goods carry it (lower case, no parameters). */
export const MediaType = z.string().check(z.maxLength(100), z.regex(/^[a-z]+\/[a-z0-9.+-]+$/, 'media type'));
/** The largest good a delivery may carry, in bytes (what 1,000,000 characters of UTF-8 can be). */
export const MAX_GOOD_BYTES = 4_000_000;

/**
 * What the offer commits the merchant to deliver for a digital item; the shopper holds the
 * delivery to it (never to what the delivery says about itself):
 *   content    the exact bytes: their SHA-256 (base64url), media type and size;
 *   described  a good not yet produced: what it will be (the text an arbiter holds it against), its
 *              media type and an upper bound on its size.
 * The item's title is committed too: the delivered good carries the same title.
 */
export const ContentCommitment = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('content'),
    mediaType: MediaType,
    digest: b64u.check(z.length(43)),
    size: z.number().check(z.int(), z.gte(0), z.lte(MAX_GOOD_BYTES)),
  }),
  z.strictObject({
    kind: z.literal('described'),
    mediaType: MediaType,
    description: z.string().check(z.minLength(1), z.maxLength(2000)),
    maxSize: z.number().check(z.int(), z.gt(0), z.lte(MAX_GOOD_BYTES)),
  }),
]);
export type ContentCommitment = z.infer<typeof ContentCommitment>;

export const OfferedItem = z.strictObject({
  sku: Sku,
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  quantity: z.number().check(z.int(), z.gte(1), z.lte(99)),
  unitPrice: Money,
  kind: z.enum(['digital', 'physical']),
  /** Digital items: what will be delivered (see ContentCommitment). Absent only in offers made for first-release shoppers. */
  content: z.optional(ContentCommitment),
});
export type OfferedItem = z.infer<typeof OfferedItem>;

/** invoice: paid outside Semper after delivery; cheque: a cheque the merchant clears at the offer's bank before it delivers. */
export const PaymentMethod = z.enum(['invoice', 'cheque']);
export type PaymentMethod = z.infer<typeof PaymentMethod>;

/** A merchant's demand on how the order is signed (e.g. above an amount): signed in the offer. */
export const OrderSignatureDemand = z.strictObject({
  hardwareToken: z.boolean(),
  userVerification: z.boolean(),
});
export type OrderSignatureDemand = z.infer<typeof OrderSignatureDemand>;

export const OfferBody = z.strictObject({
  offerId: b64u.check(z.minLength(16), z.maxLength(64)),
  /** The shopper's fresh nonce, echoed: a replayed offer cannot match. */
  nonce: Nonce,
  /** The origin the merchant claims to serve this offer from; must be in its certificate. */
  origin: z.string().check(z.url()),
  items: z.array(OfferedItem).check(z.minLength(1), z.maxLength(20)),
  total: Money,
  expiresAt: z.iso.datetime(),
  terms: z.string().check(z.maxLength(2000)),
  paymentMethods: z.array(PaymentMethod).check(z.minLength(1), z.maxLength(2)),
  orderSignature: z.optional(OrderSignatureDemand),
  /** With method cheque: the payee key id the cheque is made out to, and the bank that clears it (required iff cheque is offered). */
  cheque: z.optional(
    z.strictObject({
      payee: b64u.check(z.length(43)),
      bank: z.strictObject({ keyId: b64u.check(z.length(43)), url: z.string().check(z.url(), z.maxLength(512)) }),
    }),
  ),
});
export type OfferBody = z.infer<typeof OfferBody>;

export const OrderBody = z.strictObject({
  offerId: OfferBody.shape.offerId,
  /** statementDigest of the signed offer this order accepts. */
  offerDigest: b64u.check(z.length(43)),
  paymentMethod: PaymentMethod,
  /** With method cheque: the digest of the cheque sent with the order (the order binds exactly that cheque). */
  cheque: z.optional(b64u.check(z.length(43))),
});
export type OrderBody = z.infer<typeof OrderBody>;

export const ConfirmationBody = z.strictObject({
  orderId: b64u.check(z.minLength(16), z.maxLength(64)),
  offerDigest: b64u.check(z.length(43)),
  orderDigest: b64u.check(z.length(43)),
  status: z.literal('accepted'),
  total: Money,
  paymentMethod: PaymentMethod,
  /** With method cheque: the digest of the bank's payment proof for the cleared cheque (sent with the reply). */
  clearing: z.optional(b64u.check(z.length(43))),
});
export type ConfirmationBody = z.infer<typeof ConfirmationBody>;

export const DeliveredGood = z.strictObject({
  sku: Sku,
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  mediaType: MediaType,
  /** The good itself (digital goods are small in the demo); UTF-8 text or base64url per encoding. */
  content: z.string().check(z.maxLength(1_000_000)),
  encoding: z.enum(['utf8', 'base64url']),
  /** base64url SHA-256 of the decoded content. */
  digest: b64u.check(z.length(43)),
});
export type DeliveredGood = z.infer<typeof DeliveredGood>;

export const DeliveryBody = z.strictObject({
  orderId: ConfirmationBody.shape.orderId,
  orderDigest: b64u.check(z.length(43)),
  goods: z.array(DeliveredGood).check(z.maxLength(20)),
});
export type DeliveryBody = z.infer<typeof DeliveryBody>;

export const STATEMENT_TYPES = {
  offer: 'semper.offer',
  order: 'semper.order',
  confirmation: 'semper.order-confirmation',
  delivery: 'semper.delivery',
} as const;

export const ErrorResponse = z.strictObject({
  error: z.strictObject({ code: z.string().check(z.maxLength(64)), message: z.string().check(z.maxLength(1000)) }),
});
