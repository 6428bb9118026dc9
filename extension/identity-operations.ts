/**
 * The identity part of the operation API (operations.ts spreads these in): onboarding and the
 * security phrase, the key store, CA registration/revocation, hardware tokens, the threshold
 * setting, and the trusted window's hardware-token signing of an order.
 */
import { z } from 'zod';
import { DealId, Money } from '../core/protocol/commerce.js';
import { HolderRevocationReason } from '../core/pki/registration.js';
import type { RegistrationResponseJSON } from '../core/crypto/webauthn.js';
import type { KeySummary } from './key-store.js';
import type { IdentityStatus, TokenRegistrationOptions, TokenSigningRequest, TokenSummary } from './identity-service.js';
import type { DealStatus } from './deal-store.js';
import { Empty } from './operation-common.js';

const b64u = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const KeyId = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'key id (RFC 7638 thumbprint)');
const CredentialId = b64u.min(16).max(1024);

/** What startRegistration resolved with; @simplewebauthn/server (verifyRegistration) checks the rest. */
const RegistrationResponse = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: b64u.max(4096), attestationObject: b64u.max(16_384) }),
  clientExtensionResults: z.record(z.string(), z.unknown()),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

export const IdentityOperationRequests = {
  /** Phrase, picture, identity, certificate, tokens, threshold: what every Semper page shows. */
  'identity.status': Empty,
  /** Make the device identity key (idempotent). */
  'identity.create': Empty,
  'identity.personalise': z.strictObject({ phrase: z.string().min(1).max(256), picture: z.number().int().min(0).max(11) }),
  /** PKCS #10 with the identity key + one-time code → POST <caUrl>/ca/register. */
  'identity.register': z.strictObject({ caUrl: z.string().min(1).max(512), registrationCode: z.string().min(1).max(64) }),
  'identity.rotate': Empty,
  /** Open the trusted window for setup or for registering a security key. */
  'identity.openSetup': z.strictObject({ view: z.enum(['setup', 'token']) }),
  'keys.list': Empty,
  /** Revoke a key's certificate at its CA (signed by the key itself). */
  'keys.revoke': z.strictObject({ keyId: KeyId, reason: HolderRevocationReason }),
  'tokens.list': Empty,
  /** Trusted window only: the options for startRegistration (fresh challenge). */
  'tokens.beginRegistration': Empty,
  /** Trusted window only: the registration response; the worker verifies it and stores the credential. */
  'tokens.finishRegistration': z.strictObject({ label: z.string().max(64), challenge: b64u.length(43), response: RegistrationResponse }),
  'tokens.remove': z.strictObject({ credentialId: CredentialId }),
  /** Trusted window of that deal only: the order a token signs, and its challenge. */
  'tokens.orderToSign': z.strictObject({ dealId: DealId, credentialId: CredentialId.optional() }),
  /** Trusted window of that deal only: the token-signed order (`order-signed`). */
  submitSignedOrder: z.strictObject({ dealId: DealId, order: z.unknown() }),
  'settings.get': Empty,
  'settings.set': z.strictObject({ hardwareTokenAbove: Money.nullable().optional(), caUrl: z.string().min(1).max(512).optional() }),
} as const;

/** Trusted-window operations tied to the deal the window shows (checked like confirmDeal). */
export const IDENTITY_DEAL_WINDOW_OPERATIONS = ['tokens.orderToSign', 'submitSignedOrder'] as const;
/** Operations only the trusted-window page may call (any deal or none): WebAuthn ceremonies. */
export const TRUSTED_PAGE_OPERATIONS: readonly string[] = ['tokens.beginRegistration', 'tokens.finishRegistration'];

export interface IdentityOperationResponses {
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
  'tokens.orderToSign': TokenSigningRequest;
  submitSignedOrder: { status: DealStatus };
  'settings.get': { hardwareTokenAbove: Money | null; caUrl: string };
  'settings.set': { hardwareTokenAbove: Money | null; caUrl: string };
}

export type TokenRegistrationResponse = RegistrationResponseJSON;
