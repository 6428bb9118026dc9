/**
 * Fetching a CA root or a TTP certificate by address (extension/settings/fetch-certificate.ts):
 * described for the shopper to compare, with the same checks as adding it by hand; nothing trusted.
 */
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../../core/pki/index.js';
import { fetchCertificate } from '../../../extension/settings/fetch-certificate.js';
import { makeTestCa } from '../../helpers/pki.js';

const NOW = Date.now();

describe('fetchCertificate', () => {
  it('a CA root from <ca>/ca/root, named by the CA origin however the address was typed', async () => {
    const ca = await makeTestCa('Fetched Root CA');
    const asked: string[] = [];
    const fetched = await fetchCertificate(
      'ca',
      'http://127.0.0.1:8450/ca/root',
      async (url) => {
        asked.push(url);
        return { certificate: ca.root, pem: '…' };
      },
      NOW,
    );
    expect(asked).toEqual(['http://127.0.0.1:8450/ca/root']);
    expect(fetched).toMatchObject({
      role: 'ca',
      url: 'http://127.0.0.1:8450',
      certificate: ca.root,
      commonName: 'Fetched Root CA',
      fingerprint: await fingerprintOf(ca.root),
    });
  });

  it('refuses what is not a self-signed CA root, and a certificate of another role as a TTP', async () => {
    const ca = await makeTestCa('Root');
    const leaf = (await ca.issue({ commonName: 'Some Shop', role: 'merchant', origins: ['https://shop.example'] })).chain[0]!;
    await expect(fetchCertificate('ca', 'http://127.0.0.1:8450', async () => ({ certificate: leaf }), NOW)).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    await expect(fetchCertificate('ca', 'http://127.0.0.1:8450', async () => ({ nothing: true }), NOW)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(fetchCertificate('ttp', 'http://127.0.0.1:8452', async () => ({ certificateChain: [leaf] }), NOW)).rejects.toMatchObject({
      code: 'ERR_CERT_UNTRUSTED',
    });
  });

  it("a TTP's certificate from <ttp>/ttp: its leaf", async () => {
    const ca = await makeTestCa('Root');
    const ttp = (await ca.issue({ commonName: 'Some TTP', role: 'ttp' })).chain[0]!;
    const fetched = await fetchCertificate(
      'ttp',
      'http://localhost:8452/',
      async (url) => {
        expect(url).toBe('http://localhost:8452/ttp');
        return { certificateChain: [ttp] };
      },
      NOW,
    );
    expect(fetched).toMatchObject({ role: 'ttp', url: 'http://localhost:8452', certificate: ttp, commonName: 'Some TTP' });
  });

  it('only over https, or http on this computer; no credentials in the address', async () => {
    const never = async () => {
      throw new Error('must not fetch');
    };
    await expect(fetchCertificate('ca', 'http://ca.example:8450', never, NOW)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(fetchCertificate('ca', 'https://user:pw@ca.example', never, NOW)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(fetchCertificate('ttp', 'file:///etc/passwd', never, NOW)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
  });
});
