/** Test PKI: a root CA and certified parties, made with the production core/pki functions. */
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { createRootCertificate, issueCertificate, type CertificateRole } from '../../core/pki/index.js';

const DAY = 86_400_000;

export interface TestCa {
  root: string;
  keys: CryptoKeyPair;
  issue(p: {
    commonName: string;
    role: Exclude<CertificateRole, 'ca'>;
    origins?: string[];
    notBefore?: Date;
    notAfter?: Date /** The subject's key pair (default: a new ES256 pair); an Ed25519 pair gets an EdDSA signer. */;
    keys?: CryptoKeyPair;
  }): Promise<{ chain: string[]; signer: Signer; keys: CryptoKeyPair }>;
}

export async function makeTestCa(commonName = 'Semper Test CA', now = Date.now()): Promise<TestCa> {
  const keys = await generateKeyPair('ES256');
  const root = await createRootCertificate({ commonName, keys, notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) });
  return {
    root,
    keys,
    async issue(p) {
      const subjectKeys = p.keys ?? (await generateKeyPair('ES256'));
      const der = await issueCertificate({
        issuerCertificate: root,
        issuerPrivateKey: keys.privateKey,
        subjectPublicKey: subjectKeys.publicKey,
        commonName: p.commonName,
        organization: p.commonName,
        role: p.role,
        ...(p.origins ? { origins: p.origins } : {}),
        notBefore: p.notBefore ?? new Date(now - DAY),
        notAfter: p.notAfter ?? new Date(now + 30 * DAY),
      });
      // The signer's algorithm follows the subject key (ECDSA P-256 by default; Ed25519 keys give EdDSA signers).
      const alg = subjectKeys.publicKey.algorithm.name === 'Ed25519' ? 'EdDSA' : 'ES256';
      return { chain: [der], signer: await signerFromKeyPair(alg, subjectKeys), keys: subjectKeys };
    },
  };
}

/**
 * What an arbiter's opener needs of its CA (openMarketplaceArbiter's `ca`): the root, and an arbiter
 * certificate for the key it is given, valid from a day before `now()` for 30 days.
 */
export function arbiterIssuer(ca: Pick<TestCa, 'root' | 'keys'>, now: () => number = Date.now) {
  return {
    rootCertificate: ca.root,
    issueArbiterCertificate: async (p: { commonName: string; publicKey: CryptoKey }) => ({
      certificate: await issueCertificate({
        issuerCertificate: ca.root,
        issuerPrivateKey: ca.keys.privateKey,
        subjectPublicKey: p.publicKey,
        commonName: p.commonName,
        organization: p.commonName,
        role: 'arbiter',
        notBefore: new Date(now() - 86_400_000),
        notAfter: new Date(now() + 30 * 86_400_000),
      }),
    }),
  };
}
