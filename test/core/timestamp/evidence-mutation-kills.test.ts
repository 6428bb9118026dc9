/**
 * Time-stamp checks that no other test fails without (test/mutation/evidence.ts): each an
 * attacker's token, reply or request — unsigned SignedData fields relabelled, signed attributes
 * re-signed with the TSA's own key, a TSTInfo the TSA signed with a wrong field, a certificate for
 * other uses, a token carrying its own root, a rejection with a token, a replayed reply — refused.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../../core/crypto/index.js';
import { EKU_TIME_STAMPING } from '../../../core/pki/index.js';
import { ecdsaRawToDer, positiveInteger, sortSetOf } from '../../../core/timestamp/asn1.js';
import {
  buildTimeStampRequest,
  createTimeStampToken,
  grantedResponse,
  parseTimeStampRequest,
  requestTimestamp,
  signTstInfo,
  TIMESTAMP_REPLY_TYPE,
  TimeStampRequestError,
  verifyTimeStampResponse,
  verifyTimeStampToken,
} from '../../../core/timestamp/index.js';
import { type TestPki, testPki } from './helpers.js';

const POLICY = '1.3.6.1.4.1.99999.3161.1';
const SHA256 = '2.16.840.1.101.3.4.2.1';
const SHA512 = '2.16.840.1.101.3.4.2.3';
const CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ESS = '1.2.840.113549.1.9.16.2.47';
const nonce = 77n;
let pki: TestPki;
let digest: Uint8Array<ArrayBuffer>;
let good: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  pki = await testPki();
  digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('the deal')));
  good = await createTimeStampToken({
    digest,
    serialNumber: 5n,
    genTime: new Date(),
    policy: POLICY,
    nonce,
    certificate: pki.tsa,
    includeCertificate: true,
    privateKey: pki.tsaKeys.privateKey,
  });
});

const verifyGood = (token: Uint8Array) => verifyTimeStampToken(token, { digest, nonce, roots: [pki.root] });

function signedDataOf(token: Uint8Array): pkijs.SignedData {
  return new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(new Uint8Array(token)).content });
}

function encode(data: pkijs.SignedData): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: data.toSchema(true) }).toSchema().toBER());
}

/** `bytes` with the first occurrence of `from` replaced by `to` (same length). */
function patched(bytes: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  outer: for (let i = 0; i + from.length <= out.length; i++) {
    for (let j = 0; j < from.length; j++) if (out[i + j] !== from[j]) continue outer;
    out.set(to, i);
    return out;
  }
  throw new Error('pattern not found');
}

/** The good token with unsigned SignedData fields changed: the TSA's signature still verifies. */
function relabelled(change: (data: pkijs.SignedData) => void): Uint8Array<ArrayBuffer> {
  const data = signedDataOf(good);
  change(data);
  return encode(data);
}

/** The good token with its signed attributes changed and re-signed with the TSA's own key. */
async function resigned(change: (attributes: pkijs.Attribute[]) => pkijs.Attribute[]): Promise<Uint8Array<ArrayBuffer>> {
  const data = signedDataOf(good);
  const signer = data.signerInfos[0]!;
  const sorted = sortSetOf(change(signer.signedAttrs!.attributes), (a) => new Uint8Array(a.toSchema().toBER()));
  const set = new Uint8Array(new asn1js.Set({ value: sorted.map((a) => a.toSchema()) }).toBER());
  const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pki.tsaKeys.privateKey, set));
  signer.signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: sorted });
  signer.signature = new asn1js.OctetString({ valueHex: ecdsaRawToDer(raw) });
  return encode(data);
}

/** A TSTInfo with the given fields, signed by the TSA's key and certificate. */
function tstSigned(fields: Partial<ConstructorParameters<typeof pkijs.TSTInfo>[0]>, certificate = pki.tsa, key = pki.tsaKeys.privateKey) {
  const info = new pkijs.TSTInfo({
    version: 1,
    policy: POLICY,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: digest }),
    }),
    serialNumber: new asn1js.Integer({ value: 1 }),
    genTime: new Date(),
    nonce: positiveInteger(nonce),
    ...fields,
  });
  return signTstInfo({ tstInfo: new Uint8Array(info.toSchema().toBER()), genTime: new Date(), certificate, includeCertificate: true, privateKey: key });
}

describe('unsigned SignedData fields relabelled by an attacker (the TSA signature still verifies)', () => {
  it('the untouched token verifies (the baseline)', async () => {
    await expect(verifyGood(good)).resolves.toMatchObject({ policy: POLICY });
    await expect(verifyGood(relabelled(() => {}))).resolves.toMatchObject({ policy: POLICY });
  });

  // pkijs recomputes the SignedData version when it encodes: these two edit the DER bytes themselves.
  it('SignedData version 1', async () => {
    const bad = patched(good, Uint8Array.of(0x02, 0x01, 0x03), Uint8Array.of(0x02, 0x01, 0x01));
    await expect(verifyGood(bad)).rejects.toThrow(/SignedData over id-ct-TSTInfo has version 3, not 1/);
  });

  it('eContentType another id-ct type than TSTInfo: the TSA signed a TSTInfo, not that', async () => {
    // The first id-ct-TSTInfo in the token is the eContentType (the signed contentType attribute comes after the content).
    const tstInfoOid = Uint8Array.of(0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04);
    const bad = patched(good, tstInfoOid, Uint8Array.of(...tstInfoOid.subarray(0, 12), 0x09));
    await expect(verifyGood(bad)).rejects.toThrow(/eContentType must be id-ct-TSTInfo/);
  });

  it('digestAlgorithm relabelled SHA-1', async () => {
    const bad = relabelled((d) => (d.signerInfos[0]!.digestAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: '1.3.14.3.2.26' })));
    await expect(verifyGood(bad)).rejects.toThrow(/digestAlgorithm 1.3.14.3.2.26 is not SHA-256/);
  });

  it('signatureAlgorithm relabelled ecdsa-with-SHA384', async () => {
    const bad = relabelled((d) => (d.signerInfos[0]!.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.3' })));
    await expect(verifyGood(bad)).rejects.toThrow(/signatureAlgorithm 1.2.840.10045.4.3.3 is not ecdsa-with-SHA256/);
  });

  it("a token carrying its own root: the TSA certificate chains to the caller's roots, not to one the token brings", async () => {
    const rogue = await testPki();
    const token = await createTimeStampToken({
      digest,
      serialNumber: 9n,
      genTime: new Date(),
      policy: POLICY,
      nonce,
      certificate: rogue.tsa,
      includeCertificate: true,
      privateKey: rogue.tsaKeys.privateKey,
    });
    const data = signedDataOf(token);
    data.certificates = [...(data.certificates ?? []), pkijs.Certificate.fromBER(Buffer.from(rogue.root, 'base64'))];
    await expect(verifyGood(encode(data))).rejects.toThrow(/no trusted root|not trusted|untrusted/i);
    // The same token verifies for whoever does trust that root: only the roots differ.
    await expect(verifyTimeStampToken(encode(data), { digest, nonce, roots: [rogue.root] })).resolves.toMatchObject({ serialNumber: 9n });
  });
});

describe('signed attributes re-signed with the TSA key', () => {
  it('a second contentType attribute (RFC 5652 §11: once, with one value)', async () => {
    const bad = await resigned((attrs) => [
      ...attrs,
      new pkijs.Attribute({ type: CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.9.16.1.4' })] }),
    ]);
    await expect(verifyGood(bad)).rejects.toThrow(/contentType must occur once with one value/);
  });

  it("signingCertificateV2 whose issuerSerial names another issuer (the TSA's own subject)", async () => {
    const cert = pkijs.Certificate.fromBER(Buffer.from(pki.tsa, 'base64'));
    const certHash = new Uint8Array(await crypto.subtle.digest('SHA-256', Buffer.from(pki.tsa, 'base64')));
    const id = new asn1js.Sequence({
      value: [
        new asn1js.OctetString({ valueHex: certHash }),
        new asn1js.Sequence({
          value: [
            new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.subject.toSchema()] })] }),
            new asn1js.Integer({ valueHex: new Uint8Array(cert.serialNumber.valueBlock.valueHexView) }),
          ],
        }),
      ],
    });
    const value = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [id] })] });
    const bad = await resigned((attrs) => attrs.map((a) => (a.type === ESS ? new pkijs.Attribute({ type: ESS, values: [value] }) : a)));
    await expect(verifyGood(bad)).rejects.toThrow(/issuerSerial.issuer does not name the signer certificate's issuer/);
  });
});

describe('TSTInfo fields the TSA signed wrong', () => {
  it('TSTInfo version 2', async () => {
    await expect(verifyGood(await tstSigned({ version: 2 }))).rejects.toThrow(/TSTInfo version must be 1, not 2/);
  });

  it('a SHA-512-labelled imprint whose bytes are this SHA-256 digest: not a token over this digest', async () => {
    const imprint = new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA512 }),
      hashedMessage: new asn1js.OctetString({ valueHex: digest }),
    });
    await expect(verifyGood(await tstSigned({ messageImprint: imprint }))).rejects.toThrow(/messageImprint is not a SHA-256 imprint/);
  });
});

describe('the TSA certificate', () => {
  it('a keyUsage beyond signing (keyEncipherment) on a timeStamping certificate of role tsa', async () => {
    const keys = await generateKeyPair('ES256');
    const root = new x509.X509Certificate(pki.root);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '0a1b2c3d',
      subject: new x509.X509Certificate(pki.tsa).subjectName,
      issuer: root.subjectName,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 30 * 86400_000),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: keys.publicKey,
      signingKey: pki.rootKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([EKU_TIME_STAMPING], true),
      ],
    });
    const der = Buffer.from(cert.rawData).toString('base64');
    const token = await createTimeStampToken({
      digest,
      serialNumber: 3n,
      genTime: new Date(),
      policy: POLICY,
      nonce,
      certificate: der,
      includeCertificate: true,
      privateKey: keys.privateKey,
    });
    await expect(verifyGood(token)).rejects.toThrow(/keyUsage must be digitalSignature and\/or nonRepudiation only/);
  });
});

describe('replies', () => {
  it('a rejection that carries a valid token anyway is a refusal, not a time stamp', async () => {
    const asn = asn1js.fromBER(new Uint8Array(good)).result;
    const response = new pkijs.TimeStampResp({
      status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.rejection }),
      timeStampToken: new pkijs.ContentInfo({ schema: asn }),
    });
    const bytes = new Uint8Array(response.toSchema().toBER());
    await expect(verifyTimeStampResponse(bytes, { digest, nonce, roots: [pki.root] })).rejects.toMatchObject({ code: 'ERR_TIMESTAMP_REFUSED' });
  });

  const answer = (body: Uint8Array<ArrayBuffer>) => async () => new Response(body, { headers: { 'content-type': TIMESTAMP_REPLY_TYPE } });

  it("the client refuses an older token for the same digest (another nonce) replayed in place of the TSA's answer", async () => {
    const replayed = grantedResponse(good); // nonce 77
    await expect(requestTimestamp(answer(replayed), 'https://tsa.test/tsa', digest, 78n, { roots: [pki.root] })).rejects.toThrow(/nonce differs/);
    await expect(requestTimestamp(answer(replayed), 'https://tsa.test/tsa', digest, nonce, { roots: [pki.root] })).resolves.toMatchObject({
      nonce,
    });
  });

  it('the client refuses a token issued under another policy than the one it asked for', async () => {
    const reply = grantedResponse(good);
    await expect(
      requestTimestamp(answer(reply), 'https://tsa.test/tsa', digest, nonce, { roots: [pki.root], policy: '1.3.6.1.4.1.99999.3161.2' }),
    ).rejects.toThrow(/issued under policy 1.3.6.1.4.1.99999.3161.1, not the requested 1.3.6.1.4.1.99999.3161.2/);
    await expect(requestTimestamp(answer(reply), 'https://tsa.test/tsa', digest, nonce, { roots: [pki.root], policy: POLICY })).resolves.toMatchObject({
      policy: POLICY,
    });
  });

  it('the client refuses a reply over 64 KiB before reading it', async () => {
    const big = new Uint8Array(64 * 1024 + 1);
    await expect(requestTimestamp(answer(big), 'https://tsa.test/tsa', digest, nonce, { roots: [pki.root] })).rejects.toThrow(/larger than 65536 bytes/);
  });
});

describe('requests a TSA refuses', () => {
  function request(fields: Partial<ConstructorParameters<typeof pkijs.TimeStampReq>[0]>, params?: asn1js.AsnType, bytes: Uint8Array = digest) {
    return new Uint8Array(
      new pkijs.TimeStampReq({
        version: 1,
        messageImprint: new pkijs.MessageImprint({
          hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256, ...(params ? { algorithmParams: params } : {}) }),
          hashedMessage: new asn1js.OctetString({ valueHex: new Uint8Array(bytes) }),
        }),
        certReq: true,
        ...fields,
      })
        .toSchema()
        .toBER(),
    );
  }

  function failure(bytes: Uint8Array): string | undefined {
    try {
      parseTimeStampRequest(bytes);
      return undefined;
    } catch (e) {
      return e instanceof TimeStampRequestError ? e.failure : 'other';
    }
  }

  it('the baseline request is read', () => {
    expect(failure(request({}))).toBeUndefined();
    expect(parseTimeStampRequest(buildTimeStampRequest({ digest, nonce })).nonce).toBe(nonce);
  });

  it('SHA-256 with parameters other than NULL (badAlg)', () => {
    expect(failure(request({}, new asn1js.Integer({ value: 5 })))).toBe('badAlg');
    expect(failure(request({}, new asn1js.Null()))).toBeUndefined();
  });

  it('a SHA-256 imprint of 20 bytes (badDataFormat)', () => {
    expect(failure(request({}, undefined, digest.subarray(0, 20)))).toBe('badDataFormat');
  });

  it('a request with an extension (unacceptedExtension)', () => {
    const extension = new pkijs.Extension({ extnID: '1.3.6.1.4.1.99999.1', critical: false, extnValue: new asn1js.Null().toBER() });
    expect(failure(request({ extensions: [extension] }))).toBe('unacceptedExtension');
  });

  it('a nonce longer than 256 bits (badRequest)', () => {
    const long = new Uint8Array(33).fill(0x11);
    expect(failure(request({ nonce: new asn1js.Integer({ valueHex: long }) }))).toBe('badRequest');
    expect(failure(request({ nonce: new asn1js.Integer({ valueHex: long.subarray(0, 32) }) }))).toBeUndefined();
  });
});
