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
import { SemperError } from '../core/errors.js';
import { encodeBase64 } from '../core/encoding/index.js';
import { canonicalSerial, verifyCrl, type CertificateInfo, type RevocationCheck } from '../core/pki/index.js';
import { getBytes } from './http.js';

export const MAX_CRL_BYTES = 1_000_000;
const CRL_TIMEOUT_MS = 10_000;

interface CachedCrl {
  revoked: Set<string>;
  nextUpdate: number;
}

export interface CrlFetcherDeps {
  now(): number;
  fetchImpl?: typeof fetch;
}

export class CrlRevocationChecker {
  // Keyed by URL and issuer certificate: a CRL only answers for the issuer that signed it.
  private readonly cache = new Map<string, CachedCrl>();
  private readonly inFlight = new Map<string, Promise<CachedCrl>>();

  constructor(private readonly deps: CrlFetcherDeps) {}

  readonly isRevoked: RevocationCheck = async (cert, issuer) => {
    if (cert.crlUrls.length === 0) return false;
    const crl = await this.crlFor(cert.crlUrls[0]!, issuer);
    return crl.revoked.has(canonicalSerial(cert.serialNumber));
  };

  private async crlFor(url: string, issuer: CertificateInfo): Promise<CachedCrl> {
    const key = `${url} ${issuer.fingerprint}`;
    const cached = this.cache.get(key);
    if (cached && cached.nextUpdate > this.deps.now()) return cached;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetchAndVerify(url, issuer).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const fresh = await pending;
    this.cache.set(key, fresh);
    return fresh;
  }

  private async fetchAndVerify(url: string, issuer: CertificateInfo): Promise<CachedCrl> {
    let der: Uint8Array<ArrayBuffer>;
    try {
      der = await getBytes(url, { maxResponseBytes: MAX_CRL_BYTES, timeoutMs: CRL_TIMEOUT_MS, ...(this.deps.fetchImpl ? { fetchImpl: this.deps.fetchImpl } : {}) });
    } catch (e) {
      throw new SemperError('ERR_REVOCATION_UNKNOWN', `the CRL of "${issuer.commonName}" at ${url} could not be fetched: ${e instanceof Error ? e.message : String(e)}`);
    }
    const verified = await verifyCrl(encodeBase64(der), issuer.der, new Date(this.deps.now()));
    return { revoked: verified.revokedSerials, nextUpdate: verified.nextUpdate.getTime() };
  }
}
