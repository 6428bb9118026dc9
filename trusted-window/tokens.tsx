/**
 * Hardware tokens in the trusted window (WebAuthn needs a visible document; the worker cannot run
 * a ceremony): registering a security key, and having one sign an order. The worker makes every
 * challenge and verifies every response; this page only runs the browser's ceremony.
 *
 * Chromium gives an extension page the RP ID `chrome-extension://<id>` (its origin), so rp.id and
 * rpId are left out of the options: the browser fills in the only value it would accept. Firefox
 * refuses that (SecurityError); there the worker names a web-domain RP ID (options.rp.id,
 * request.ceremonyRpId) that the add-on's host permissions cover.
 */
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { useState } from 'preact/hooks';
import { signatureBlockFromAssertion } from '../core/crypto/webauthn.js';
import { callOperation, OperationError } from '../extension/operations/client.js';
import type { OperationRequest, OperationResponses } from '../extension/operations/table.js';
import type { TokenSigningRequest, TokenSummary } from '../extension/identity/service.js';
import { t } from '../extension/ui/i18n.js';
import { identityChanged } from './identity.js';

/** The DOMException name of a failed ceremony (@simplewebauthn/browser wraps it, keeping the name). */
function ceremonyError(e: unknown): string | undefined {
  if (e instanceof OperationError) return undefined;
  const name = (e as { name?: unknown } | null)?.name;
  const causeName = (e as { cause?: { name?: unknown } } | null)?.cause?.name;
  const n = typeof causeName === 'string' ? causeName : typeof name === 'string' ? name : undefined;
  return n && n !== 'Error' && n !== 'WebAuthnError' ? n : undefined;
}

function errorText(e: unknown): string {
  if (e instanceof OperationError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** A clear message for a failed token signature (the deal stays open: retry or decline). */
export function explainTokenSigningError(e: unknown, userVerificationRequired: boolean): string {
  const name = ceremonyError(e);
  // The browser does not say why (privacy): cancelled, timed out, unknown key, or UV failed.
  if (name === 'NotAllowedError' || name === 'AbortError') return userVerificationRequired ? t('twTokenNotAllowedUv') : t('twTokenNotAllowed');
  if (name === 'InvalidStateError' || name === 'SecurityError' || name === 'NotSupportedError') return t('twTokenUnavailable', name);
  if (e instanceof OperationError) {
    if (e.code === 'ERR_HARDWARE_TOKEN_REQUIRED') return t('twTokenNoUv');
    if (e.code === 'ERR_NOT_FOUND') return t('twNoToken');
    if (e.code === 'ERR_WEBAUTHN') return t('twTokenInvalid', e.message);
  }
  return t('twActionFailed', errorText(e));
}

export function explainRegistrationError(e: unknown): string {
  const name = ceremonyError(e);
  if (name === 'NotAllowedError' || name === 'AbortError') return t('tokRegNotAllowed');
  if (name === 'InvalidStateError') return t('tokRegAlready');
  if (e instanceof OperationError && e.code === 'ERR_PROTOCOL_STATE') return t('tokRegAlready');
  return t('tokRegFailed', errorText(e));
}

/**
 * Sign the deal's order with a registered token: the worker hands out the order (orderToSign with
 * the token's webauthn header) and its challenge; the assertion becomes the signature block; the
 * worker steps the machine with `order-signed` and it verifies everything again.
 */
export async function signOrderWithToken(dealId: string, credentialId?: string): Promise<void> {
  const request = await callOperation('tokens.orderToSign', { dealId, ...(credentialId ? { credentialId } : {}) });
  const signature = await tokenSignature(request);
  // The worker validates the order against its schema (operations/table.ts) before the machine verifies it.
  const order = { ...request.order, signature } as OperationRequest<'submitSignedOrder'>['order'];
  await callOperation('submitSignedOrder', { dealId, order });
}

/**
 * Sign a complaint about a deal the security key signed (disputes.complaintToSign): the arbiter takes
 * as a party only the key the evidence shows acting, so that key signs; the worker verifies it again.
 */
export async function signComplaintWithToken(
  request: Extract<OperationResponses['disputes.complaintToSign'], { signer: 'token' }>,
): Promise<OperationRequest<'disputes.raiseSigned'>['complaint']> {
  const signature = await tokenSignature(request);
  return { ...request.complaint, signature } as OperationRequest<'disputes.raiseSigned'>['complaint'];
}

/** The browser's ceremony over the worker's challenge; the assertion as a statement's signature block. */
async function tokenSignature(request: Omit<TokenSigningRequest, 'order'>) {
  const response = await startAuthentication({
    optionsJSON: {
      challenge: request.challenge,
      ...(request.ceremonyRpId ? { rpId: request.ceremonyRpId } : {}),
      allowCredentials: [{ id: request.credentialId, type: 'public-key' }],
      userVerification: request.userVerification,
      timeout: 120_000,
    },
  });
  return signatureBlockFromAssertion({ response, jwk: request.jwk, credentialId: request.credentialId, rpId: request.rpId });
}

/** Register a security key: label, then the browser's ceremony, then the worker's verification. */
export function TokenRegistration({ onRegistered, autoFocus = false }: { onRegistered?(token: TokenSummary): void; autoFocus?: boolean }) {
  const [label, setLabel] = useState(t('tokDefaultLabel'));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<TokenSummary | null>(null);

  const register = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const { options } = await callOperation('tokens.beginRegistration', {});
      const response = await startRegistration({ optionsJSON: options });
      const { token } = await callOperation('tokens.finishRegistration', { label: label.trim(), challenge: options.challenge, response: response as never });
      setDone(token);
      identityChanged();
      onRegistered?.(token);
    } catch (e) {
      setError(explainRegistrationError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="token-registration" onSubmit={register} aria-labelledby="tok-heading">
      <h2 id="tok-heading">{t('tokHeading')}</h2>
      <p class="note">{t('tokExplain')}</p>
      <label for="token-label">{t('tokLabel')}</label>
      {/* biome-ignore lint/a11y/noAutofocus: the window was opened for this one field (registering a key), and only then is autoFocus set */}
      <input id="token-label" type="text" maxLength={64} value={label} autoFocus={autoFocus} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
      <button type="submit" id="register-token" class="primary" disabled={busy}>
        {busy ? t('tokRegistering') : t('tokRegister')}
      </button>
      {done ? (
        <p role="status" class="ok" id="token-registered">
          {t('tokRegistered', done.label)}
        </p>
      ) : null}
      {error ? (
        <p role="alert" class="error" id="token-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}
