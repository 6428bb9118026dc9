/** Operations on the shopper's identity: onboarding and the security phrase, keys, CA registration and revocation, security keys. */
import { summariseKey } from '../../identity/key-store.js';
import type { Handlers } from '../context.js';

export const identityHandlers: Handlers<
  | 'getIdentity'
  | 'identity.status'
  | 'identity.create'
  | 'identity.personalise'
  | 'identity.register'
  | 'identity.rotate'
  | 'identity.openSetup'
  | 'keys.list'
  | 'keys.revoke'
  | 'tokens.list'
  | 'tokens.beginRegistration'
  | 'tokens.finishRegistration'
  | 'tokens.remove'
> = {
  async getIdentity(_r, { keys }) {
    const s = await keys.identitySigner();
    return { keyId: s.keyId, publicJwk: s.publicJwk, alg: 'ES256' };
  },
  async 'identity.status'(_r, { identity }) {
    return identity.status();
  },
  async 'identity.create'(_r, { identity }) {
    return { identity: await identity.createIdentity() };
  },
  async 'identity.personalise'({ phrase, picture }, { identity }) {
    return identity.personalise(phrase, picture);
  },
  async 'identity.register'({ caUrl, registrationCode }, { identity }) {
    return { identity: await identity.register(caUrl, registrationCode) };
  },
  async 'identity.rotate'(_r, { identity }) {
    return identity.rotate();
  },
  async 'identity.openSetup'({ view }, { openWindow }) {
    await openWindow(view);
    return { opened: true };
  },
  async 'keys.list'(_r, { keys }) {
    return { keys: (await keys.list()).map(summariseKey) };
  },
  async 'keys.revoke'({ keyId, reason }, { identity }) {
    return { key: await identity.revoke(keyId, reason) };
  },
  async 'tokens.list'(_r, { identity }) {
    return { tokens: await identity.listTokens() };
  },
  async 'tokens.beginRegistration'(_r, { identity }) {
    return { options: await identity.beginTokenRegistration() };
  },
  async 'tokens.finishRegistration'({ label, challenge, response }, { identity }) {
    return { token: await identity.finishTokenRegistration(label, challenge, response) };
  },
  async 'tokens.remove'({ credentialId }, { identity }) {
    return { removed: await identity.removeToken(credentialId) };
  },
};
