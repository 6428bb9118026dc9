/**
 * The pitfalls issue 12 names, each shown: what pkijs's own verify accepts and OpenSSL 3 refuses
 * (a token without signed attributes / signingCertificateV2), a TSA certificate whose
 * extendedKeyUsage is not critical, a negative serial, a missing nonce; plus the encodings our
 * tokens rely on (DER ECDSA-Sig-Value, positive INTEGERs, OIDs with 128-bit arcs, requests).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecdsaDerToRaw } from '../../../core/crypto/ecdsa-der.js';
import { EKU_TIME_STAMPING } from '../../../core/pki/index.js';
import { ecdsaRawToDer, positiveInteger, readOid } from '../../../core/timestamp/asn1.js';
import {
  buildTimeStampRequest,
  buildTstInfo,
  grantedResponse,
  parseTimeStampRequest,
  signTstInfo,
  TimeStampRequestError,
  verifyTimeStampToken,
} from '../../../core/timestamp/index.js';
import { type OpensslDir, opensslDir, pem, type TestPki, testPki, tsaCertificate } from './helpers.js';

const POLICY = '1.3.6.1.4.1.99999.3161.1';
let pki: TestPki;
let ssl: OpensslDir;
let digest: Uint8Array<ArrayBuffer>;
const nonce = 99n;

beforeAll(async () => {
  pki = await testPki();
  ssl = opensslDir();
  ssl.write('root.pem', pem(pki.root));
  digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('evidence')));
});
afterAll(() => ssl.remove());

function opensslVerify(name: string, token: Uint8Array, query = buildTimeStampRequest({ digest, nonce })) {
  ssl.write(`${name}.tsr`, grantedResponse(token));
  ssl.write(`${name}.tsq`, query);
  return ssl.run(['ts', '-verify', '-in', `${name}.tsr`, '-queryfile', `${name}.tsq`, '-CAfile', 'root.pem']);
}

describe('what pkijs verify accepts and OpenSSL refuses', () => {
  it('a token made as the pkijs documentation shows (no signed attributes, so no signingCertificateV2)', async () => {
    const cert = pkijs.Certificate.fromBER(Buffer.from(pki.tsa, 'base64'));
    const tstInfo = new pkijs.TSTInfo({
      version: 1,
      policy: POLICY,
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.2.1' }),
        hashedMessage: new asn1js.OctetString({ valueHex: digest }),
      }),
      serialNumber: new asn1js.Integer({ value: 1 }),
      genTime: new Date(),
      nonce: positiveInteger(nonce),
    });
    const signed = new pkijs.SignedData({
      version: 3,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({
        eContentType: '1.2.840.113549.1.9.16.1.4',
        eContent: new asn1js.OctetString({ valueHex: tstInfo.toSchema().toBER() }),
      }),
      signerInfos: [new pkijs.SignerInfo({ version: 1, sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }) })],
      certificates: [cert],
    });
    await signed.sign(pki.tsaKeys.privateKey, 0, 'SHA-256');
    const token = new Uint8Array(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signed.toSchema(true) }).toSchema().toBER());

    const root = pkijs.Certificate.fromBER(Buffer.from(pki.root, 'base64'));
    const response = pkijs.TimeStampResp.fromBER(grantedResponse(token));
    // pkijs checks the signature (and, asked, the chain) and is satisfied...
    const byPkijs = await response.verify({ signer: 0, trustedCerts: [root], data: new TextEncoder().encode('evidence').buffer as ArrayBuffer });
    expect(byPkijs).toBe(true);
    // ...OpenSSL 3 is not (no ESS signing certificate), and neither are we.
    const byOpenssl = opensslVerify('pkijs', token);
    expect(byOpenssl.ok).toBe(false);
    expect(byOpenssl.out).toMatch(/ess signing certificate error|signing certificate|attribute/i);
    // Ours stops at the first departure: pkijs wrote eContent as a constructed (BER) OCTET STRING.
    await expect(verifyTimeStampToken(token, { digest, nonce, roots: [pki.root] })).rejects.toThrow(/eContent must be a DER/);
    // With that repaired, the missing signed attributes are what is refused.
    const repaired = pkijs.ContentInfo.fromBER(token);
    const data = new pkijs.SignedData({ schema: repaired.content });
    data.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: tstInfo.toSchema().toBER() });
    const fixed = new Uint8Array(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: data.toSchema(true) }).toSchema().toBER());
    await expect(verifyTimeStampToken(fixed, { digest, nonce, roots: [pki.root] })).rejects.toThrow(/must carry signed attributes/);
  });

  it('a TSA certificate whose extendedKeyUsage timeStamping is not critical', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const issuer = new x509.X509Certificate(pki.root);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '0a1b2c',
      subject: 'CN=Lax TSA, OU=semper-tsa',
      issuer: issuer.subjectName,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 3600_000),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: keys.publicKey,
      signingKey: pki.rootKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([EKU_TIME_STAMPING], false),
      ],
    });
    const der = Buffer.from(cert.rawData).toString('base64');
    const token = await signTstInfo({
      tstInfo: buildTstInfo({ digest, serialNumber: 5n, genTime: new Date(), policy: POLICY, nonce }),
      genTime: new Date(),
      certificate: der,
      includeCertificate: true,
      privateKey: keys.privateKey,
    });
    expect(opensslVerify('lax', token).ok).toBe(false);
    await expect(verifyTimeStampToken(token, { digest, nonce, roots: [pki.root] })).rejects.toThrow(
      /RFC 3161 §2.3: the TSA certificate extendedKeyUsage must be critical/,
    );
  });
});

describe('Semper roles', () => {
  it('a timeStamping certificate of another Semper role (a TTP) is refused unless the caller waives the role', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const ttp = await tsaCertificate(pki, keys.publicKey, { role: 'ttp' });
    const token = await signTstInfo({
      tstInfo: buildTstInfo({ digest, serialNumber: 9n, genTime: new Date(), policy: POLICY, nonce }),
      genTime: new Date(),
      certificate: ttp,
      includeCertificate: true,
      privateKey: keys.privateKey,
    });
    // OpenSSL knows nothing of OU=semper-ttp: for it this is a fine TSA.
    expect(opensslVerify('ttprole', token).out).toContain('Verification: OK');
    await expect(verifyTimeStampToken(token, { digest, nonce, roots: [pki.root] })).rejects.toThrow(/role tsa/);
    await expect(verifyTimeStampToken(token, { digest, nonce, roots: [pki.root], requireTsaRole: false })).resolves.toMatchObject({ serialNumber: 9n });
  });
});

describe('TSTInfo fields our tokens never carry wrong, refused when another TSA does', () => {
  async function signed(fields: ConstructorParameters<typeof pkijs.TSTInfo>[0]): Promise<Uint8Array> {
    const info = new pkijs.TSTInfo({
      version: 1,
      policy: POLICY,
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.2.1' }),
        hashedMessage: new asn1js.OctetString({ valueHex: digest }),
      }),
      serialNumber: new asn1js.Integer({ value: 1 }),
      genTime: new Date(),
      ...fields,
    });
    return signTstInfo({
      tstInfo: new Uint8Array(info.toSchema().toBER()),
      genTime: new Date(),
      certificate: pki.tsa,
      includeCertificate: true,
      privateKey: pki.tsaKeys.privateKey,
    });
  }

  it('a negative serial number', async () => {
    const token = await signed({ serialNumber: new asn1js.Integer({ value: -5 }), nonce: positiveInteger(nonce) });
    await expect(verifyTimeStampToken(token, { digest, nonce, roots: [pki.root] })).rejects.toThrow(/serialNumber must be a positive INTEGER/);
    // OpenSSL 3.0 accepts it (measured): one more check of ours that `ts -verify` does not make.
    expect(opensslVerify('negative', token).out).toContain('Verification: OK');
  });

  it('no nonce when the request sent one (OpenSSL refuses too)', async () => {
    const token = await signed({});
    expect(opensslVerify('nononce', token).ok).toBe(false);
    await expect(verifyTimeStampToken(token, { digest, nonce, roots: [pki.root] })).rejects.toThrow(/nonce differs/);
    // Without a nonce to compare, the same token is fine.
    await expect(verifyTimeStampToken(token, { digest, roots: [pki.root] })).resolves.toMatchObject({ nonce: undefined });
  });
});

describe('encodings', () => {
  it('ECDSA P1363 → DER ECDSA-Sig-Value: minimal positive INTEGERs, and back', () => {
    const raw = new Uint8Array(64);
    raw[0] = 0x80; // r needs a leading zero
    raw[63] = 0x01; // s is 1 after 31 leading zeros
    const der = ecdsaRawToDer(raw);
    expect(Buffer.from(der).toString('hex')).toBe(`3026022100${'80'.padEnd(64, '0')}020101`);
    expect(ecdsaDerToRaw(der)).toEqual(raw);
  });

  it('positive INTEGERs get a leading zero only when the top bit is set; zero and negatives are refused', () => {
    expect(Buffer.from(positiveInteger(0x7fn).toBER()).toString('hex')).toBe('02017f');
    expect(Buffer.from(positiveInteger(0x80n).toBER()).toString('hex')).toBe('02020080');
    expect(() => positiveInteger(0n)).toThrow(/positive/);
    expect(() => positiveInteger(-1n)).toThrow(/positive/);
  });

  it('OIDs with 128-bit arcs read back exactly (asn1js alone does not)', () => {
    const oid = '2.25.276338864621942155313260869663178683493';
    const parsed = asn1js.fromBER(new asn1js.ObjectIdentifier({ value: oid }).toBER()).result as asn1js.ObjectIdentifier;
    expect(parsed.valueBlock.toString()).not.toBe(oid);
    expect(readOid(parsed)).toBe(oid);
    expect(readOid(asn1js.fromBER(new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.9.16.1.4' }).toBER()).result as asn1js.ObjectIdentifier)).toBe(
      '1.2.840.113549.1.9.16.1.4',
    );
  });

  it('our requests read as OpenSSL reads them; certReq false is left out (DER DEFAULT)', () => {
    ssl.write('q.tsq', buildTimeStampRequest({ digest, nonce: 0x1234n, policy: POLICY }));
    const text = ssl.run(['ts', '-query', '-in', 'q.tsq', '-text']).out;
    expect(text).toContain('Hash Algorithm: sha256');
    expect(text).toContain('Nonce: 0x1234');
    expect(text).toContain('Certificate required: yes');
    expect(text).toContain(`Policy OID: ${POLICY}`);
    const parsed = parseTimeStampRequest(buildTimeStampRequest({ digest, nonce: 0x1234n, certReq: false }));
    expect(parsed).toMatchObject({ nonce: 0x1234n, certReq: false, policy: undefined });
    expect(parsed.digest).toEqual(digest);
  });

  it('requests a TSA must refuse: trailing bytes, wrong version', () => {
    const good = buildTimeStampRequest({ digest, nonce: 1n });
    expect(() => parseTimeStampRequest(new Uint8Array([...good, 0]))).toThrow(TimeStampRequestError);
    const v2 = new Uint8Array(good);
    v2[4] = 2; // SEQUENCE header (2), INTEGER header (2), version
    expect(() => parseTimeStampRequest(v2)).toThrow(/version must be 1/);
  });
});
