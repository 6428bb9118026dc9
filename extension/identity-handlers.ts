/**
 * The worker's handlers for the identity operations (identity-operations.ts). The caller checks
 * (extension pages only; the deal-bound ones only from that deal's trusted window; the WebAuthn
 * ceremonies only from the trusted-window page) are in operation-handlers.ts.
 */
import { SemperError } from '../core/errors.js';
import type { Signer } from '../core/crypto/keys.js';
import type { IdentityOperationRequests, IdentityOperationResponses } from './identity-operations.js';
import type { IdentityService } from './identity-service.js';
import { summariseKey, type KeyStore } from './key-store.js';
import type { OperationDeps } from './operation-handlers.js';
import type { z } from 'zod';

export interface IdentityHandlerDeps {
  service: IdentityService;
  keys: KeyStore;
  /** Open the trusted window on the setup or token-registration view. */
  openWindow(view: 'setup' | 'token'): Promise<void>;
  now(): number;
}

type Requests = { [O in keyof typeof IdentityOperationRequests]: z.infer<(typeof IdentityOperationRequests)[O]> };
type Handlers = { [O in keyof Requests]: (request: Requests[O], deps: OperationDeps) => Promise<IdentityOperationResponses[O]> };

/** The signer of a confirmed deal: the pseudonym for the deal's origin if anonymous, else the identity key. */
export async function dealSigner(identity: IdentityHandlerDeps, origin: string, anonymous: boolean): Promise<Signer> {
  const keys = identity.keys;
  return keys.signer(anonymous ? await keys.pseudonymFor(origin) : await keys.identity());
}

export const identityHandlers: Handlers = {
  async 'identity.status'(_r, { identity }) {
    return identity.service.status();
  },
  async 'identity.create'(_r, { identity }) {
    return { identity: await identity.service.createIdentity() };
  },
  async 'identity.personalise'({ phrase, picture }, { identity }) {
    return identity.service.personalise(phrase, picture);
  },
  async 'identity.register'({ caUrl, registrationCode }, { identity }) {
    return { identity: await identity.service.register(caUrl, registrationCode) };
  },
  async 'identity.rotate'(_r, { identity }) {
    return identity.service.rotate();
  },
  async 'identity.openSetup'({ view }, { identity }) {
    await identity.openWindow(view);
    return { opened: true };
  },
  async 'keys.list'(_r, { identity }) {
    return { keys: (await identity.keys.list()).map(summariseKey) };
  },
  async 'keys.revoke'({ keyId, reason }, { identity }) {
    return { key: await identity.service.revoke(keyId, reason) };
  },
  async 'tokens.list'(_r, { identity }) {
    return { tokens: await identity.service.listTokens() };
  },
  async 'tokens.beginRegistration'(_r, { identity }) {
    return { options: await identity.service.beginTokenRegistration() };
  },
  async 'tokens.finishRegistration'({ label, challenge, response }, { identity }) {
    return { token: await identity.service.finishTokenRegistration(label, challenge, response as never) };
  },
  async 'tokens.remove'({ credentialId }, { identity }) {
    return { removed: await identity.service.removeToken(credentialId) };
  },
  async 'tokens.orderToSign'({ dealId, credentialId }, { identity, store }) {
    const record = await store.get(dealId);
    if (!record) throw new SemperError('ERR_NOT_FOUND', `no deal ${dealId}`);
    return identity.service.tokenSigningRequest(record.state, credentialId, identity.now());
  },
  async submitSignedOrder({ dealId, order }, { identity, runner }) {
    await identity.service.checkTokenSigner(order);
    const record = await runner.submitSignedOrder(dealId, order);
    const credentialId = (order as { signature: { signer: { credentialId: string } } }).signature.signer.credentialId;
    await identity.service.tokenUsed(credentialId).catch(() => undefined);
    return { status: record.status };
  },
  async 'settings.get'(_r, { identity }) {
    const s = await identity.service.status();
    return { hardwareTokenAbove: s.hardwareTokenAbove, caUrl: s.caUrl };
  },
  async 'settings.set'(request, { identity }) {
    return identity.service.updateSettings({
      ...(request.hardwareTokenAbove !== undefined ? { hardwareTokenAbove: request.hardwareTokenAbove } : {}),
      ...(request.caUrl !== undefined ? { caUrl: request.caUrl } : {}),
    });
  },
};
