/**
 * Revocation status from one issuer's CRL, split the way the machine contract wants it
 * (core/pki/revocation.ts): `prepare` does the I/O before every step (load the current CRL,
 * verify it against the issuer at the event's time), `isRevoked` answers inside the step from
 * that verified CRL alone. The marketplace's merchant kit uses it with its own CA (CaService.revocationSource).
 *
 * Fail closed: a CRL that cannot be had or does not verify (stale, wrong signature) is remembered
 * as the reason, and every check of a chain then throws ERR_REVOCATION_UNKNOWN with it. The step
 * refuses at the point where it validates the chain, so checks that come first still decide
 * (a chain to an untrusted root is ERR_CERT_UNTRUSTED, not a revocation problem).
 */
import { SemperError, isSemperError } from '../../core/errors.js';
import { canonicalSerial, verifyCrl, type VerifiedCrl } from '../../core/pki/index.js';
import type { RevocationSource } from '../../core/pki/revocation.js';

export interface CrlRevocationSourceOptions {
  /** The CA certificate that issues the certificates and signs the CRL (base64 DER). */
  issuerCertificate: string;
  /** The issuer's current CRL (base64 DER): in-process from the CA, or fetched. */
  currentCrl(): Promise<string>;
}

type Snapshot = { der: string; crl: VerifiedCrl; verifiedAt: number } | { error: SemperError };

export function crlRevocationSource(options: CrlRevocationSourceOptions): RevocationSource {
  let snapshot: Snapshot | undefined;
  return {
    // The chains are not consulted: one CRL covers every certificate of its issuer, also those a
    // step signs or checks that the event does not carry (the merchant's own certificate on the
    // contract it signs). Loading it is cheap (the CA's stored CRL; verified once per CRL).
    async prepare(_chains, _roots, now) {
      try {
        const der = await options.currentCrl();
        // The same CRL, verified earlier and still current at `now`: its signature has not changed.
        if (snapshot && 'crl' in snapshot && snapshot.der === der && snapshot.verifiedAt <= now && now <= snapshot.crl.nextUpdate.getTime()) return;
        snapshot = { der, crl: await verifyCrl(der, options.issuerCertificate, new Date(now)), verifiedAt: now };
      } catch (e) {
        const reason =
          isSemperError(e) && e.code === 'ERR_REVOCATION_UNKNOWN'
            ? e
            : new SemperError('ERR_REVOCATION_UNKNOWN', `no current CRL: ${e instanceof Error ? e.message : String(e)}`);
        snapshot = { error: reason };
      }
    },
    isRevoked: async (cert) => {
      if (!snapshot) throw new SemperError('ERR_REVOCATION_UNKNOWN', `no revocation status was prepared for "${cert.commonName}"`);
      if ('error' in snapshot) throw snapshot.error;
      if (cert.issuer !== snapshot.crl.issuer) {
        throw new SemperError(
          'ERR_REVOCATION_UNKNOWN',
          `no CRL for "${cert.commonName}": it is issued by "${cert.issuer}", the CRL by "${snapshot.crl.issuer}"`,
          { check: 'issuer' },
        );
      }
      return snapshot.crl.revokedSerials.has(canonicalSerial(cert.serialNumber));
    },
  };
}
