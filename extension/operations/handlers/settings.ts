/** Operations on the shopper's settings: trusted CA roots, TTPs, arbiters and TSAs, the hardware-token threshold and the CA address. */
import { SemperError } from '../../../core/errors.js';
import { fetchCertificate } from '../../settings/fetch-certificate.js';
import type { TrustedRoot } from '../../settings/trust-roots.js';
import type { TrustedTtp } from '../../settings/ttp-trust.js';
import type { TrustedArbiter } from '../../settings/arbiter-trust.js';
import type { TrustedTsa } from '../../settings/tsa-trust.js';
import type { Handlers } from '../context.js';
import type { RootSummary, TtpSummary } from '../table.js';

function rootSummary(r: TrustedRoot): RootSummary {
  return { fingerprint: r.fingerprint, commonName: r.commonName, subject: r.subject, notAfter: r.notAfter, addedAt: new Date(r.addedAt).toISOString() };
}

function ttpSummary(t: TrustedTtp | TrustedArbiter | TrustedTsa): TtpSummary {
  return {
    fingerprint: t.fingerprint,
    url: t.url,
    ...(t.commonName ? { commonName: t.commonName } : {}),
    ...(t.keyId ? { keyId: t.keyId } : {}),
    ...(t.notAfter ? { notAfter: t.notAfter } : {}),
    addedAt: new Date(t.addedAt).toISOString(),
  };
}

export const settingsHandlers: Handlers<
  | 'settings.set'
  | 'settings.addRoot'
  | 'settings.listRoots'
  | 'settings.fetchCertificate'
  | 'settings.removeRoot'
  | 'settings.addTtp'
  | 'settings.listTtps'
  | 'settings.removeTtp'
  | 'settings.getTtpPolicy'
  | 'settings.setTtpPolicy'
  | 'settings.addArbiter'
  | 'settings.listArbiters'
  | 'settings.removeArbiter'
  | 'settings.addTsa'
  | 'settings.listTsas'
  | 'settings.removeTsa'
> = {
  async 'settings.set'(request, { identity }) {
    return identity.updateSettings({
      ...(request.hardwareTokenAbove !== undefined ? { hardwareTokenAbove: request.hardwareTokenAbove } : {}),
      ...(request.caUrl !== undefined ? { caUrl: request.caUrl } : {}),
      ...(request.tokenRpId !== undefined ? { tokenRpId: request.tokenRpId } : {}),
    });
  },
  async 'settings.addRoot'({ certificate }, { roots }) {
    return { root: rootSummary(await roots.add(certificate)) };
  },
  async 'settings.fetchCertificate'({ role, url }, { getJson, now }) {
    if (!getJson) throw new SemperError('ERR_INTERNAL', 'this context cannot fetch');
    return fetchCertificate(role, url, getJson, now());
  },
  async 'settings.listRoots'(_request, { roots }) {
    return { roots: (await roots.list()).map(rootSummary) };
  },
  async 'settings.removeRoot'({ fingerprint }, { roots }) {
    return { removed: await roots.remove(fingerprint) };
  },
  async 'settings.addTtp'(input, { ttps }) {
    const ttp = await ttps.add({
      url: input.url,
      ...(input.certificate !== undefined ? { certificate: input.certificate } : {}),
      ...(input.fingerprint !== undefined ? { fingerprint: input.fingerprint } : {}),
    });
    return { ttp: ttpSummary(ttp) };
  },
  async 'settings.listTtps'(_r, { ttps }) {
    return { ttps: (await ttps.list()).map(ttpSummary) };
  },
  async 'settings.removeTtp'({ fingerprint }, { ttps }) {
    return { removed: await ttps.remove(fingerprint) };
  },
  async 'settings.getTtpPolicy'(_r, { ttps }) {
    return { policy: await ttps.policy() };
  },
  async 'settings.setTtpPolicy'({ policy }, { ttps }) {
    return { policy: await ttps.setPolicy(policy) };
  },
  async 'settings.addArbiter'(input, { arbiters }) {
    if (!arbiters) throw new SemperError('ERR_INTERNAL', 'this context has no trusted arbiters');
    const arbiter = await arbiters.add({
      url: input.url,
      ...(input.certificate !== undefined ? { certificate: input.certificate } : {}),
      ...(input.fingerprint !== undefined ? { fingerprint: input.fingerprint } : {}),
    });
    return { arbiter: ttpSummary(arbiter) };
  },
  async 'settings.listArbiters'(_r, { arbiters }) {
    return { arbiters: arbiters ? (await arbiters.list()).map(ttpSummary) : [] };
  },
  async 'settings.removeArbiter'({ fingerprint }, { arbiters }) {
    return { removed: arbiters ? await arbiters.remove(fingerprint) : false };
  },
  async 'settings.addTsa'(input, { tsas }) {
    if (!tsas) throw new SemperError('ERR_INTERNAL', 'this context has no trusted TSAs');
    const tsa = await tsas.add({
      url: input.url,
      ...(input.certificate !== undefined ? { certificate: input.certificate } : {}),
      ...(input.fingerprint !== undefined ? { fingerprint: input.fingerprint } : {}),
    });
    return { tsa: ttpSummary(tsa) };
  },
  async 'settings.listTsas'(_r, { tsas }) {
    return { tsas: tsas ? (await tsas.list()).map(ttpSummary) : [] };
  },
  async 'settings.removeTsa'({ fingerprint }, { tsas }) {
    return { removed: tsas ? await tsas.remove(fingerprint) : false };
  },
};
