/**
 * Tokens made by core/timestamp (createTimeStampToken) checked both ways: by our verifier and by
 * OpenSSL 3 (`openssl ts -verify`), and tampered copies refused by both.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { EKU_TIME_STAMPING, readCertificate } from '../../../core/pki/index.js';
import { ecdsaRawToDer, sortSetOf } from '../../../core/timestamp/asn1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTimeStampRequest,
  createTimeStampToken,
  grantedResponse,
  parseTimeStampResponse,
  verifyTimeStampResponse,
  verifyTimeStampToken,
} from '../../../core/timestamp/index.js';
import { type OpensslDir, opensslDir, pem, type TestPki, testPki, tsaCertificate } from './helpers.js';

const POLICY = '1.3.6.1.4.1.99999.3161.1';
let pki: TestPki;
let ssl: OpensslDir;

beforeAll(async () => {
  pki = await testPki();
  ssl = opensslDir();
  ssl.write('root.pem', pem(pki.root));
  ssl.write('tsa.pem', pem(pki.tsa));
});
afterAll(() => ssl.remove());

const digestOf = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

async function token(opts: { digest: Uint8Array; nonce?: bigint; includeCertificate?: boolean; certificate?: string; key?: CryptoKey; serial?: bigint }) {
  return createTimeStampToken({
    digest: opts.digest,
    serialNumber: opts.serial ?? 1n,
    genTime: new Date(),
    policy: POLICY,
    ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}),
    accuracy: { seconds: 1 },
    certificate: opts.certificate ?? pki.tsa,
    includeCertificate: opts.includeCertificate ?? true,
    privateKey: opts.key ?? pki.tsaKeys.privateKey,
  });
}

/** openssl ts -verify of a reply against a query (the query carries imprint and nonce). */
function opensslVerify(name: string, response: Uint8Array, query: Uint8Array, untrusted = false) {
  ssl.write(`${name}.tsr`, response);
  ssl.write(`${name}.tsq`, query);
  return ssl.run(['ts', '-verify', '-in', `${name}.tsr`, '-queryfile', `${name}.tsq`, '-CAfile', 'root.pem', ...(untrusted ? ['-untrusted', 'tsa.pem'] : [])]);
}

describe('a token made by core/timestamp', () => {
  it('is accepted by OpenSSL 3 and by our verifier, with the nonce, a positive serial and millisecond genTime', async () => {
    const digest = await digestOf('order 1');
    const nonce = 0x8123456789abcdefn; // top bit set: the INTEGER needs a leading zero
    const query = buildTimeStampRequest({ digest, nonce });
    const t = await token({ digest, nonce, serial: 0x80n });
    const resp = grantedResponse(t);
    const v = opensslVerify('ok', resp, query);
    expect(v.out).toContain('Verification: OK');
    const text = ssl.run(['ts', '-reply', '-in', 'ok.tsr', '-text']).out;
    expect(text).toMatch(/Nonce: 0x8123456789ABCDEF/i);
    expect(text).toMatch(/Serial number: 0x80/);
    expect(text).toContain(`Policy OID: ${POLICY}`);
    const ok = await verifyTimeStampResponse(resp, { digest, nonce, roots: [pki.root] });
    expect(ok.serialNumber).toBe(0x80n);
    expect(ok.nonce).toBe(nonce);
    expect(ok.policy).toBe(POLICY);
    expect(ok.tsa.role).toBe('tsa');
    expect(ok.certificateIncluded).toBe(true);
    expect(ok.token).toEqual(t);
    // Verifying reads the token without changing it (pkijs re-tags the signed attributes in its own copy).
    const copy = new Uint8Array(t);
    await verifyTimeStampToken(t, { digest, roots: [pki.root] });
    expect(t).toEqual(copy);
  });

  it('without the certificate (certReq false) verifies only when the caller supplies it', async () => {
    const digest = await digestOf('order 2');
    const query = buildTimeStampRequest({ digest, nonce: 7n, certReq: false });
    const t = await token({ digest, nonce: 7n, includeCertificate: false });
    const resp = grantedResponse(t);
    expect(opensslVerify('nocert', resp, query, true).out).toContain('Verification: OK');
    expect(opensslVerify('nocert2', resp, query, false).ok).toBe(false);
    await expect(verifyTimeStampToken(t, { digest, roots: [pki.root] })).rejects.toThrow(/neither in the token nor given/);
    const ok = await verifyTimeStampToken(t, { digest, roots: [pki.root], certificates: [pki.tsa] });
    expect(ok.certificateIncluded).toBe(false);
  });
});

function flip(bytes: Uint8Array, at: number, mask: number): void {
  bytes[at] = bytes[at]! ^ mask;
}

/** Find `needle` in `hay` (first occurrence). */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('tampered tokens are refused by our verifier and by OpenSSL', () => {
  let digest: Uint8Array;
  let query: Uint8Array;
  let good: Uint8Array;
  const nonce = 42n;

  beforeAll(async () => {
    digest = await digestOf('verdict');
    query = buildTimeStampRequest({ digest, nonce });
    good = await token({ digest, nonce });
  });

  async function bothRefuse(name: string, bad: Uint8Array, expected: RegExp, q = query) {
    expect(opensslVerify(name, grantedResponse(bad), q).ok).toBe(false);
    await expect(verifyTimeStampToken(bad, { digest, nonce, roots: [pki.root] })).rejects.toThrow(expected);
  }

  it('a byte flipped in the TSTInfo (its policy OID)', async () => {
    const bad = new Uint8Array(good);
    // The policy OID sits in the TSTInfo only: change its last arc.
    const oid = new Uint8Array(new asn1js.ObjectIdentifier({ value: POLICY }).toBER());
    const at = indexOf(bad, oid);
    expect(at).toBeGreaterThan(0);
    flip(bad, at + oid.length - 1, 0x02);
    await bothRefuse('tst', bad, /messageDigest is not the SHA-256 of the TSTInfo/);
  });

  it('a byte flipped in the signed attributes (a digit of signingTime: only the signature can tell)', async () => {
    const bad = new Uint8Array(good);
    const at = indexOf(bad, Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05)); // id-signingTime
    expect(at).toBeGreaterThan(0);
    // OID (11 bytes), SET header (2), UTCTime header (2), then "YYMMDD...": the year's tens digit.
    flip(bad, at + 11 + 2 + 2, 0x01);
    await bothRefuse('attr', bad, /signature over the signed attributes does not verify/);
  });

  it('a byte flipped in the messageDigest attribute', async () => {
    const bad = new Uint8Array(good);
    const at = indexOf(bad, Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04)); // id-messageDigest
    expect(at).toBeGreaterThan(0);
    flip(bad, at + 11 + 2 + 2 + 5, 0x01); // inside the SET { OCTET STRING }
    await bothRefuse('md', bad, /messageDigest is not the SHA-256/);
  });

  it('a byte flipped in the signature', async () => {
    const bad = new Uint8Array(good);
    flip(bad, bad.length - 3, 0x01); // the signature OCTET STRING ends the token
    await bothRefuse('sig', bad, /signature over the signed attributes does not verify|ECDSA-Sig-Value/);
  });

  it('another certificate swapped in (same issuer and serial, other key): signingCertificateV2 tells', async () => {
    const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const impostor = await tsaCertificate(pki, other.publicKey, { serialNumber: (await readCertificate(pki.tsa)).serialNumber });
    // 1. Given by the caller (certReq false): our verifier, and OpenSSL with it as the untrusted signer.
    const bare = await token({ digest, nonce, includeCertificate: false });
    await expect(verifyTimeStampToken(bare, { digest, nonce, roots: [pki.root], certificates: [impostor] })).rejects.toThrow(
      /certHash is not the SHA-256 of the signer's certificate/,
    );
    ssl.write('impostor.pem', pem(impostor));
    ssl.write('swap.tsr', grantedResponse(bare));
    ssl.write('swap.tsq', query);
    expect(ssl.run(['ts', '-verify', '-in', 'swap.tsr', '-queryfile', 'swap.tsq', '-CAfile', 'root.pem', '-untrusted', 'impostor.pem']).ok).toBe(false);
    // 2. Put into the token's certificates in place of the real one.
    const data = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(bare).content });
    data.certificates = [pkijs.Certificate.fromBER(Buffer.from(impostor, 'base64'))];
    const swapped = new Uint8Array(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: data.toSchema(true) }).toSchema().toBER());
    await bothRefuse('swapin', swapped, /certHash is not the SHA-256 of the signer's certificate/);
  });

  it('a token signed by a key its certificate does not certify', async () => {
    const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await bothRefuse('wrongkey', await token({ digest, nonce, key: other.privateKey }), /does not verify/);
  });

  it('a wrong digest', async () => {
    const otherDigest = await digestOf('not the verdict');
    await expect(verifyTimeStampToken(good, { digest: otherDigest, nonce, roots: [pki.root] })).rejects.toThrow(/messageImprint differs from the digest/);
    expect(opensslVerify('digest', grantedResponse(good), buildTimeStampRequest({ digest: otherDigest, nonce })).ok).toBe(false);
  });

  it('a wrong nonce', async () => {
    await expect(verifyTimeStampToken(good, { digest, nonce: 43n, roots: [pki.root] })).rejects.toThrow(/nonce differs/);
    expect(opensslVerify('nonce', grantedResponse(good), buildTimeStampRequest({ digest, nonce: 43n })).ok).toBe(false);
  });

  it('a TSA certificate without extendedKeyUsage timeStamping', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const noEku = await tsaCertificate(pki, keys.publicKey, { tsaEku: [] });
    await bothRefuse('noeku', await token({ digest, nonce, certificate: noEku, key: keys.privateKey }), /extendedKeyUsage/);
  });

  it('a TSA certificate whose critical extendedKeyUsage names more than timeStamping', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const wide = await tsaCertificate(pki, keys.publicKey, { tsaEku: [EKU_TIME_STAMPING, '1.3.6.1.5.5.7.3.3'] });
    await bothRefuse('wideeku', await token({ digest, nonce, certificate: wide, key: keys.privateKey }), /exactly id-kp-timeStamping/);
  });

  /** The good token with its signed attributes changed by `mutate` and re-signed with the TSA's own key. */
  async function resigned(mutate: (attribute: pkijs.Attribute) => pkijs.Attribute): Promise<Uint8Array> {
    const data = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(new Uint8Array(good)).content });
    const signer = data.signerInfos[0]!;
    const sorted = sortSetOf(signer.signedAttrs!.attributes.map(mutate), (a) => new Uint8Array(a.toSchema().toBER()));
    const set = new Uint8Array(new asn1js.Set({ value: sorted.map((a) => a.toSchema()) }).toBER());
    const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pki.tsaKeys.privateKey, set));
    signer.signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: sorted });
    signer.signature = new asn1js.OctetString({ valueHex: ecdsaRawToDer(raw) });
    return new Uint8Array(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: data.toSchema(true) }).toSchema().toBER());
  }

  /** A signingCertificateV2 value with the right certHash and the given issuerSerial serial / explicit hash algorithm. */
  async function essValue(options: { serial?: Uint8Array; hashAlgorithm?: string }): Promise<asn1js.Sequence> {
    const cert = pkijs.Certificate.fromBER(Buffer.from(pki.tsa, 'base64'));
    const certHash = new Uint8Array(
      await crypto.subtle.digest(options.hashAlgorithm === '1.3.14.3.2.26' ? 'SHA-1' : 'SHA-256', Buffer.from(pki.tsa, 'base64')),
    );
    const id = new asn1js.Sequence({
      value: [
        ...(options.hashAlgorithm ? [new pkijs.AlgorithmIdentifier({ algorithmId: options.hashAlgorithm }).toSchema()] : []),
        new asn1js.OctetString({ valueHex: certHash }),
        new asn1js.Sequence({
          value: [
            new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.issuer.toSchema()] })] }),
            new asn1js.Integer({ valueHex: options.serial ?? new Uint8Array(cert.serialNumber.valueBlock.valueHexView) }),
          ],
        }),
      ],
    });
    return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [id] })] });
  }

  const ESS = '1.2.840.113549.1.9.16.2.47';

  it('signed attributes re-signed by the TSA key with a wrong contentType (id-data): ours refuses, OpenSSL 3.0 does not', async () => {
    const bad = await resigned((a) =>
      a.type === '1.2.840.113549.1.9.3' ? new pkijs.Attribute({ type: a.type, values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })] }) : a,
    );
    await expect(verifyTimeStampToken(bad, { digest, nonce, roots: [pki.root] })).rejects.toThrow(/contentType must be id-ct-TSTInfo/);
    // OpenSSL 3.0 does not look at the contentType attribute (measured): it accepts this token.
    expect(opensslVerify('ctype', grantedResponse(bad), query).out).toContain('Verification: OK');
  });

  it('signingCertificateV2 re-signed with the right certHash but another serial in issuerSerial', async () => {
    const value = await essValue({ serial: Uint8Array.of(0x01, 0x02, 0x03) });
    const bad = await resigned((a) => (a.type === ESS ? new pkijs.Attribute({ type: ESS, values: [value] }) : a));
    await bothRefuse('essserial', bad, /issuerSerial.serialNumber is not the signer certificate's serial/);
  });

  it('signingCertificateV2 re-signed with a SHA-1 certHash (explicit hashAlgorithm)', async () => {
    const value = await essValue({ hashAlgorithm: '1.3.14.3.2.26' });
    const bad = await resigned((a) => (a.type === ESS ? new pkijs.Attribute({ type: ESS, values: [value] }) : a));
    await expect(verifyTimeStampToken(bad, { digest, nonce, roots: [pki.root] })).rejects.toThrow(/hash algorithm 1.3.14.3.2.26 is not SHA-256/);
  });

  it('a second SignerInfo', async () => {
    const data = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(new Uint8Array(good)).content });
    data.signerInfos.push(new pkijs.SignerInfo({ schema: data.signerInfos[0]!.toSchema() }));
    const bad = new Uint8Array(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: data.toSchema(true) }).toSchema().toBER());
    await bothRefuse('twosigners', bad, /exactly one SignerInfo/);
  });

  it('a certificate from an untrusted root', async () => {
    const stranger = await testPki();
    await bothRefuse('stranger', await token({ digest, nonce, certificate: stranger.tsa, key: stranger.tsaKeys.privateKey }), /no trusted root/);
  });

  it('a rejection reply is not a token', async () => {
    const { rejectionResponse } = await import('../../../core/timestamp/index.js');
    const r = rejectionResponse('badAlg', 'SHA-256 only');
    expect(parseTimeStampResponse(r)).toMatchObject({ status: 2, failures: ['badAlg'], token: undefined });
    await expect(verifyTimeStampResponse(r, { digest, roots: [pki.root] })).rejects.toMatchObject({ code: 'ERR_TIMESTAMP_REFUSED' });
  });
});
