/**
 * Revocation status from a CRL as a RevocationSource (server/host/revocation.ts): `prepare`
 * loads the current CRL and verifies it once per CRL, `isRevoked` answers from it without I/O, and everything that is not a current, verified CRL of the certificate's issuer
 * fails closed (ERR_REVOCATION_UNKNOWN), naming why.
 */
import { describe, expect, it } from 'vitest';
import { createCrl, readCertificate } from '../../core/pki/index.js';
import { crlRevocationSource } from '../../server/host/revocation.js';
import { makeTestCa } from '../helpers/pki.js';

const MINUTE = 60_000;

describe('crlRevocationSource', () => {
  it('loads the current CRL before each step, verifies it once, and answers from it', async () => {
    const t = Date.now();
    const ca = await makeTestCa('Source CA', t);
    const good = await ca.issue({ commonName: 'Good', role: 'shopper' });
    const revoked = await ca.issue({ commonName: 'Revoked', role: 'shopper' });
    const revokedInfo = await readCertificate(revoked.chain[0]!);
    const crl = await createCrl({
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      entries: [{ serial: revokedInfo.serialNumber, revokedAt: new Date(t - MINUTE) }],
      thisUpdate: new Date(t - MINUTE),
      nextUpdate: new Date(t + 10 * MINUTE),
      crlNumber: 1,
    });
    let loads = 0;
    const source = crlRevocationSource({
      issuerCertificate: ca.root,
      currentCrl: async () => {
        loads++;
        return crl;
      },
    });
    const root = await readCertificate(ca.root);
    const goodInfo = await readCertificate(good.chain[0]!);

    await expect(source.isRevoked(goodInfo, root)).rejects.toMatchObject({ code: 'ERR_REVOCATION_UNKNOWN' });
    // Also for an event without chains: a step may check a certificate the event does not carry (its own).
    await source.prepare([], [ca.root], t);
    await source.prepare([revoked.chain], [ca.root], t + 1000);
    expect(loads).toBe(2);
    expect(await source.isRevoked(goodInfo, root)).toBe(false);
    expect(await source.isRevoked(revokedInfo, root)).toBe(true);

    const other = await makeTestCa('Other CA', t);
    const stranger = await readCertificate((await other.issue({ commonName: 'Stranger', role: 'shopper' })).chain[0]!);
    await expect(source.isRevoked(stranger, await readCertificate(other.root))).rejects.toMatchObject({
      code: 'ERR_REVOCATION_UNKNOWN',
      details: { check: 'issuer' },
    });

    // Past nextUpdate the same CRL is stale: fail closed, and say so.
    await source.prepare([good.chain], [ca.root], t + 11 * MINUTE);
    await expect(source.isRevoked(goodInfo, root)).rejects.toThrow(/stale/);
  });

  it('a CRL that cannot be had fails closed at the check', async () => {
    const ca = await makeTestCa('Unreachable CA');
    const cert = await ca.issue({ commonName: 'Someone', role: 'shopper' });
    const source = crlRevocationSource({
      issuerCertificate: ca.root,
      currentCrl: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    await source.prepare([cert.chain], [ca.root], Date.now());
    await expect(source.isRevoked(await readCertificate(cert.chain[0]!), await readCertificate(ca.root))).rejects.toMatchObject({
      code: 'ERR_REVOCATION_UNKNOWN',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
  });
});
