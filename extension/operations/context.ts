/**
 * What operation handlers work with: the worker's services, handed in by the background (and by
 * tests). Handlers take this and their request only; they never import one another.
 */
import type { EventShape } from '../worker/host.js';
import type { DealRecord, DealStore } from '../deals/records.js';
import type { KeyStore } from '../identity/key-store.js';
import type { IdentityService } from '../identity/service.js';
import type { WebAuthnStatementVerifier } from '../../core/statements/verify.js';
import type { TrustRoots } from '../settings/trust-roots.js';
import type { TrustedTtps } from '../settings/ttp-trust.js';
import type { TrustedArbiters } from '../settings/arbiter-trust.js';
import type { CheckTimestamp, TrustedTsas } from '../settings/tsa-trust.js';
import type { PaymentService } from '../payments/service.js';
import type { WalletService } from '../wallet/service.js';
import type { CardPayments } from '../payments/card-payments.js';

export interface OperationContext {
  store: DealStore;
  /** The one host: user decisions are events on a deal's machine. */
  host: { event(dealId: string, event: EventShape): Promise<DealRecord> };
  keys: KeyStore;
  identity: IdentityService;
  roots: TrustRoots;
  ttps: TrustedTtps;
  /** The trusted arbiters (a setting); the worker always has it, tests of other groups may leave it out. */
  arbiters?: TrustedArbiters;
  /** The trusted time-stamping authorities (a setting); absent in tests of other groups. */
  tsas?: TrustedTsas;
  /** Checks a verdict's time stamp (settings/tsa-check.ts); the worker's runs outside its start bundle (extension/offscreen). */
  checkTimestamp?: CheckTimestamp;
  /** The payment service (the purse, the bank account): what each method can pay, for the trusted window. */
  payments: PaymentService;
  /** Open the trusted window on the setup or token-registration view, or on a finished deal's dispute (`dealId`). */
  openWindow(view: 'setup' | 'token' | 'dispute', dealId?: string): Promise<void>;
  /** The purses (extension/wallet); the worker always has it, tests of other groups may leave it out. */
  wallet?: WalletService;
  /** The saved card (extension/payments/card-payments.ts); absent in tests of other groups. */
  cards?: CardPayments;
  now(): number;
  /** GET a JSON document (bounded); the worker's is worker/http.ts getJson. */
  getJson?(url: string): Promise<unknown>;
  /** The fetch POSTs to an arbiter go through (tests inject an in-process arbiter); default the global fetch. */
  fetchImpl?: typeof fetch;
  /** Verifies security-key (WebAuthn) statements as the worker's machines do; absent in tests of other groups. */
  webauthn?: WebAuthnStatementVerifier;
  /** After the shopper read the notices (the badge recounts); tests may leave it out. */
  onNoticesRead?(): void;
}

import type { OperationName, OperationRequest, OperationResponses } from './table.js';

export type Handler<O extends OperationName> = (request: OperationRequest<O>, ctx: OperationContext) => Promise<OperationResponses[O]>;
/** A group of handlers (purchases, exchanges, identity, settings); dispatch.ts takes their union, which must cover the table. */
export type Handlers<O extends OperationName> = { [K in O]: Handler<K> };
