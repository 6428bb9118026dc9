/**
 * The worker's operation API, in one table (in the style of GNU Taler's wallet-core: operation →
 * request → response): every front end — the popup, the trusted window, the e2e tests — calls
 * `runtime.sendMessage({ op, request })` and gets `{ ok: true, response }` or
 * `{ ok: false, error: { code, message } }`. Each operation names its request schema (zod,
 * checked in the worker before any handler runs) and who may call it:
 *
 *   page         any of Semper's own extension pages (popup, trusted window)
 *   trusted-page the trusted-window page only (WebAuthn ceremonies)
 *   deal-window  only the trusted window that currently shows the deal named in the request
 *
 * Web pages and content scripts can never call an operation (operations/dispatch.ts).
 */
import type { Notice } from '../notices/notices.js';
import type { FetchedCertificate } from '../settings/fetch-certificate.js';
import { z } from '../../core/zod.js';
import { TtpPolicy } from '../../core/commerce/ttp-policy.js';
import { DealId, Money, type DeliveredGood } from '../../core/protocol/commerce.js';
import { HolderRevocationReason } from '../../core/pki/registration.js';
import { Statement } from '../../core/statements/index.js';
import type { PublicJwk } from '../../core/crypto/jwk.js';
import type { ErrorInfo, ShopperPhase } from '../../core/commerce/shopper.js';
import type { ExchangeDealPhase } from '../../core/commerce/exchange-shopper.js';
import type { VerifiedOfferView } from '../../core/commerce/view.js';
import type { ExchangeUse, VerifiedExchangeView } from '../../core/commerce/exchange-deal.js';
import type { ExchangeOutcomeForPage, FairOutcomeForPage, PurchaseOutcome } from '../../core/protocol/provider.js';
import { FairMethod } from '../../core/commerce/fair-purchase.js';
import { Claim } from '../../core/arbiter/statements.js';
import type { ComplaintSigning, DisputeView } from '../disputes/raise.js';
import type { VerifiedFairOfferView } from '../../core/commerce/fair-purchase.js';
import type { FairShopperPhase } from '../../core/commerce/fair-purchase-shopper.js';
import type { MethodFunds } from '../payments/service.js';
import type { CardSummary } from '../payments/card-payments.js';
import type { KeySummary } from '../identity/key-store.js';
import type { IdentityStatus, SettingsView, TokenRegistrationOptions, TokenSigningRequest, TokenSummary } from '../identity/service.js';
import type { PurseSummary } from '../wallet/service.js';
import type { GoodFile } from '../history/goods.js';
import type { TimestampCheck } from '../settings/tsa-trust.js';
import type { HistoryRow } from '../history/search.js';
import { Empty, type PageAfter as PageAfterSchema, START_OPERATIONS, type OperationSpec } from './start-table.js';
import type { Timeline } from '../history/timeline.js';

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'base64url'));
export const Fingerprint = z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'base64url SHA-256 fingerprint'));
const KeyId = z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'key id (RFC 7638 thumbprint)'));
const CredentialId = b64u.check(z.minLength(16), z.maxLength(1024));
export type PageAfter = z.infer<typeof PageAfterSchema>;
const ByDeal = z.strictObject({ dealId: DealId });
const BankUrl = z.string().check(z.minLength(1), z.maxLength(512));
const Passphrase = z.string().check(z.minLength(8), z.maxLength(1024));

/** What startRegistration resolved with; @simplewebauthn/server (verifyRegistration) checks the rest. */
export const RegistrationResponse = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64u.check(z.maxLength(4096)),
    attestationObject: b64u.check(z.maxLength(16_384)),
    transports: z.optional(z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']))),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()),
  authenticatorAttachment: z.optional(z.enum(['platform', 'cross-platform'])),
});

/** A statement signed with a security key: its signature block is a WebAuthn assertion. */
const TokenSignedStatement = Statement.check(
  z.refine((s) => s.signature.alg === 'webauthn-ES256' && s.signature.signer.kind === 'webauthn', {
    message: 'expected a statement signed with a security key (webauthn-ES256)',
  }),
);
/** An order signed with a security key. */
export const TokenSignedOrder = TokenSignedStatement;

/** A complaint about a finished deal for a trusted arbiter (its fingerprint or address). */
const DisputeRequest = z.strictObject({
  dealId: DealId,
  claim: Claim,
  arbiter: z.string().check(z.minLength(1), z.maxLength(512)),
  statement: z.optional(z.string().check(z.maxLength(2000))),
});

export type { Access } from './start-table.js';

export const OPERATIONS = {
  // ── deals: purchases ────────────────────────────────────────────────────
  getPendingOffer: { request: ByDeal, access: 'deal-window' },
  /** `anonymous`: sign with this merchant origin's pseudonym instead of the identity key. */
  /** `method`: cheque (the offer takes it; the wallet writes the cheque on the account at the offer's bank), else the offer's first (invoice). */
  confirmDeal: {
    request: z.strictObject({ dealId: DealId, anonymous: z.optional(z.boolean()), method: z.optional(z.enum(['invoice', 'cheque'])) }),
    access: 'deal-window',
  },
  rejectDeal: { request: ByDeal, access: 'deal-window' },
  /** The order a registered token signs for this deal, and its challenge. */
  'tokens.orderToSign': { request: z.strictObject({ dealId: DealId, credentialId: z.optional(CredentialId) }), access: 'deal-window' },
  /** The token-signed order (the machine's `order-signed`). */
  submitSignedOrder: { request: z.strictObject({ dealId: DealId, order: TokenSignedOrder }), access: 'deal-window' },
  /** Purchases newest first, a page at a time (`next` when there are older ones; start-table.ts). */
  listDeals: START_OPERATIONS.listDeals,
  getDeal: { request: ByDeal, access: 'page' },
  // ── deals: exchanges ────────────────────────────────────────────────────
  getPendingExchange: { request: ByDeal, access: 'deal-window' },
  confirmExchange: { request: ByDeal, access: 'deal-window' },
  rejectExchange: { request: ByDeal, access: 'deal-window' },
  listExchanges: START_OPERATIONS.listExchanges,
  getExchange: { request: ByDeal, access: 'page' },
  // ── deals: fair purchases (goods for money) ─────────────────────────────
  /** The verified offer, and what each method the merchant takes can pay now. */
  getPendingFair: { request: ByDeal, access: 'deal-window' },
  confirmFair: { request: z.strictObject({ dealId: DealId, method: FairMethod }), access: 'deal-window' },
  rejectFair: { request: ByDeal, access: 'deal-window' },
  listFairPurchases: START_OPERATIONS.listFairPurchases,
  /** The purchase, its statements (offer, m1, m2, the key or the TTP's affidavit) and the goods once decrypted. */
  getFairPurchase: { request: ByDeal, access: 'page' },
  // ── history (extension/history): every deal of every kind ───────────────
  /** Deals newest first whose shop, origin or item titles hold every word of `text` (start-table.ts). */
  'history.search': START_OPERATIONS['history.search'],
  /** A deal's archived statements as timeline events: who sent what to whom, when, verified against which key. */
  'history.timeline': { request: ByDeal, access: 'page' },
  /** What the deal delivered (goods, decrypted goods, the document, the signed contract's text) as files with safe names. */
  'history.goods': { request: ByDeal, access: 'page' },
  // ── evidence (core/evidence) ────────────────────────────────────────────
  /** The deal's evidence bundle (semper.evidence/1 JSON) and a file name for it. */
  exportEvidence: { request: ByDeal, access: 'page' },
  // ── disputes (extension/disputes) ───────────────────────────────────────
  /** File a complaint about a finished deal with a trusted arbiter (its fingerprint or address); the verified verdict is archived with the deal. */
  'disputes.raise': { request: DisputeRequest, access: 'page' },
  /** How the complaint is signed: by this browser's key (then disputes.raise), or by the security key that signed the deal (the complaint and its ceremony). */
  'disputes.complaintToSign': { request: DisputeRequest, access: 'page' },
  /** File the complaint the security key signed (from disputes.complaintToSign); verified here before it leaves. */
  'disputes.raiseSigned': { request: z.extend(DisputeRequest, { complaint: TokenSignedStatement }), access: 'page' },
  /** The deal's verdicts, each with the complaint it decides. */
  'disputes.list': { request: ByDeal, access: 'page' },
  /** Open the trusted window on a deal's disputes (raise one, see and keep the verdicts), under the security phrase. */
  'disputes.openWindow': { request: ByDeal, access: 'page' },
  /** The verdict's RFC 3161 time stamp from the arbiter that signed it, checked: under the user's roots and by a TSA the user trusts (else reported as untrusted). */
  'disputes.timestamp': { request: z.strictObject({ dealId: DealId, verdict: b64u.check(z.length(43)) }), access: 'page' },
  // ── identity ────────────────────────────────────────────────────────────
  getIdentity: { request: Empty, access: 'page' },
  /** Phrase, picture, identity, certificate, tokens, threshold: what every Semper page shows. */
  'identity.status': { request: Empty, access: 'page' },
  /** Make the device identity key (idempotent). */
  'identity.create': { request: Empty, access: 'page' },
  'identity.personalise': {
    request: z.strictObject({ phrase: z.string().check(z.minLength(1), z.maxLength(256)), picture: z.number().check(z.int(), z.gte(0), z.lte(11)) }),
    access: 'page',
  },
  /** PKCS #10 with the identity key + one-time code → POST <caUrl>/ca/register. */
  'identity.register': {
    request: z.strictObject({ caUrl: z.string().check(z.minLength(1), z.maxLength(512)), registrationCode: z.string().check(z.minLength(1), z.maxLength(64)) }),
    access: 'page',
  },
  'identity.rotate': { request: Empty, access: 'page' },
  /** Open the trusted window for setup or for registering a security key. */
  'identity.openSetup': { request: z.strictObject({ view: z.enum(['setup', 'token']) }), access: 'page' },
  'keys.list': { request: Empty, access: 'page' },
  /** Revoke a key's certificate at its CA (signed by the key itself). */
  'keys.revoke': { request: z.strictObject({ keyId: KeyId, reason: HolderRevocationReason }), access: 'page' },
  'tokens.list': { request: Empty, access: 'page' },
  /** The options for startRegistration (fresh challenge). */
  'tokens.beginRegistration': { request: Empty, access: 'trusted-page' },
  /** The registration response; the worker verifies it and stores the credential. */
  'tokens.finishRegistration': {
    request: z.strictObject({ label: z.string().check(z.maxLength(64)), challenge: b64u.check(z.length(43)), response: RegistrationResponse }),
    access: 'trusted-page',
  },
  'tokens.remove': { request: z.strictObject({ credentialId: CredentialId }), access: 'page' },
  // ── settings ────────────────────────────────────────────────────────────
  'settings.get': START_OPERATIONS['settings.get'],
  'settings.set': {
    request: z.strictObject({
      hardwareTokenAbove: z.optional(z.nullable(Money)),
      caUrl: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
      /** Firefox: the web-domain RP ID for new security keys; null: the CA's domain again. */
      tokenRpId: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(253)))),
    }),
    access: 'page',
  },
  'settings.addRoot': { request: z.strictObject({ certificate: z.string().check(z.minLength(1), z.maxLength(20_000)) }), access: 'page' },
  'settings.listRoots': { request: Empty, access: 'page' },
  /** Fetch a CA's root, a TTP's, an arbiter's or a TSA's certificate from its address and describe it; trusts nothing (the shopper compares the fingerprint first). */
  'settings.fetchCertificate': {
    request: z.strictObject({ role: z.enum(['ca', 'ttp', 'arbiter', 'tsa']), url: z.string().check(z.minLength(1), z.maxLength(512)) }),
    access: 'page',
  },
  'settings.removeRoot': { request: z.strictObject({ fingerprint: Fingerprint }), access: 'page' },
  /** A TTP to trust: its certificate (PEM | base64 DER) or its fingerprint, and where to reach it. */
  'settings.addTtp': {
    request: z.strictObject({
      certificate: z.optional(z.string().check(z.minLength(1), z.maxLength(20_000))),
      fingerprint: z.optional(Fingerprint),
      url: z.string().check(z.minLength(1), z.maxLength(512)),
    }),
    access: 'page',
  },
  'settings.listTtps': { request: Empty, access: 'page' },
  'settings.removeTtp': { request: z.strictObject({ fingerprint: Fingerprint }), access: 'page' },
  /** Which trusted TTPs may guarantee an exchange and how many must agree (k > n/2); null: the merchant's one TTP. */
  'settings.getTtpPolicy': { request: Empty, access: 'page' },
  'settings.setTtpPolicy': { request: z.strictObject({ policy: z.nullable(TtpPolicy) }), access: 'page' },
  /** The one saved card: the card adapter's address (its operator key is pinned from GET /card) and an acquirer card token (tok_…), never a card number. */
  'settings.addCard': {
    request: z.strictObject({ adapterUrl: z.string().check(z.minLength(1), z.maxLength(512)), token: z.string().check(z.minLength(5), z.maxLength(64)) }),
    access: 'page',
  },
  'settings.getCard': { request: Empty, access: 'page' },
  'settings.removeCard': { request: Empty, access: 'page' },
  /** An arbiter to trust with disputes: its certificate (PEM | base64 DER, role arbiter) or its fingerprint, and where to reach it. */
  'settings.addArbiter': {
    request: z.strictObject({
      certificate: z.optional(z.string().check(z.minLength(1), z.maxLength(20_000))),
      fingerprint: z.optional(Fingerprint),
      url: z.string().check(z.minLength(1), z.maxLength(512)),
    }),
    access: 'page',
  },
  'settings.listArbiters': { request: Empty, access: 'page' },
  'settings.removeArbiter': { request: z.strictObject({ fingerprint: Fingerprint }), access: 'page' },
  /** A time-stamping authority to trust: its certificate (PEM | base64 DER, role tsa) or its fingerprint, and where to reach it. */
  'settings.addTsa': {
    request: z.strictObject({
      certificate: z.optional(z.string().check(z.minLength(1), z.maxLength(20_000))),
      fingerprint: z.optional(Fingerprint),
      url: z.string().check(z.minLength(1), z.maxLength(512)),
    }),
    access: 'page',
  },
  'settings.listTsas': { request: Empty, access: 'page' },
  'settings.removeTsa': { request: z.strictObject({ fingerprint: Fingerprint }), access: 'page' },
  // ── wallet (extension/wallet) ───────────────────────────────────────────
  /** Per purse: bank, pinned key, balance, coins by denomination, pending operations, history. */
  'wallet.status': { request: Empty, access: 'page' },
  /** Open an account with the bank's one-time code; `fingerprint`: the bank key id the user expects (optional). */
  'wallet.openAccount': {
    request: z.strictObject({ bankUrl: BankUrl, code: z.string().check(z.minLength(1), z.maxLength(64)), fingerprint: z.optional(KeyId) }),
    access: 'page',
  },
  'wallet.withdraw': { request: z.strictObject({ bankUrl: BankUrl, amount: Money }), access: 'page' },
  /** Refresh every coin into new ones (before they expire; after a payment that did not complete). */
  'wallet.renew': { request: z.strictObject({ bankUrl: BankUrl }), access: 'page' },
  /** The encrypted backup file of every purse (PBKDF2-SHA256 600 000 + AES-GCM). */
  'wallet.backup': { request: z.strictObject({ passphrase: Passphrase }), access: 'page' },
  'wallet.restore': { request: z.strictObject({ file: z.string().check(z.minLength(1), z.maxLength(8_000_000)), passphrase: Passphrase }), access: 'page' },
  // ── notices (extension/notices) ─────────────────────────────────────────
  /** Requests that failed before any trusted window could show an offer: what happened, what to do. */
  'notices.list': START_OPERATIONS['notices.list'],
  /** The shopper read them: the badge's "!" goes. */
  'notices.read': { request: Empty, access: 'page' },
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;
export const OPERATION_NAMES = Object.keys(OPERATIONS) as OperationName[];
export type OperationRequest<O extends OperationName> = z.infer<(typeof OPERATIONS)[O]['request']>;

export const OperationMessage = z.strictObject({
  op: z.enum(OPERATION_NAMES as [OperationName, ...OperationName[]]),
  request: z.unknown(),
});

/** The envelope of every answer (what a page checks before it reads the response). */
export const OperationResultEnvelope = z.union([
  z.strictObject({ ok: z.literal(true), response: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: z.strictObject({ code: z.string().check(z.maxLength(64)), message: z.string().check(z.maxLength(4096)) }) }),
]);

// ── responses ───────────────────────────────────────────────────────────────

export interface DealSummary {
  dealId: string;
  origin: string;
  status: ShopperPhase;
  createdAt: string;
  updatedAt: string;
  merchant?: string;
  /** The first item's title (from the verified offer), and how many items follow it. */
  product?: string;
  moreItems?: number;
  total?: Money;
  error?: ErrorInfo;
}

export interface ExchangeSummary {
  dealId: string;
  origin: string;
  use: ExchangeUse;
  status: ExchangeDealPhase;
  title?: string;
  merchant?: string;
  ttp?: string;
  exchangeId?: string;
  createdAt: string;
  updatedAt: string;
  error?: ErrorInfo;
}

/** An archived statement of a deal, as getDeal / getExchange return it. */
export interface ArchivedStatementView {
  type: string;
  direction: 'sent' | 'received';
  digest: string;
  issuedAt: string;
  archivedAt: string;
  statement: Statement<unknown>;
}

export interface RootSummary {
  fingerprint: string;
  commonName: string;
  subject: string;
  notAfter: string;
  addedAt: string;
}

export interface TtpSummary {
  fingerprint: string;
  url: string;
  commonName?: string;
  keyId?: string;
  notAfter?: string;
  addedAt: string;
}

export type ArbiterSummary = TtpSummary;

export interface FairPurchaseSummary {
  dealId: string;
  origin: string;
  status: FairShopperPhase;
  title?: string;
  merchant?: string;
  price?: Money;
  method?: FairMethod;
  createdAt: string;
  updatedAt: string;
  error?: ErrorInfo;
}

export interface OperationResponses {
  getPendingOffer: { view: VerifiedOfferView; status: ShopperPhase };
  confirmDeal: { status: ShopperPhase };
  rejectDeal: { status: ShopperPhase };
  'tokens.orderToSign': TokenSigningRequest;
  submitSignedOrder: { status: ShopperPhase };
  listDeals: { deals: DealSummary[]; next?: PageAfter };
  getDeal: { deal: DealSummary; view?: VerifiedOfferView; outcome?: PurchaseOutcome; statements: ArchivedStatementView[]; goods: DeliveredGood[] };
  getPendingExchange: { view: VerifiedExchangeView; status: ExchangeDealPhase };
  confirmExchange: { status: ExchangeDealPhase };
  rejectExchange: { status: ExchangeDealPhase };
  listExchanges: { exchanges: ExchangeSummary[]; next?: PageAfter };
  getExchange: {
    exchange: ExchangeSummary;
    view?: VerifiedExchangeView;
    outcome?: ExchangeOutcomeForPage;
    statements: ArchivedStatementView[];
    /** The TTP's statements, when it stepped in: resolution + affidavit, or the abort token. */
    evidence: { resolution?: Statement; affidavit?: Statement; abortToken?: Statement };
    /** certified mail: the document received (directly or forwarded by the TTP) */
    document?: { title: string; mediaType: string; data: string; text?: string };
    /** contract signing: the text, and the merchant's signature if it arrived (else the affidavit stands in) */
    contract?: { title: string; text: string; merchantSignature?: Statement };
  };
  exportEvidence: { fileName: string; json: string };
  'disputes.raise': { dispute: DisputeView };
  'disputes.complaintToSign': ComplaintSigning;
  'disputes.raiseSigned': { dispute: DisputeView };
  'disputes.list': { disputes: DisputeView[] };
  'disputes.openWindow': { opened: boolean };
  /** none: the arbiter has no token for this verdict (yet); else the token's check (settings/tsa-trust.ts). */
  'disputes.timestamp': { status: 'none' } | TimestampCheck;
  /** `next`: there are more matches; ask again with it as `after`. */
  'history.search': { deals: HistoryRow[]; next?: { createdAt: number; dealId: string } };
  'history.timeline': Timeline & { deal: HistoryRow };
  'history.goods': { files: GoodFile[] };
  getPendingFair: { view: VerifiedFairOfferView; status: FairShopperPhase; funds: MethodFunds[] };
  confirmFair: { status: FairShopperPhase };
  rejectFair: { status: FairShopperPhase };
  listFairPurchases: { purchases: FairPurchaseSummary[]; next?: PageAfter };
  getFairPurchase: {
    purchase: FairPurchaseSummary;
    view?: VerifiedFairOfferView;
    outcome?: FairOutcomeForPage;
    statements: ArchivedStatementView[];
    /** the money item given (the bank's proof), once paid */
    paid?: unknown;
    /** the goods, once decrypted and checked against the offer */
    goods?: { title: string; mediaType: string; data: string; text?: string };
  };
  getIdentity: { keyId: string; publicJwk: PublicJwk; alg: 'ES256' };
  'identity.status': IdentityStatus;
  'identity.create': { identity: KeySummary };
  'identity.personalise': { phrase: string; picture: number };
  'identity.register': { identity: KeySummary };
  'identity.rotate': { previous?: KeySummary; current: KeySummary };
  'identity.openSetup': { opened: boolean };
  'keys.list': { keys: KeySummary[] };
  'keys.revoke': { key: KeySummary };
  'tokens.list': { tokens: TokenSummary[] };
  'tokens.beginRegistration': { options: TokenRegistrationOptions };
  'tokens.finishRegistration': { token: TokenSummary };
  'tokens.remove': { removed: boolean };
  'settings.get': SettingsView;
  'settings.set': { hardwareTokenAbove: Money | null; caUrl: string; tokenRpId?: string | null };
  'settings.addRoot': { root: RootSummary };
  'settings.listRoots': { roots: RootSummary[] };
  'settings.removeRoot': { removed: boolean };
  'settings.addTtp': { ttp: TtpSummary };
  'settings.listTtps': { ttps: TtpSummary[] };
  'settings.removeTtp': { removed: boolean };
  'settings.getTtpPolicy': { policy: TtpPolicy | null };
  'settings.setTtpPolicy': { policy: TtpPolicy | null };
  'settings.addCard': { card: CardSummary };
  'settings.getCard': { card: CardSummary | null };
  'settings.removeCard': { removed: boolean };
  'settings.addArbiter': { arbiter: ArbiterSummary };
  'settings.listArbiters': { arbiters: ArbiterSummary[] };
  'settings.removeArbiter': { removed: boolean };
  'settings.addTsa': { tsa: TtpSummary };
  'settings.listTsas': { tsas: TtpSummary[] };
  'settings.removeTsa': { removed: boolean };
  'wallet.status': { purses: PurseSummary[] };
  'wallet.openAccount': { purse: PurseSummary };
  'wallet.withdraw': { status: 'done' | 'pending'; requestId: string; purse: PurseSummary };
  'wallet.renew': { status: 'done' | 'pending'; requestId: string; purse: PurseSummary };
  'wallet.backup': { file: string; fileName: string; purses: number };
  'wallet.restore': { purses: PurseSummary[] };
  'settings.fetchCertificate': FetchedCertificate;
  'notices.list': { notices: Notice[]; unseen: number };
  'notices.read': { unseen: number };
}

export type OperationResult<O extends OperationName> = { ok: true; response: OperationResponses[O] } | { ok: false; error: { code: string; message: string } };
