/**
 * Revocation status without I/O inside a step. A machine validates certificate chains with a
 * `RevocationCheck` (certificates.ts) that must not fetch anything; so the host, before it runs a
 * step on an event, asks its `RevocationSource` to `prepare` status for every chain the event
 * carries (certificateChainsIn), and the step's `isRevoked` answers from what was prepared. A
 * chain nobody prepared has no status, and the check fails closed (ERR_REVOCATION_UNKNOWN).
 */
import { validateChain, type CertificateInfo, type RevocationCheck } from './certificates.js';

export interface RevocationSource {
  /** Fetch and verify the revocation information `chains` need (the host's I/O, before a step). `now` judges freshness. */
  prepare(chains: readonly (readonly string[])[], roots: readonly string[], now: number): Promise<void>;
  /** For the step: answers from what `prepare` loaded; never fetches. */
  readonly isRevoked: RevocationCheck;
}

const DER_CERTIFICATE = /^MII[A-Za-z0-9+/]+={0,2}$/;
const CHAIN_KEYS = new Set(['chain', 'certificateChain']);
const MAX_CHAINS = 32;

/**
 * The certificate chains in a value: every `chain` / `certificateChain` array of base64 DER
 * certificates (statement signers `{kind:'x509', chain}`, a descriptor's TTP, certified items),
 * at any depth. Deduplicated, at most 32 (more is not a message any Semper party sends).
 */
export function certificateChainsIn(value: unknown): string[][] {
  const found = new Map<string, string[]>();
  const visit = (v: unknown, depth: number): void => {
    if (depth > 64 || v === null || typeof v !== 'object' || found.size >= MAX_CHAINS) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      if (CHAIN_KEYS.has(k) && Array.isArray(x) && x.length > 0 && x.length <= 8 && x.every((c) => typeof c === 'string' && DER_CERTIFICATE.test(c))) {
        found.set(x.join(','), x as string[]);
      } else visit(x, depth + 1);
    }
  };
  visit(value, 0);
  return [...found.values()];
}

/**
 * The (certificate, issuer) pairs whose status a chain's validation will ask for: every
 * certificate of the validated path but the root. Chains that do not validate are skipped (the
 * step refuses them for that reason, before revocation matters).
 */
export async function revocationPairs(
  chains: readonly (readonly string[])[],
  roots: readonly string[],
  now: number,
): Promise<{ cert: CertificateInfo; issuer: CertificateInfo }[]> {
  const pairs: { cert: CertificateInfo; issuer: CertificateInfo }[] = [];
  for (const chain of chains) {
    try {
      const { path } = await validateChain(chain, { roots, now: new Date(now) });
      for (let i = 0; i < path.length - 1; i++) pairs.push({ cert: path[i]!, issuer: path[i + 1]! });
    } catch {
      // not a chain to a trusted root: nothing to prepare
    }
  }
  return pairs;
}
