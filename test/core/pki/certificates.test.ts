import { describe, expect, it } from 'vitest';
import { readCertificate, validateChain, certificateToPem } from '../../../core/pki/index.js';
import { knownChain } from '../../../core/pki/certificates.js';
import { makeTestCa } from '../../helpers/pki.js';

const DAY = 86_400_000;

describe('X.509 merchant certificates', () => {
  it('bind legal name, role and origins, and validate to the issuing root', async () => {
    const ca = await makeTestCa();
    const m = await ca.issue({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: ['http://127.0.0.1:8451'] });
    const info = await readCertificate(m.chain[0]!);
    expect(info).toMatchObject({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: ['http://127.0.0.1:8451'], isCA: false });
    expect(info.publicJwk).toEqual(m.signer.publicJwk);
    const v = await validateChain(m.chain, { roots: [ca.root], now: new Date() });
    expect(v.root.commonName).toBe('Semper Test CA');
    expect(v.path).toHaveLength(2);
    expect(certificateToPem(m.chain[0]!)).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('refuses an unknown CA, an expired or not-yet-valid certificate, and a leaf posing as issuer', async () => {
    const ca = await makeTestCa();
    const other = await makeTestCa('Other CA');
    const m = await ca.issue({ commonName: 'Shop', role: 'merchant', origins: ['https://shop.example'] });
    await expect(validateChain(m.chain, { roots: [other.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    const old = await ca.issue({
      commonName: 'Old Shop',
      role: 'merchant',
      origins: ['https://shop.example'],
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    await expect(validateChain(old.chain, { roots: [ca.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_EXPIRED' });
    await expect(validateChain(m.chain, { roots: [ca.root], now: new Date(Date.now() + 400 * DAY) })).rejects.toMatchObject({ code: 'ERR_CERT_EXPIRED' });
    // A merchant (not a CA) cannot issue: a chain [victim-signed-by-merchant, merchant] is refused.
    const { issueCertificate } = await import('../../../core/pki/index.js');
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const forged = await issueCertificate({
      issuerCertificate: m.chain[0]!,
      issuerPrivateKey: m.keys.privateKey,
      subjectPublicKey: (await generateKeyPair('ES256')).publicKey,
      commonName: 'Big Bank',
      role: 'merchant',
      origins: ['https://bank.example'],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + DAY),
    });
    await expect(validateChain([forged, m.chain[0]!], { roots: [ca.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
  });

  it('names the CRL distribution point it was issued with (RFC 5280 §4.2.1.13), and refuses non-http ones', async () => {
    const ca = await makeTestCa();
    const { issueCertificate } = await import('../../../core/pki/index.js');
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const params = {
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      subjectPublicKey: (await generateKeyPair('ES256')).publicKey,
      commonName: 'Shop',
      role: 'merchant' as const,
      origins: ['https://shop.example'],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + DAY),
    };
    const der = await issueCertificate({ ...params, crlUrls: ['http://127.0.0.1:8450/ca/crl.der'] });
    expect((await readCertificate(der)).crlUrls).toEqual(['http://127.0.0.1:8450/ca/crl.der']);
    expect((await readCertificate(await issueCertificate(params))).crlUrls).toEqual([]);
    await expect(issueCertificate({ ...params, crlUrls: ['file:///etc/passwd'] })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
  });

  it('consults the revocation checker for non-root certificates', async () => {
    const ca = await makeTestCa();
    const m = await ca.issue({ commonName: 'Shop', role: 'merchant', origins: ['https://shop.example'] });
    const serial = (await readCertificate(m.chain[0]!)).serialNumber;
    await expect(validateChain(m.chain, { roots: [ca.root], now: new Date(), isRevoked: async (c) => c.serialNumber === serial })).rejects.toMatchObject({
      code: 'ERR_CERT_REVOKED',
    });
  });

  it('rejects a merchant certificate without origins and garbage DER', async () => {
    const ca = await makeTestCa();
    await expect(ca.issue({ commonName: 'Shop', role: 'merchant', origins: [] })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(ca.issue({ commonName: 'Shop', role: 'merchant', origins: ['https://shop.example/path'] })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(validateChain(['AAAA'], { roots: [ca.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
  });
});

describe('mutation table (docs/mutation-purchase.md): each chain and issuance check has a test that fails without it', () => {
  it('a CA with the same name as a trusted root but another key cannot issue: the signature, not the name, decides', async () => {
    const ca = await makeTestCa('Semper Look-alike Root');
    const rogue = await makeTestCa('Semper Look-alike Root');
    const m = await rogue.issue({ commonName: 'Shop', role: 'merchant', origins: ['https://shop.example'] });
    await expect(validateChain(m.chain, { roots: [ca.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    // ...nor when it carries the trusted root itself in its chain.
    await expect(validateChain([...m.chain, ca.root], { roots: [ca.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
  });

  it('a remembered link counts for the issuer it was verified under only, and validity is still checked at `now`', async () => {
    const ca = await makeTestCa('Semper Remembered Root');
    const lookalike = await makeTestCa('Semper Remembered Root');
    const m = await ca.issue({ commonName: 'Shop', role: 'merchant', origins: ['https://shop.example'] });
    await validateChain(m.chain, { roots: [ca.root], now: new Date() });
    await validateChain(m.chain, { roots: [ca.root], now: new Date() });
    // The link leaf → root is remembered now; a root with the same name and another key gets nothing from it.
    await expect(validateChain(m.chain, { roots: [lookalike.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    await expect(validateChain([...m.chain, lookalike.root], { roots: [lookalike.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    const info = await readCertificate(m.chain[0]!);
    await expect(validateChain(m.chain, { roots: [ca.root], now: new Date(info.notAfter.getTime() + 1) })).rejects.toMatchObject({ code: 'ERR_CERT_EXPIRED' });
  });

  it("a certificate signed by the root's key under another issuer name does not chain (names must chain too)", async () => {
    const x509 = await import('@peculiar/x509');
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const ca = await makeTestCa('Semper Named Root');
    const subject = await generateKeyPair('ES256');
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '01',
      subject: 'CN=Shop, OU=semper-merchant',
      issuer: 'CN=Someone Else',
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + DAY),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: subject.publicKey,
      signingKey: ca.keys.privateKey,
    });
    const der = Buffer.from(cert.rawData).toString('base64');
    await expect(validateChain([der], { roots: [ca.root], now: new Date() })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
  });

  it('an empty chain is refused as such', async () => {
    const ca = await makeTestCa();
    await expect(validateChain([], { roots: [ca.root], now: new Date() })).rejects.toMatchObject({
      code: 'ERR_CERT_CHAIN',
      message: 'empty certificate chain',
    });
  });

  it('a certificate cannot outlive its issuer; origins must be bare http(s) origins', async () => {
    const { issueCertificate } = await import('../../../core/pki/index.js');
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const ca = await makeTestCa();
    const subjectPublicKey = (await generateKeyPair('ES256')).publicKey;
    const base = {
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      subjectPublicKey,
      commonName: 'Shop',
      role: 'merchant' as const,
      origins: ['https://shop.example'],
      notBefore: new Date(Date.now() - DAY),
    };
    await expect(issueCertificate({ ...base, notAfter: new Date(Date.now() + 400 * DAY) })).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    await expect(issueCertificate({ ...base, notAfter: new Date(Date.now() + DAY), origins: ['ftp://shop.example'] })).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
    });
    await expect(issueCertificate({ ...base, notAfter: new Date(Date.now() + DAY), origins: ['https://shop.example/path'] })).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
    });
    await expect(issueCertificate({ ...base, notAfter: new Date(Date.now() + DAY) })).resolves.toBeTypeOf('string');
  });
});

describe('mutation table (docs/mutation-purchase.md): validity periods', () => {
  it('a certificate not yet valid is refused (notBefore), as is one past notAfter', async () => {
    const ca = await makeTestCa();
    const future = await ca.issue({
      commonName: 'Future Shop',
      role: 'merchant',
      origins: ['https://shop.example'],
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    await expect(validateChain(future.chain, { roots: [ca.root], now: new Date() })).rejects.toMatchObject({
      code: 'ERR_CERT_EXPIRED',
      message: expect.stringMatching(/not valid before/),
    });
    await expect(validateChain(future.chain, { roots: [ca.root], now: new Date(Date.now() + 2 * DAY) })).resolves.toBeDefined();
  });
});

describe('mutation table (docs/mutation-pki.md): issuance names and revocation along the whole path', () => {
  it('a name with control characters or surrounding spaces is not certified (as CN or O)', async () => {
    const { issueCertificate } = await import('../../../core/pki/index.js');
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const ca = await makeTestCa();
    const base = {
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      subjectPublicKey: (await generateKeyPair('ES256')).publicKey,
      role: 'shopper' as const,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + DAY),
    };
    for (const commonName of [' Ann', 'Ann ', 'Ann\u0000Bob', 'Ann\nOU=semper-ca', '', 'x'.repeat(129)]) {
      await expect(issueCertificate({ ...base, commonName })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    }
    await expect(issueCertificate({ ...base, commonName: 'Ann', organization: 'Shop\u0007' })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    await expect(issueCertificate({ ...base, commonName: 'Ann', organization: 'Shop' })).resolves.toBeTypeOf('string');
  });

  it('a revoked intermediate CA is refused even when the leaf it issued is not revoked', async () => {
    const x509 = await import('@peculiar/x509');
    const { issueCertificate } = await import('../../../core/pki/index.js');
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const ca = await makeTestCa('Semper Path Root');
    const interKeys = await generateKeyPair('ES256');
    const inter = await x509.X509CertificateGenerator.create({
      serialNumber: '0b',
      subject: 'CN=Semper Intermediate, OU=semper-ca',
      issuer: new x509.X509Certificate(ca.root).subjectName,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 100 * DAY),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: interKeys.publicKey,
      signingKey: ca.keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    const interDer = Buffer.from(inter.rawData).toString('base64');
    const leaf = await issueCertificate({
      issuerCertificate: interDer,
      issuerPrivateKey: interKeys.privateKey,
      subjectPublicKey: (await generateKeyPair('ES256')).publicKey,
      commonName: 'Shop',
      role: 'merchant',
      origins: ['https://shop.example'],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + DAY),
    });
    const interSerial = (await readCertificate(interDer)).serialNumber;
    const asked: string[] = [];
    const isRevoked = async (c: { serialNumber: string; commonName: string }) => {
      asked.push(c.commonName);
      return c.serialNumber === interSerial;
    };
    await expect(validateChain([leaf, interDer], { roots: [ca.root], now: new Date(), isRevoked })).rejects.toMatchObject({
      code: 'ERR_CERT_REVOKED',
      message: expect.stringMatching(/Semper Intermediate/),
    });
    expect(asked).toEqual(['Shop', 'Semper Intermediate']);
    await expect(validateChain([leaf, interDer], { roots: [ca.root], now: new Date(), isRevoked: async () => false })).resolves.toMatchObject({
      leaf: { commonName: 'Shop' },
    });
  });
});

describe('knownChain: validateChain without waiting, only for what earlier validations left known', () => {
  it('answers nothing for a chain not yet validated, then what the walk answered, with the validity periods still checked at `now`', async () => {
    const ca = await makeTestCa('Semper Known Root');
    const m = await ca.issue({ commonName: 'Known Shop', role: 'merchant', origins: ['https://shop.example'] });
    const options = { roots: [ca.root], now: new Date() };
    expect(knownChain(m.chain, options)).toBeNull();
    const walked = await validateChain(m.chain, options);
    const known = knownChain(m.chain, options);
    expect(known).toEqual(walked);
    expect(known!.leaf).toBe(walked.leaf);
    // The same chain carrying its root: the same path.
    await validateChain([...m.chain, ca.root], options);
    expect(knownChain([...m.chain, ca.root], options)?.path).toEqual(walked.path);
    // Outside the leaf's validity, before and after: nothing known, and the walk refuses.
    const { notBefore, notAfter } = walked.leaf;
    for (const at of [new Date(notBefore.getTime() - 1), new Date(notAfter.getTime() + 1)]) {
      expect(knownChain(m.chain, { ...options, now: at })).toBeNull();
      await expect(validateChain(m.chain, { ...options, now: at })).rejects.toMatchObject({ code: 'ERR_CERT_EXPIRED' });
    }
    // Outside the root's validity too (the leaf's ends earlier: check the root's own bound through the walk's answer).
    expect(knownChain(m.chain, { ...options, now: new Date(walked.root.notAfter.getTime() + 1) })).toBeNull();
  });

  it('leaves revocation to the walk: a certificate revoked since the last validation is refused', async () => {
    const ca = await makeTestCa('Semper Revoking Root');
    const m = await ca.issue({ commonName: 'Revoked Later', role: 'merchant', origins: ['https://shop.example'] });
    let revoked = false;
    const options = { roots: [ca.root], now: new Date(), isRevoked: async () => revoked };
    await validateChain(m.chain, options);
    revoked = true;
    expect(knownChain(m.chain, options)).toBeNull();
    await expect(validateChain(m.chain, options)).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });
  });

  it('knows no chain through an issuer that is not a CA, nor through a link that did not verify, however often asked', async () => {
    const ca = await makeTestCa('Semper Strict Root');
    const lookalike = await makeTestCa('Semper Strict Root');
    const m = await ca.issue({ commonName: 'Issuing Shop', role: 'merchant', origins: ['https://shop.example'] });
    const { issueCertificate } = await import('../../../core/pki/index.js');
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const issuedByMerchant = await issueCertificate({
      issuerCertificate: m.chain[0]!,
      issuerPrivateKey: m.keys.privateKey,
      subjectPublicKey: (await generateKeyPair('ES256')).publicKey,
      commonName: 'Victim',
      role: 'merchant',
      origins: ['https://victim.example'],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + DAY),
    });
    // A merchant certificate trusted as a root: its signature on the victim verifies (and is
    // remembered), but it is no CA.
    const notCa = { roots: [m.chain[0]!], now: new Date() };
    // A look-alike root (same name, another key): every certificate is decoded, the link fails.
    const badLink = { roots: [lookalike.root], now: new Date() };
    for (let i = 0; i < 3; i++) {
      await expect(validateChain([issuedByMerchant], notCa)).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
      expect(knownChain([issuedByMerchant], notCa)).toBeNull();
      await expect(validateChain([m.chain[0]!, lookalike.root], badLink)).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
      expect(knownChain([m.chain[0]!, lookalike.root], badLink)).toBeNull();
    }
  });
});

describe('knownChain picks the root the walk would pick', () => {
  it('a re-issued root (same name and key) listed first is the walk’s choice: nothing known until that link is', async () => {
    const { createRootCertificate } = await import('../../../core/pki/index.js');
    const ca = await makeTestCa('Semper Re-issued Root');
    const reissued = await createRootCertificate({
      commonName: 'Semper Re-issued Root',
      keys: ca.keys,
      notBefore: new Date(Date.now() - 2 * DAY),
      notAfter: new Date(Date.now() + 100 * DAY),
    });
    expect(reissued).not.toBe(ca.root);
    const m = await ca.issue({ commonName: 'Shop', role: 'merchant', origins: ['https://shop.example'] });
    await validateChain(m.chain, { roots: [ca.root], now: new Date() });
    // The link to ca.root is known; with the re-issued root first (decoded, its link not yet
    // verified), the walk takes that one.
    await readCertificate(reissued);
    const both = { roots: [reissued, ca.root], now: new Date() };
    expect(knownChain(m.chain, both)).toBeNull();
    const walked = await validateChain(m.chain, both);
    expect(walked.root.der).toBe(reissued);
    expect(knownChain(m.chain, both)?.root.der).toBe(reissued);
  });
});
