/**
 * Revocation checking for the certificates the worker validates (merchants, TTPs): each
 * certificate names where its issuer publishes a CRL (RFC 5280 §4.2.1.13 distribution point);
 * the worker fetches it, verifies it against the issuer (core/pki verifyCrl: signature, issuer,
 * freshness) and keeps it until its nextUpdate.
 *
 * Policy: a certificate that names a CRL is accepted only if that CRL can be had and verified
 * (fail closed: ERR_REVOCATION_UNKNOWN); a certificate without a distribution point carries no
 * revocation information and is judged by its validity period alone.
 */
import { SemperError } from '../../core/errors.js';
import { encodeBase64 } from '../../core/encoding/index.js';
import type { CertificateInfo, RevocationCheck } from '../../core/pki/certificates.js';
import { verifyCrl } from '../../core/pki/crl.js';
import { canonicalSerial } from '../../core/pki/der.js';
import { revocationPairs, type RevocationSource } from '../../core/pki/revocation.js';
import { getBytes } from './http.js';

export const MAX_CRL_BYTES = 1_000_000;
const CRL_TIMEOUT_MS = 10_000;

interface CachedCrl {
  revoked: Set<string>;
  nextUpdate: number;
}

export interface CrlFetcherDeps {
  fetchImpl?: typeof fetch;
}

/**
 * The worker's RevocationSource (core/pki/revocation.ts): `prepare` fetches and verifies the CRLs
 * the chains of an event name, before the host runs the step; the step's `isRevoked` answers only
 * from those (a CRL that could not be had is ERR_REVOCATION_UNKNOWN, as is a certificate nobody
 * prepared: fail closed).
 */
export class CrlRevocationChecker implements RevocationSource {
  // Keyed by URL and issuer certificate: a CRL only answers for the issuer that signed it.
  private readonly cache = new Map<string, CachedCrl>();
  private readonly inFlight = new Map<string, Promise<CachedCrl>>();
  /** Why a CRL prepared for the current step could not be had (thrown when the step asks). */
  private readonly failures = new Map<string, SemperError>();
  /** The time the last `prepare` judged freshness at. */
  private preparedAt = 0;

  constructor(private readonly deps: CrlFetcherDeps) {}

  async prepare(chains: readonly (readonly string[])[], roots: readonly string[], now: number): Promise<void> {
    this.preparedAt = now;
    const pairs = await revocationPairs(chains, roots, now);
    await Promise.all(
      pairs.map(async ({ cert, issuer }) => {
        const url = cert.crlUrls[0];
        if (url === undefined) return;
        const key = cacheKey(url, issuer);
        try {
          await this.crlFor(url, issuer, now);
          this.failures.delete(key);
        } catch (e) {
          this.failures.set(key, e instanceof SemperError ? e : new SemperError('ERR_REVOCATION_UNKNOWN', String(e)));
        }
      }),
    );
  }

  readonly isRevoked: RevocationCheck = async (cert, issuer) => {
    const url = cert.crlUrls[0];
    if (url === undefined) return false;
    const key = cacheKey(url, issuer);
    const failure = this.failures.get(key);
    if (failure) throw failure;
    const crl = this.cache.get(key);
    if (!crl || crl.nextUpdate <= this.preparedAt) {
      throw new SemperError('ERR_REVOCATION_UNKNOWN', `no current revocation status was prepared for "${cert.commonName}" (CRL ${url})`);
    }
    return crl.revoked.has(canonicalSerial(cert.serialNumber));
  };

  private async crlFor(url: string, issuer: CertificateInfo, now: number): Promise<CachedCrl> {
    const key = cacheKey(url, issuer);
    const cached = this.cache.get(key);
    if (cached && cached.nextUpdate > now) return cached;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetchAndVerify(url, issuer, now).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const fresh = await pending;
    this.cache.set(key, fresh);
    return fresh;
  }

  private async fetchAndVerify(url: string, issuer: CertificateInfo, now: number): Promise<CachedCrl> {
    let der: Uint8Array<ArrayBuffer>;
    try {
      der = await getBytes(url, {
        maxResponseBytes: MAX_CRL_BYTES,
        timeoutMs: CRL_TIMEOUT_MS,
        ...(this.deps.fetchImpl ? { fetchImpl: this.deps.fetchImpl } : {}),
      });
    } catch (e) {
      throw new SemperError(
        'ERR_REVOCATION_UNKNOWN',
        `the CRL of "${issuer.commonName}" at ${url} could not be fetched: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const verified = await verifyCrl(encodeBase64(der), issuer.der, new Date(now));
    return { revoked: verified.revokedSerials, nextUpdate: verified.nextUpdate.getTime() };
  }
}

function cacheKey(url: string, issuer: CertificateInfo): string {
  return `${url} ${issuer.fingerprint}`;
}
