/**
 * Fetching a party's certificate from its address, for the shopper to confirm by fingerprint before
 * anything is trusted: a CA's root (`GET <ca>/ca/root`), a TTP's certificate (`GET <ttp>/ttp`), an
 * arbiter's (`GET <arbiter>/arbiter/certificate`) or a TSA's (`GET <tsa>/tsa`, its chain's leaf).
 * What comes back over plain HTTP proves nothing by itself — anyone on the path could answer — so
 * this only *describes* it (name, fingerprint, validity); trusting it stays a separate step the
 * shopper takes after comparing the fingerprint with one got another way (printed by `npm start`,
 * on paper, from the operator). The address is kept with it, so onboarding registers at the CA the
 * shopper chose rather than at a fixed port.
 */
import { z } from '../../core/zod.js';
import { SemperError } from '../../core/errors.js';
import { readCertificate } from '../../core/pki/certificates.js';
import { partyOrigin } from '../worker/sender.js';
import { describeRoot } from './trust-roots.js';

export type FetchRole = 'ca' | 'ttp' | 'arbiter' | 'tsa';

export interface FetchedCertificate {
  role: FetchRole;
  /** The party's address (origin) the certificate was fetched from. */
  url: string;
  /** base64 DER */
  certificate: string;
  fingerprint: string;
  commonName: string;
  notAfter: string;
}

const CaRootAnswer = z.looseObject({ certificate: z.string().check(z.minLength(1), z.maxLength(20_000)) });
const ArbiterAnswer = z.looseObject({ certificate: z.string().check(z.minLength(1), z.maxLength(20_000)) });
const TtpInfoAnswer = z.looseObject({ certificateChain: z.array(z.string().check(z.minLength(1), z.maxLength(20_000))).check(z.minLength(1), z.maxLength(5)) });

export async function fetchCertificate(role: FetchRole, address: string, getJson: (url: string) => Promise<unknown>, now: number): Promise<FetchedCertificate> {
  if (role === 'arbiter') return fetchArbiterCertificate(address, getJson);
  const url = partyOrigin(address, role === 'ca' ? 'CA' : role === 'tsa' ? 'TSA' : 'TTP');
  const path = role === 'ca' ? '/ca/root' : role === 'tsa' ? '/tsa' : '/ttp';
  const answer = await getJson(`${url}${path}`);
  if (role === 'ca') {
    const parsed = CaRootAnswer.safeParse(answer);
    if (!parsed.success) throw new SemperError('ERR_SCHEMA', `${url}/ca/root did not answer with a certificate`);
    // The same checks as adding a root by hand: a self-signed CA certificate whose signature verifies.
    const root = await describeRoot(parsed.data.certificate, now);
    return { role, url, certificate: root.der, fingerprint: root.fingerprint, commonName: root.commonName, notAfter: root.notAfter };
  }
  // The TTP's and the TSA's info documents both carry their chain, leaf first.
  const parsed = TtpInfoAnswer.safeParse(answer);
  if (!parsed.success) throw new SemperError('ERR_SCHEMA', `${url}${path} did not answer with a certificate chain`);
  const leaf = parsed.data.certificateChain[0]!;
  const info = await readCertificate(leaf);
  if (info.role !== role) {
    throw new SemperError('ERR_CERT_UNTRUSTED', `"${info.commonName}" is not a ${role === 'tsa' ? 'TSA' : 'TTP'} certificate (role ${info.role ?? 'none'})`);
  }
  return { role, url, certificate: leaf, fingerprint: info.fingerprint, commonName: info.commonName, notAfter: info.notAfter.toISOString() };
}

/** An arbiter's certificate (role arbiter), from `GET <arbiter>/arbiter/certificate` (server/arbiter/app.ts). */
async function fetchArbiterCertificate(address: string, getJson: (url: string) => Promise<unknown>): Promise<FetchedCertificate> {
  const url = partyOrigin(address, 'arbiter');
  const parsed = ArbiterAnswer.safeParse(await getJson(`${url}/arbiter/certificate`));
  if (!parsed.success) throw new SemperError('ERR_SCHEMA', `${url}/arbiter/certificate did not answer with a certificate`);
  const info = await readCertificate(parsed.data.certificate);
  if (info.role !== 'arbiter') throw new SemperError('ERR_CERT_UNTRUSTED', `"${info.commonName}" is not an arbiter certificate (role ${info.role ?? 'none'})`);
  return {
    role: 'arbiter',
    url,
    certificate: parsed.data.certificate,
    fingerprint: info.fingerprint,
    commonName: info.commonName,
    notAfter: info.notAfter.toISOString(),
  };
}
