/** PKCS #10 requests (RFC 2986) and CRLs (RFC 5280 §5) from core/pki. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { exportPublicJwk, generateKeyPair } from '../../../core/crypto/index.js';
import { encodeBase64 } from '../../../core/encoding/index.js';
import {
  createCertificationRequest,
  createCrl,
  crlRevocationChecker,
  crlToPem,
  issueCertificate,
  readCertificate,
  validateChain,
  verifyCertificationRequest,
  verifyCrl,
} from '../../../core/pki/index.js';
import { makeTestCa } from '../../helpers/pki.js';

const MIN = 60_000;
const DAY = 86_400_000;
const b64ToBytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const bytesToB64 = (bytes: Uint8Array) => encodeBase64(bytes);
const hasOpenssl = existsSync('/usr/bin/openssl');

function openssl(args: string[], files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'semper-openssl-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('PKCS #10 certification requests', () => {
  it('round-trip for a non-extractable ES256 key and an Ed25519 key: proof of possession, the key, the requested name', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const keys = await generateKeyPair(alg); // private half non-extractable, as in the extension
      const csr = await createCertificationRequest({ keys, commonName: 'Ann Shopper' });
      expect(csr).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
      const verified = await verifyCertificationRequest(csr);
      expect(verified.alg).toBe(alg);
      expect(verified.publicJwk).toEqual(await exportPublicJwk(keys.publicKey));
      expect(verified.requestedSubject).toBe('CN=Ann Shopper');
      // The verified key is what the CA certifies.
      const ca = await makeTestCa();
      const cert = await issueCertificate({
        issuerCertificate: ca.root,
        issuerPrivateKey: ca.keys.privateKey,
        subjectPublicKey: verified.publicKey,
        commonName: 'Ann Shopper',
        role: 'shopper',
        notBefore: new Date(Date.now() - MIN),
        notAfter: new Date(Date.now() + DAY),
      });
      expect((await readCertificate(cert)).publicJwk).toEqual(verified.publicJwk);
    }
  });

  it('refuses a tampered request, a foreign key type, a wrong hash, and anything that is not base64 DER', async () => {
    const keys = await generateKeyPair('ES256');
    const csr = await createCertificationRequest({ keys, commonName: 'Ann Shopper' });
    // Change the requested name after signing: the self-signature no longer covers it.
    const bytes = b64ToBytes(csr);
    const at = Buffer.from(bytes).indexOf('Ann');
    expect(at).toBeGreaterThan(0);
    bytes[at] = 'B'.charCodeAt(0);
    await expect(verifyCertificationRequest(bytesToB64(bytes))).rejects.toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
      message: expect.stringMatching(/RFC 2986.*proof of possession/),
    });

    // A request whose signature was made by another key than the one it names.
    const other = await generateKeyPair('ES256');
    const forged = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=Mallory',
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      keys: { publicKey: keys.publicKey, privateKey: other.privateKey },
    });
    await expect(verifyCertificationRequest(bytesToB64(new Uint8Array(forged.rawData)))).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });

    const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const p384Csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=x',
      keys: p384,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams,
    });
    await expect(verifyCertificationRequest(bytesToB64(new Uint8Array(p384Csr.rawData)))).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });
    await expect(createCertificationRequest({ keys: p384, commonName: 'x' })).rejects.toMatchObject({ code: 'ERR_ALG_UNSUPPORTED' });

    const sha384 = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=x',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams,
    });
    await expect(verifyCertificationRequest(bytesToB64(new Uint8Array(sha384.rawData)))).rejects.toMatchObject({
      code: 'ERR_ALG_UNSUPPORTED',
      message: expect.stringMatching(/ecdsa-with-SHA256/),
    });

    const pem = new x509.Pkcs10CertificateRequest(b64ToBytes(csr)).toString('pem');
    for (const bad of [pem, 'AAAA', '', 'not base64!', `${csr}\n`, 'A'.repeat(8000)]) {
      await expect(verifyCertificationRequest(bad)).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    }
  });

  it.skipIf(!hasOpenssl)('is a request OpenSSL verifies', async () => {
    const csr = await createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'Ann Shopper' });
    const pem = new x509.Pkcs10CertificateRequest(b64ToBytes(csr)).toString('pem');
    const out = openssl(['req', '-in', 'r.pem', '-verify', '-noout', '-subject'], { 'r.pem': pem });
    expect(out).toContain('CN = Ann Shopper');
  });
});

describe('CRLs', () => {
  const now = Date.now();

  async function setup() {
    const ca = await makeTestCa('Semper Test CA', now);
    const revoked = await ca.issue({ commonName: 'Revoked Shopper', role: 'shopper' });
    const good = await ca.issue({ commonName: 'Good Shopper', role: 'shopper' });
    const revokedInfo = await readCertificate(revoked.chain[0]!);
    const crl = await createCrl({
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      entries: [{ serial: revokedInfo.serialNumber, revokedAt: new Date(now - MIN), reason: 'keyCompromise' }],
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + 15 * MIN),
      crlNumber: 7,
    });
    return { ca, revoked, good, revokedInfo, crl };
  }

  it('verifies against the issuer and lists the revoked serial', async () => {
    const { ca, crl, revokedInfo } = await setup();
    const v = await verifyCrl(crl, ca.root, new Date(now + MIN));
    expect([...v.revokedSerials]).toEqual([revokedInfo.serialNumber.toLowerCase().replace(/^0+/, '')]);
    expect(v.thisUpdate.getTime()).toBe(Math.floor(now / 1000) * 1000);
    expect(v.nextUpdate.getTime() - v.thisUpdate.getTime()).toBe(15 * MIN);
    expect(v.crlNumber).toBe('7');
    const parsed = new x509.X509Crl(b64ToBytes(crl));
    expect(parsed.entries[0]!.reason).toBe(x509.X509CrlReason.keyCompromise);
    expect(parsed.extensions.map((e) => e.type).sort()).toEqual(['2.5.29.20', '2.5.29.35']);
  });

  it('refuses a stale CRL, one from the future, one signed by another CA (same name or not), a tampered one and a non-CA issuer', async () => {
    const { ca, crl, good } = await setup();
    const check = (p: Promise<unknown>, what: string) => expect(p).rejects.toMatchObject({ code: 'ERR_REVOCATION_UNKNOWN', details: { check: what } });
    await check(verifyCrl(crl, ca.root, new Date(now + 16 * MIN)), 'stale');
    await check(verifyCrl(crl, ca.root, new Date(now - 10 * MIN)), 'not-yet-valid');

    // Same subject name, different key: the authorityKeyIdentifier already gives it away.
    const impostor = await makeTestCa('Semper Test CA', now);
    await check(verifyCrl(crl, impostor.root, new Date(now)), 'issuer');
    const forged = await createCrl({
      issuerCertificate: impostor.root,
      issuerPrivateKey: impostor.keys.privateKey,
      entries: [],
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      crlNumber: 8,
    });
    await check(verifyCrl(forged, ca.root, new Date(now)), 'issuer');
    // ...and without that extension, the signature does.
    const noAki = await x509.X509CrlGenerator.create({
      issuer: new x509.X509Certificate(b64ToBytes(impostor.root)).subjectName,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      signingKey: impostor.keys.privateKey,
    });
    await check(verifyCrl(bytesToB64(new Uint8Array(noAki.rawData)), ca.root, new Date(now)), 'signature');
    const otherName = await makeTestCa('Other CA', now);
    await check(verifyCrl(crl, otherName.root, new Date(now)), 'issuer');

    const bytes = b64ToBytes(crl);
    bytes[bytes.length - 3]! ^= 0x01;
    await check(verifyCrl(bytesToB64(bytes), ca.root, new Date(now)), 'signature');
    await expect(verifyCrl('garbage', ca.root, new Date(now))).rejects.toMatchObject({ code: 'ERR_REVOCATION_UNKNOWN' });
    // A leaf certificate is no CRL issuer, even if it signs one under its own name.
    const leafCrl = await createCrl({
      issuerCertificate: good.chain[0]!,
      issuerPrivateKey: good.keys.privateKey,
      entries: [],
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      crlNumber: 1,
    });
    await check(verifyCrl(leafCrl, good.chain[0]!, new Date(now)), 'issuer-not-crl-signer');
  });

  it("as validateChain's revocation checker: revoked → ERR_CERT_REVOKED, good passes, stale or foreign → ERR_REVOCATION_UNKNOWN", async () => {
    const { ca, crl, revoked, good } = await setup();
    const at = new Date(now + MIN);
    await expect(validateChain(revoked.chain, { roots: [ca.root], now: at, isRevoked: crlRevocationChecker(crl, ca.root, at) })).rejects.toMatchObject({
      code: 'ERR_CERT_REVOKED',
    });
    const ok = await validateChain(good.chain, { roots: [ca.root], now: at, isRevoked: crlRevocationChecker(crl, ca.root, at) });
    expect(ok.leaf.commonName).toBe('Good Shopper');
    const late = new Date(now + 20 * MIN);
    await expect(validateChain(good.chain, { roots: [ca.root], now: late, isRevoked: crlRevocationChecker(crl, ca.root, late) })).rejects.toMatchObject({
      code: 'ERR_REVOCATION_UNKNOWN',
    });
    const other = await makeTestCa('Other CA', now);
    const stranger = await other.issue({ commonName: 'Stranger', role: 'shopper' });
    await expect(crlRevocationChecker(crl, ca.root, at)(await readCertificate(stranger.chain[0]!))).rejects.toMatchObject({
      code: 'ERR_REVOCATION_UNKNOWN',
      details: { check: 'issuer' },
    });
  });

  it.skipIf(!hasOpenssl)('is a CRL OpenSSL reads and verifies against the CA certificate', async () => {
    const { ca, crl, revokedInfo } = await setup();
    const caPem = new x509.X509Certificate(b64ToBytes(ca.root)).toString('pem');
    const out = openssl(['crl', '-in', 'crl.pem', '-CAfile', 'ca.pem', '-noout', '-text'], { 'crl.pem': crlToPem(crl), 'ca.pem': caPem });
    expect(out).toMatch(/X509v3 CRL Number:\s*\n\s*7/);
    expect(out.toLowerCase().replace(/[^0-9a-f\n]/g, '')).toContain(revokedInfo.serialNumber.toLowerCase());
    expect(out).toContain('Key Compromise');
  });
});

describe('mutation table (docs/mutation-purchase.md): each CRL rule has a test that fails without it', () => {
  const now = Date.now();
  const check = (p: Promise<unknown>, what: string) => expect(p).rejects.toMatchObject({ code: 'ERR_REVOCATION_UNKNOWN', details: { check: what } });
  const ecdsa = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
  const der = (crl: x509.X509Crl) => bytesToB64(new Uint8Array(crl.rawData));
  const crlNumber = (n: number) => new x509.Extension('2.5.29.20', false, new Uint8Array([0x02, 0x01, n]));

  it("a CRL signed with the issuer's key under another issuer name is refused (the name must be the issuer's)", async () => {
    const ca = await makeTestCa('Semper CRL Root', now);
    const crl = await x509.X509CrlGenerator.create({
      issuer: 'CN=Someone Else',
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      signingAlgorithm: ecdsa,
      signingKey: ca.keys.privateKey,
    });
    await check(verifyCrl(der(crl), ca.root, new Date(now)), 'issuer');
  });

  it('a CA certificate without cRLSign in its key usage cannot vouch for a CRL', async () => {
    const keys = await generateKeyPair('ES256');
    const name = 'CN=Semper No-CRL CA';
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '0a',
      name,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + DAY),
      signingAlgorithm: ecdsa,
      keys,
      extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const root = bytesToB64(new Uint8Array(cert.rawData));
    const crl = await createCrl({
      issuerCertificate: root,
      issuerPrivateKey: keys.privateKey,
      entries: [],
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      crlNumber: 1,
    });
    await check(verifyCrl(crl, root, new Date(now)), 'issuer-not-crl-signer');
  });

  it('an extension type twice in the CRL or in one entry (two cRLNumbers, two reason codes) makes the CRL unusable', async () => {
    const ca = await makeTestCa('Semper CRL Root', now);
    const issuer = new x509.X509Certificate(b64ToBytes(ca.root)).subjectName;
    const made = (extensions: x509.Extension[], entryExtensions: x509.Extension[] = []) =>
      x509.X509CrlGenerator.create({
        issuer,
        thisUpdate: new Date(now),
        nextUpdate: new Date(now + MIN),
        signingAlgorithm: ecdsa,
        signingKey: ca.keys.privateKey,
        extensions,
        entries: [{ serialNumber: '05', revocationDate: new Date(now - MIN), extensions: entryExtensions }],
      });
    // Which number is it? The first for one verifier, the last for another.
    const twoNumbers = await made([crlNumber(7), crlNumber(9)]);
    await expect(verifyCrl(der(twoNumbers), ca.root, new Date(now))).rejects.toMatchObject({
      code: 'ERR_REVOCATION_UNKNOWN',
      details: { check: 'encoding' },
      message: expect.stringMatching(/more than one 2\.5\.29\.20 CRL extension/),
    });
    const reason = (code: number) => new x509.Extension('2.5.29.21', false, new Uint8Array([0x0a, 0x01, code]));
    const twoReasons = await made([crlNumber(10)], [reason(1), reason(6)]);
    await expect(verifyCrl(der(twoReasons), ca.root, new Date(now))).rejects.toMatchObject({
      details: { check: 'encoding' },
      message: expect.stringMatching(/more than one 2\.5\.29\.21 extension in the entry for serial 05/),
    });
    // One of each verifies, and lists the serial.
    const once = await made([crlNumber(11)], [reason(1)]);
    expect([...(await verifyCrl(der(once), ca.root, new Date(now))).revokedSerials]).toEqual(['5']);
  });

  it('a critical CRL extension or entry extension it does not understand (a delta CRL, an indirect CRL) makes the CRL unusable', async () => {
    const ca = await makeTestCa('Semper CRL Root', now);
    const issuer = new x509.X509Certificate(b64ToBytes(ca.root)).subjectName;
    const delta = await x509.X509CrlGenerator.create({
      issuer,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      signingAlgorithm: ecdsa,
      signingKey: ca.keys.privateKey,
      extensions: [crlNumber(2), new x509.Extension('2.5.29.27', true, new Uint8Array([0x02, 0x01, 0x01]))],
    });
    await check(verifyCrl(der(delta), ca.root, new Date(now)), 'unsupported-extension');
    const indirect = await x509.X509CrlGenerator.create({
      issuer,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      signingAlgorithm: ecdsa,
      signingKey: ca.keys.privateKey,
      extensions: [crlNumber(3)],
      entries: [{ serialNumber: '05', revocationDate: new Date(now - MIN), extensions: [new x509.Extension('2.5.29.29', true, new Uint8Array([0x30, 0x00]))] }],
    });
    await check(verifyCrl(der(indirect), ca.root, new Date(now)), 'unsupported-extension');
    // The same without the critical extensions verifies.
    const plain = await x509.X509CrlGenerator.create({
      issuer,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      signingAlgorithm: ecdsa,
      signingKey: ca.keys.privateKey,
      extensions: [crlNumber(4)],
    });
    expect((await verifyCrl(der(plain), ca.root, new Date(now))).crlNumber).toBe('4');
  });

  it('a CRL without nextUpdate, or with a malformed cRLNumber, is refused; a CRL cannot be made with nextUpdate not after thisUpdate', async () => {
    const ca = await makeTestCa('Semper CRL Root', now);
    const issuer = new x509.X509Certificate(b64ToBytes(ca.root)).subjectName;
    const open = await x509.X509CrlGenerator.create({ issuer, thisUpdate: new Date(now), signingAlgorithm: ecdsa, signingKey: ca.keys.privateKey });
    await check(verifyCrl(der(open), ca.root, new Date(now)), 'no-next-update');
    const badNumber = await x509.X509CrlGenerator.create({
      issuer,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      signingAlgorithm: ecdsa,
      signingKey: ca.keys.privateKey,
      extensions: [new x509.Extension('2.5.29.20', false, new Uint8Array([0x04, 0x01, 0x07]))],
    });
    await check(verifyCrl(der(badNumber), ca.root, new Date(now)), 'encoding');
    await expect(
      createCrl({
        issuerCertificate: ca.root,
        issuerPrivateKey: ca.keys.privateKey,
        entries: [],
        thisUpdate: new Date(now),
        nextUpdate: new Date(now),
        crlNumber: 1,
      }),
    ).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
  });
});

describe('mutation table (docs/mutation-pki.md): CRL issuers and numbers', () => {
  const now = Date.now();
  const check = (p: Promise<unknown>, what: string) => expect(p).rejects.toMatchObject({ code: 'ERR_REVOCATION_UNKNOWN', details: { check: what } });
  const ecdsa = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
  const der = (crl: x509.X509Crl) => bytesToB64(new Uint8Array(crl.rawData));

  it('a certificate with keyUsage cRLSign but no CA flag (or no basicConstraints at all) cannot vouch for a CRL', async () => {
    for (const extensions of [
      [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign, true)],
      [new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.keyCertSign, true)],
    ]) {
      const keys = await generateKeyPair('ES256');
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '0c',
        name: 'CN=Semper Not-A-CA',
        notBefore: new Date(now - DAY),
        notAfter: new Date(now + DAY),
        signingAlgorithm: ecdsa,
        keys,
        extensions,
      });
      const issuer = bytesToB64(new Uint8Array(cert.rawData));
      const crl = await createCrl({
        issuerCertificate: issuer,
        issuerPrivateKey: keys.privateKey,
        entries: [],
        thisUpdate: new Date(now),
        nextUpdate: new Date(now + MIN),
        crlNumber: 1,
      });
      await check(verifyCrl(crl, issuer, new Date(now)), 'issuer-not-crl-signer');
    }
  });

  it('base64 DER that is not a CertificateList (a certificate, a few zero bytes) is refused as revocation unknown (encoding)', async () => {
    const ca = await makeTestCa('Semper CRL Root', now);
    await check(verifyCrl(ca.root, ca.root, new Date(now)), 'encoding');
    await check(verifyCrl('AAAA', ca.root, new Date(now)), 'encoding');
  });

  it('a negative cRLNumber is malformed; a CRL is not made with a negative, oversized or non-hex-serial input', async () => {
    const ca = await makeTestCa('Semper CRL Root', now);
    const issuer = new x509.X509Certificate(b64ToBytes(ca.root)).subjectName;
    const negative = await x509.X509CrlGenerator.create({
      issuer,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
      signingAlgorithm: ecdsa,
      signingKey: ca.keys.privateKey,
      extensions: [new x509.Extension('2.5.29.20', false, new Uint8Array([0x02, 0x01, 0x80]))],
    });
    await check(verifyCrl(der(negative), ca.root, new Date(now)), 'encoding');
    const params = {
      issuerCertificate: ca.root,
      issuerPrivateKey: ca.keys.privateKey,
      entries: [],
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + MIN),
    };
    await expect(createCrl({ ...params, crlNumber: -1 })).rejects.toMatchObject({ code: 'ERR_SCHEMA', message: expect.stringMatching(/non-negative/) });
    await expect(createCrl({ ...params, crlNumber: 2n ** 160n })).rejects.toMatchObject({ code: 'ERR_SCHEMA', message: expect.stringMatching(/20 octets/) });
    expect((await verifyCrl(await createCrl({ ...params, crlNumber: 2n ** 159n - 1n }), ca.root, new Date(now))).crlNumber).toBe((2n ** 159n - 1n).toString());
    await expect(createCrl({ ...params, entries: [{ serial: '12xz', revokedAt: new Date(now) }], crlNumber: 2 })).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
      message: expect.stringMatching(/serial must be hex/),
    });
  });
});

describe('mutation table (docs/mutation-pki.md): one text form and a size bound for DER on the wire', () => {
  it('a request in base64url, or unpadded, is refused: DER travels as canonical padded base64 only', async () => {
    const csr = await createCertificationRequest({ keys: await generateKeyPair('ES256'), commonName: 'Ann Shopper' });
    await expect(verifyCertificationRequest(csr)).resolves.toBeDefined();
    const url = csr.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(url).not.toBe(csr);
    for (const other of [url, csr.replace(/=+$/, ''), `${csr.replace(/=+$/, '')}===`]) {
      if (other === csr) continue;
      await expect(verifyCertificationRequest(other)).rejects.toMatchObject({ code: 'ERR_SCHEMA', message: expect.stringMatching(/padded base64/) });
    }
  });

  it('a validly self-signed request larger than any request for one key is refused before it is parsed', async () => {
    const keys = await generateKeyPair('ES256');
    const big = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${'a'.repeat(5000)}`,
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    });
    expect(big.rawData.byteLength).toBeGreaterThan(4096);
    await expect(verifyCertificationRequest(bytesToB64(new Uint8Array(big.rawData)))).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
      message: expect.stringMatching(/larger than 4096 bytes/),
    });
  });
});
