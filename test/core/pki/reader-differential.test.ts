/**
 * The certificate and CRL reader over @peculiar/asn1-x509 (core/pki/asn1.ts, certificates.ts,
 * crl.ts) against the @peculiar/x509 code it replaced (./x509-oracle.ts, copied from before the
 * change): for generated certificates, chains and CRLs — odd names, serials, key types, signature
 * algorithms, extensions (unknown critical ones, duplicates, malformed ones), validity periods,
 * wrong roles and signers — each unmangled and with bytes flipped, cut or appended, both must give
 * the same result or the same error (code and CRL check).
 *
 * Where they may differ, and only in the stricter direction: the old code threw a library error
 * (not a SemperError) where the new one names the rule; and the new one refuses what the old took
 * for one of the reasons `stricter()` finds (bytes after the DER value or an indefinite length, a
 * signature algorithm other than ecdsa-with-SHA256 or Ed25519, an ECDSA signature value not in
 * strict DER). Nothing the old code refused may be accepted.
 */
import 'reflect-metadata';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CertificateList, TBSCertList } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../../../core/crypto/ecdsa-der.js';
import { generateKeyPair } from '../../../core/crypto/index.js';
import { encodeBase64 } from '../../../core/encoding/index.js';
import { SemperError } from '../../../core/errors.js';
import {
  certificateExtensionRefusal,
  readCertificate,
  selfSignatureVerifies,
  validateChain,
  type CertificateInfo,
  certificateToPem,
} from '../../../core/pki/certificates.js';
import { verifyCrl, type VerifiedCrl } from '../../../core/pki/crl.js';
import { createCertificationRequest } from '../../../core/pki/csr.js';
import { verifyCertificationRequest } from '../../../core/pki/issue.js';
import { oldReadCertificate, oldValidateChain, oldVerifyCrl } from './x509-oracle.js';

const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2026, 5, 1, 12));
const RUNS = Number(process.env.PKI_DIFF_RUNS ?? 120);

type KeyName = 'p256a' | 'p256b' | 'ed25519' | 'p384';
let keys: Record<KeyName, CryptoKeyPair>;
let roots: { p256: { der: string; cert: x509.X509Certificate }; ed: { der: string; cert: x509.X509Certificate } };

async function selfSigned(pair: CryptoKeyPair, alg: Algorithm | EcdsaParams, name: string, extensions: x509.Extension[]) {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name,
    notBefore: new Date(NOW.getTime() - 10 * DAY),
    notAfter: new Date(NOW.getTime() + 400 * DAY),
    signingAlgorithm: alg,
    keys: pair,
    extensions,
  });
  return { der: encodeBase64(new Uint8Array(cert.rawData)), cert };
}

const caExtensions = async (pair: CryptoKeyPair) => [
  new x509.BasicConstraintsExtension(true, 1, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  await x509.SubjectKeyIdentifierExtension.create(pair.publicKey),
];

beforeAll(async () => {
  const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  keys = { p256a: await generateKeyPair('ES256', true), p256b: await generateKeyPair('ES256', true), ed25519: await generateKeyPair('EdDSA', true), p384 };
  roots = {
    p256: await selfSigned(keys.p256a, ES256, 'CN=Diff Root, O=Semper Test, OU=semper-ca', await caExtensions(keys.p256a)),
    ed: await selfSigned(keys.ed25519, { name: 'Ed25519' }, 'CN=Diff Ed Root, OU=semper-ca', await caExtensions(keys.ed25519)),
  };
});

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
const SIGNING = { ES256, ES384: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams, EdDSA: { name: 'Ed25519' } };

// ---- outcomes ----------------------------------------------------------------------------------

type Outcome = { ok: unknown } | { error: string; semper: boolean };

async function outcome<T>(f: () => Promise<T>, normalise: (t: T) => unknown): Promise<Outcome> {
  try {
    return { ok: normalise(await f()) };
  } catch (e) {
    if (e instanceof SemperError) return { error: `${e.code}${e.details?.check ? `/${String(e.details.check)}` : ''}`, semper: true };
    return { error: e instanceof Error ? e.message : String(e), semper: false };
  }
}

const info = (i: CertificateInfo) => ({ ...i, notBefore: i.notBefore.getTime(), notAfter: i.notAfter.getTime() });
const chainResult = (r: { path: CertificateInfo[] }) => r.path.map(info);
const crlResult = (r: VerifiedCrl) => ({
  ...r,
  revokedSerials: [...r.revokedSerials].sort(),
  thisUpdate: r.thisUpdate.getTime(),
  nextUpdate: r.nextUpdate.getTime(),
});

/** Why the new reader may refuse what the old one took (see the file's comment), or undefined. */
function stricter(ders: readonly Uint8Array[]): string | undefined {
  for (const der of ders) {
    const first = der[1] ?? 0;
    const n = first > 0x80 ? first & 0x7f : 0;
    let length = first < 0x80 ? first : 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[2 + i]!;
    if (first === 0x80 || 2 + n + length !== der.length) return 'not exactly one definite-length DER value';
    let sigAlg: string;
    let signature: ArrayBuffer;
    try {
      const cert = AsnConvert.parse(der, Certificate);
      sigAlg = cert.signatureAlgorithm.algorithm;
      signature = cert.signatureValue;
      const extensions = certificateExtensionRefusal(cert.tbsCertificate.extensions);
      if (extensions) return extensions;
    } catch {
      try {
        const crl = AsnConvert.parse(der, CertificateList);
        sigAlg = crl.signatureAlgorithm.algorithm;
        signature = crl.signature;
      } catch {
        continue;
      }
    }
    if (sigAlg !== '1.2.840.10045.4.3.2' && sigAlg !== '1.3.101.112') return `signature algorithm ${sigAlg}`;
    if (sigAlg === '1.2.840.10045.4.3.2') {
      try {
        ecdsaDerToRaw(new Uint8Array(signature));
      } catch {
        return 'ECDSA signature value not strict DER';
      }
    }
  }
  return undefined;
}

function expectSame(before: Outcome, after: Outcome, ders: readonly Uint8Array[], what: string): void {
  if ('ok' in before && 'ok' in after) {
    expect(after.ok, what).toEqual(before.ok);
  } else if ('error' in before && 'error' in after) {
    if (!after.semper) expect.fail(`${what}: not a SemperError: ${after.error}`);
    // the old error, unless the new reader stopped earlier for a stricter rule
    if (before.semper && after.error !== before.error)
      expect(stricter(ders), `${what}: ${after.error} where the old reader said ${before.error}`).toBeDefined();
  } else if ('ok' in before) {
    expect(stricter(ders), `${what}: refused (${'error' in after ? after.error : ''}) what the old reader accepted`).toBeDefined();
  } else {
    expect.fail(`${what}: accepted what the old reader refused (${before.error})`);
  }
}

// ---- generated certificates --------------------------------------------------------------------

const nameText = fc.oneof(
  fc.constantFrom('Shop', 'Alice GmbH', 'a,b', 'x+y', 'q"uote', 'back\\slash', ' lead', 'trail ', '#hash', 'semi;colon', 'Müller & Söhne', '日本', 'tab\tin'),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const ou = fc.constantFrom('semper-merchant', 'semper-ttp', 'semper-shopper', 'semper-tsa', 'semper-ca', 'semper-nobody', 'Sales');

const sanName = fc.oneof(
  fc.constantFrom('https://shop.example', 'http://127.0.0.1:8080', 'https://a.example/path', 'not a url').map((value) => ({ type: 'url' as const, value })),
  fc.constantFrom('shop.example').map((value) => ({ type: 'dns' as const, value })),
  fc.constantFrom('a@shop.example').map((value) => ({ type: 'email' as const, value })),
  fc.constantFrom('10.0.0.1').map((value) => ({ type: 'ip' as const, value })),
  fc.constantFrom('8ee6a3f0-4b27-4f6b-9c5b-1f0c8b8d5e11').map((value) => ({ type: 'guid' as const, value })),
  fc.constantFrom('user@realm').map((value) => ({ type: 'upn' as const, value })),
);

/** `value` about one time in `rarity`, else undefined: most generated certificates are well formed. */
const sometimes = <T>(value: fc.Arbitrary<T>, rarity = 4) =>
  fc.oneof({ weight: rarity - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
const rarely = <T>(value: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });

const certSpec = fc.record({
  key: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<KeyName>('p256a', 'p256b', 'ed25519') }, { weight: 1, arbitrary: fc.constant<KeyName>('p384') }),
  cn: fc.option(nameText, { nil: undefined }),
  o: fc.option(nameText, { nil: undefined }),
  ous: fc.array(ou, { maxLength: 2 }),
  multiValued: fc.boolean(),
  serial: fc.oneof(fc.constantFrom('00', '7f', '80', '00ff', 'ff', '0080'), fc.stringMatching(/^[0-9a-f]{2,40}$/)),
  notBefore: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -5, max: 0 }) }, { weight: 1, arbitrary: fc.integer({ min: -60, max: 5 }) }),
  lifetime: fc.integer({ min: 1, max: 60 }),
  bc: fc.oneof(
    { weight: 3, arbitrary: fc.record({ ca: fc.constant(true), critical: fc.constant(true) }) },
    { weight: 1, arbitrary: fc.option(fc.record({ ca: fc.boolean(), critical: fc.boolean() }), { nil: undefined }) },
  ),
  duplicateBc: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  ku: sometimes(fc.integer({ min: 1, max: 511 })),
  san: sometimes(fc.array(sanName, { maxLength: 3 }), 2),
  crlUrls: sometimes(fc.array(fc.constantFrom('https://ca.example/crl', 'http://ca.example/b.crl', 'ldap://x'), { maxLength: 2 })),
  eku: sometimes(fc.constantFrom(['1.3.6.1.5.5.7.3.8'], ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])),
  unknown: sometimes(fc.record({ critical: fc.boolean() })),
  malformedKnown: rarely(fc.constantFrom('2.5.29.17', '2.5.29.19', '2.5.29.15', '2.5.29.31', '2.5.29.14', '1.3.6.1.5.5.7.1.1')),
});
const signingAlg = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<keyof typeof SIGNING>('ES256', 'EdDSA') },
  { weight: 1, arbitrary: fc.constant<keyof typeof SIGNING>('ES384') },
);
type CertSpec = typeof certSpec extends fc.Arbitrary<infer T> ? T : never;

const mutation = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('signature' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }) },
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(der: Uint8Array, m: Mutation): Uint8Array {
  const out = Uint8Array.from(der);
  switch (m.kind) {
    case 'none':
      return out;
    case 'flip':
      out[m.at % out.length]! ^= m.xor;
      return out;
    case 'signature': {
      // somewhere in the last 72 bytes: the signature value and its header
      const i = out.length - 1 - (m.at % Math.min(72, out.length));
      out[i]! ^= m.xor;
      return out;
    }
    case 'cut':
      return out.subarray(0, m.at % out.length);
    case 'append':
      return Uint8Array.from([...out, ...m.bytes]);
  }
}

function jsonName(s: CertSpec): x509.JsonName {
  // The object form (which @peculiar/x509's types omit) writes the text as it is: its string form reads a
  // leading '#' as hex and strips quotes and backslashes.
  const v = (text: string): string => (/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text) ? { printableString: text } : { utf8String: text }) as unknown as string;
  const name: x509.JsonName = [];
  if (s.multiValued && s.cn !== undefined && s.o !== undefined) name.push({ CN: [v(s.cn)], O: [v(s.o)] });
  else {
    if (s.cn !== undefined) name.push({ CN: [v(s.cn)] });
    if (s.o !== undefined) name.push({ O: [v(s.o)] });
  }
  for (const ou of s.ous) name.push({ OU: [ou] });
  return name;
}

function knownMalformed(oid: string): x509.Extension {
  // The right extension type with a value that is not its ASN.1 (an INTEGER where a SEQUENCE or BIT STRING belongs).
  return new x509.Extension(oid, false, Uint8Array.of(0x02, 0x01, 0x05));
}

async function makeCert(s: CertSpec, issuer: { cert: x509.X509Certificate; keys: CryptoKeyPair }, signing: keyof typeof SIGNING): Promise<string> {
  const extensions: x509.Extension[] = [];
  if (s.bc) extensions.push(new x509.BasicConstraintsExtension(s.bc.ca, undefined, s.bc.critical));
  if (s.duplicateBc) extensions.push(new x509.BasicConstraintsExtension(!s.bc?.ca, undefined, false));
  if (s.ku !== undefined) extensions.push(new x509.KeyUsagesExtension(s.ku, true));
  if (s.san) extensions.push(new x509.SubjectAlternativeNameExtension(s.san));
  if (s.crlUrls) extensions.push(new x509.CRLDistributionPointsExtension(s.crlUrls));
  if (s.eku) extensions.push(new x509.ExtendedKeyUsageExtension([...s.eku], true));
  if (s.unknown) extensions.push(new x509.Extension('1.3.6.1.4.1.99999.1', s.unknown.critical, Uint8Array.of(0x05, 0x00)));
  if (s.malformedKnown) extensions.push(knownMalformed(s.malformedKnown));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys[s.key].publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: s.serial,
    subject: jsonName(s),
    issuer: issuer.cert.subjectName,
    notBefore: new Date(NOW.getTime() + s.notBefore * DAY),
    notAfter: new Date(NOW.getTime() + (s.notBefore + s.lifetime) * DAY),
    signingAlgorithm: SIGNING[signing],
    publicKey: keys[s.key].publicKey,
    signingKey: issuer.keys.privateKey,
    extensions,
  });
  return encodeBase64(new Uint8Array(cert.rawData));
}

const b64 = (bytes: Uint8Array) => encodeBase64(bytes);
const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

describe('certificate reader: new (asn1-x509) against old (@peculiar/x509)', () => {
  it('readCertificate: same CertificateInfo or the same error, for generated and mangled certificates', async () => {
    await fc.assert(
      fc.asyncProperty(certSpec, signingAlg, mutation, async (s, signing, m) => {
        const root = signing === 'EdDSA' ? { cert: roots.ed.cert, keys: keys.ed25519 } : { cert: roots.p256.cert, keys: keys.p256a };
        const der = mutate(bytesOf(await makeCert(s, root, signing)), m);
        if (der.length === 0) return;
        const text = b64(der);
        expectSame(await outcome(() => oldReadCertificate(text), info), await outcome(() => readCertificate(text), info), [der], 'readCertificate');
      }),
      { numRuns: RUNS },
    );
  });

  it('validateChain: same path or the same error, for generated one- and two-certificate chains (wrong roles, expired, wrong signer, mangled)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(certSpec, mutation), { minLength: 1, maxLength: 2 }),
        signingAlg,
        fc.constantFrom('p256', 'ed', 'both', 'both'),
        fc.boolean(),
        async (specs, signing, trusted, withRoot) => {
          // issued top-down: the last spec by the root, each earlier one by the next
          const rootKeys = signing === 'EdDSA' ? keys.ed25519 : keys.p256a;
          let issuer = { cert: signing === 'EdDSA' ? roots.ed.cert : roots.p256.cert, keys: rootKeys };
          const chain: Uint8Array[] = [];
          for (const [s, m] of [...specs].reverse()) {
            // the issuer's key decides: Ed25519 signs EdDSA, an ECDSA key ES256 (or ES384, which the new reader refuses)
            const alg = issuer.keys.privateKey.algorithm.name === 'Ed25519' ? 'EdDSA' : signing === 'EdDSA' ? 'ES256' : signing;
            const der = bytesOf(await makeCert(s, issuer, alg));
            chain.unshift(mutate(der, m));
            issuer = { cert: new x509.X509Certificate(der), keys: keys[s.key] };
          }
          if (chain.some((d) => d.length === 0)) return;
          const rootDers = trusted === 'both' ? [roots.p256.der, roots.ed.der] : [trusted === 'p256' ? roots.p256.der : roots.ed.der];
          const texts = chain.map(b64);
          if (withRoot) texts.push(signing === 'EdDSA' ? roots.ed.der : roots.p256.der);
          const options = { roots: rootDers, now: NOW };
          expectSame(
            await outcome(() => oldValidateChain(texts, options), chainResult),
            await outcome(() => validateChain(texts, options), chainResult),
            chain,
            'validateChain',
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the fixed cases: trailing bytes, an indefinite length and a non-DER signature value are refused (the old reader took them)', async () => {
    const good = await makeCert(
      {
        ...fc.sample(certSpec, { numRuns: 1, seed: 1 })[0]!,
        key: 'p256b',
        bc: { ca: false, critical: true },
        malformedKnown: undefined,
        notBefore: -1,
        lifetime: 10,
      },
      { cert: roots.p256.cert, keys: keys.p256a },
      'ES256',
    );
    const bytes = bytesOf(good);
    const trailing = b64(Uint8Array.from([...bytes, 0]));
    await expect(oldReadCertificate(trailing)).resolves.toBeDefined();
    await expect(readCertificate(trailing)).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    // the outer SEQUENCE with an indefinite length (BER): the same certificate, another fingerprint
    const header = bytes[1]! < 0x80 ? 2 : 2 + (bytes[1]! & 0x7f);
    const indefinite = b64(Uint8Array.from([0x30, 0x80, ...bytes.subarray(header), 0, 0]));
    await expect(oldReadCertificate(indefinite)).resolves.toBeDefined();
    await expect(readCertificate(indefinite)).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    // the same signature value with r padded by a superfluous zero octet (BER, not DER)
    const cert = AsnConvert.parse(bytes, Certificate);
    const sig = new Uint8Array(cert.signatureValue);
    const rLength = sig[3]!;
    const padded = Uint8Array.from([0x30, sig[1]! + 1, 0x02, rLength + 1, 0x00, ...sig.subarray(4)]);
    cert.signatureValue = padded.buffer;
    const reencoded = b64(new Uint8Array(AsnConvert.serialize(cert)));
    await expect(oldValidateChain([reencoded], { roots: [roots.p256.der], now: NOW })).resolves.toBeDefined();
    await expect(validateChain([reencoded], { roots: [roots.p256.der], now: NOW })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
  });

  it('PEM and the self-signature as @peculiar/x509 gave them', async () => {
    for (const root of [roots.p256, roots.ed]) {
      expect(certificateToPem(root.der)).toBe(root.cert.toString('pem'));
      expect(await selfSignatureVerifies(root.der)).toBe(await root.cert.verify({ signatureOnly: true }));
    }
    const leaf = await makeCert(
      { ...fc.sample(certSpec, { numRuns: 1, seed: 2 })[0]!, key: 'p256b', malformedKnown: undefined },
      { cert: roots.p256.cert, keys: keys.p256a },
      'ES256',
    );
    expect(await selfSignatureVerifies(leaf)).toBe(false);
    expect(await new x509.X509Certificate(leaf).verify({ signatureOnly: true })).toBe(false);
  });
});

// ---- generated CRLs ----------------------------------------------------------------------------

const mostly = <T, U>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<U>) => fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: other });
const crlSpec = fc.record({
  issuer: mostly(fc.constantFrom('p256', 'ed'), fc.constantFrom('notCa', 'noCrlSign')),
  signer: mostly(fc.constant('issuer'), fc.constant('other')),
  name: mostly(fc.constant('same'), fc.constant('other')),
  thisUpdate: mostly(fc.integer({ min: -3 * 24 * 60, max: 0 }), fc.integer({ min: 0, max: 60 })),
  nextUpdate: mostly(fc.integer({ min: 1, max: 3 * 24 * 60 }), fc.option(fc.integer({ min: -60, max: 0 }), { nil: undefined })),
  entries: fc.uniqueArray(
    fc.record({
      serial: fc.stringMatching(/^[1-9a-f][0-9a-f]{0,15}$/),
      reason: fc.option(fc.constantFrom(0, 1, 4, 5, 9), { nil: undefined }),
      invalidity: fc.boolean(),
      unknown: rarely(fc.boolean()),
      malformedReason: rarely(fc.constant(true)),
    }),
    { maxLength: 3, selector: (e) => e.serial },
  ),
  crlNumber: fc.option(mostly(fc.bigInt({ min: 0n, max: 1n << 100n }), fc.constant('malformed' as const)), { nil: undefined }),
  aki: mostly(fc.constant('right'), fc.constantFrom('wrong', 'none')),
  unknown: rarely(fc.boolean()),
});
type CrlSpec = typeof crlSpec extends fc.Arbitrary<infer T> ? T : never;

function derInteger(v: bigint): Uint8Array<ArrayBuffer> {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const body = hex.match(/../g)!.map((h) => Number.parseInt(h, 16));
  return Uint8Array.of(0x02, body.length, ...body);
}

let issuers: Record<'notCa' | 'noCrlSign', { der: string; cert: x509.X509Certificate }>;

async function makeCrl(s: CrlSpec): Promise<{ crl: string; issuer: string }> {
  issuers ??= {
    notCa: await selfSigned(keys.p256a, ES256, 'CN=Not A CA', [new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign, true)]),
    noCrlSign: await selfSigned(keys.p256a, ES256, 'CN=No CRL Sign', [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ]),
  };
  const issuer = s.issuer === 'p256' ? roots.p256 : s.issuer === 'ed' ? roots.ed : issuers[s.issuer];
  const issuerKeys = s.issuer === 'ed' ? keys.ed25519 : keys.p256a;
  const signingKey = s.signer === 'issuer' ? issuerKeys.privateKey : s.issuer === 'ed' ? (await generateKeyPair('EdDSA')).privateKey : keys.p256b.privateKey;
  const extensions: x509.Extension[] = [];
  if (s.aki !== 'none') extensions.push(await x509.AuthorityKeyIdentifierExtension.create((s.aki === 'right' ? issuerKeys : keys.p256b).publicKey));
  if (s.crlNumber !== undefined) {
    extensions.push(new x509.Extension('2.5.29.20', false, s.crlNumber === 'malformed' ? Uint8Array.of(0x02, 0x01, 0x80) : derInteger(s.crlNumber)));
  }
  if (s.unknown !== undefined) extensions.push(new x509.Extension('2.5.29.27', s.unknown, Uint8Array.of(0x02, 0x01, 0x01))); // deltaCRLIndicator
  const crl = await x509.X509CrlGenerator.create({
    issuer: s.name === 'same' ? issuer.cert.subjectName : 'CN=Someone Else',
    thisUpdate: new Date(NOW.getTime() + s.thisUpdate * 60_000),
    ...(s.nextUpdate !== undefined ? { nextUpdate: new Date(NOW.getTime() + s.nextUpdate * 60_000) } : {}),
    signingAlgorithm: issuerKeys.privateKey.algorithm.name === 'Ed25519' ? { name: 'Ed25519' } : ES256,
    signingKey,
    entries: s.entries.map((e) => ({
      serialNumber: e.serial,
      revocationDate: new Date(NOW.getTime() - DAY),
      ...(e.reason !== undefined ? { reason: e.reason as x509.X509CrlReason } : {}),
      ...(e.invalidity ? { invalidity: new Date(NOW.getTime() - 2 * DAY) } : {}),
      extensions: [
        ...(e.unknown !== undefined ? [new x509.Extension('2.5.29.29', e.unknown, Uint8Array.of(0x30, 0x00))] : []), // certificateIssuer
        ...(e.malformedReason ? [new x509.Extension('2.5.29.21', false, Uint8Array.of(0x04, 0x00))] : []),
      ],
    })),
    extensions,
  });
  return { crl: encodeBase64(new Uint8Array(crl.rawData)), issuer: issuer.der };
}

describe('CRL verification: new (asn1-x509) against old (@peculiar/x509)', () => {
  it('verifyCrl: same revoked serials, dates and number, or the same ERR_REVOCATION_UNKNOWN check', async () => {
    await fc.assert(
      fc.asyncProperty(crlSpec, mutation, async (s, m) => {
        const made = await makeCrl(s);
        const der = mutate(bytesOf(made.crl), m);
        if (der.length === 0) return;
        const text = b64(der);
        expectSame(
          await outcome(() => oldVerifyCrl(text, made.issuer, NOW), crlResult),
          await outcome(() => verifyCrl(text, made.issuer, NOW), crlResult),
          [der],
          'verifyCrl',
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('a CRL whose signed algorithm identifier is not the one outside it is refused, though the signature verifies under the outer one', async () => {
    const made = await makeCrl({
      ...fc.sample(crlSpec, { numRuns: 1, seed: 3 })[0]!,
      issuer: 'p256',
      signer: 'issuer',
      name: 'same',
      thisUpdate: -60,
      nextUpdate: 60,
      aki: 'right',
      unknown: undefined,
    });
    const crl = AsnConvert.parse(bytesOf(made.crl), CertificateList);
    const tbs = new TBSCertList({ ...crl.tbsCertList, signature: new AlgorithmIdentifier({ algorithm: '1.3.101.112' }) });
    const signature = new Uint8Array(await crypto.subtle.sign(ES256, keys.p256a.privateKey, AsnConvert.serialize(tbs)));
    const swapped = new CertificateList({ tbsCertList: tbs, signatureAlgorithm: crl.signatureAlgorithm, signature: ecdsaRawToDer(signature).buffer });
    const text = b64(new Uint8Array(AsnConvert.serialize(swapped)));
    await expect(oldVerifyCrl(text, made.issuer, NOW)).rejects.toMatchObject({ details: { check: 'signature' } });
    await expect(verifyCrl(text, made.issuer, NOW)).rejects.toMatchObject({ details: { check: 'signature' } });
  });
});

// ---- certification requests --------------------------------------------------------------------

const requestInfo = (der: Uint8Array<ArrayBuffer>) => new Uint8Array(AsnConvert.parse(der, CertificationRequest).certificationRequestInfoRaw!);

describe('certification requests over asn1-csr against @peculiar/x509', () => {
  it('an Ed25519 request is byte for byte what Pkcs10CertificateRequestGenerator made; an ES256 one the same request info, and the CA accepts both', async () => {
    const name = fc.oneof(fc.stringMatching(/^[A-Za-z0-9 '()+,\-./:=?]{1,20}$/), fc.stringMatching(/^[a-zäöüßéł日本 ]{1,12}$/)).filter((n) => n.trim() === n);
    await fc.assert(
      fc.asyncProperty(name, fc.constantFrom('EdDSA', 'ES256'), async (commonName, alg) => {
        const pair = alg === 'EdDSA' ? keys.ed25519 : keys.p256a;
        const ours = bytesOf(await createCertificationRequest({ keys: pair, commonName }));
        const theirs = await x509.Pkcs10CertificateRequestGenerator.create({
          name: [{ CN: [commonName] }],
          keys: pair,
          signingAlgorithm: alg === 'EdDSA' ? { name: 'Ed25519' } : ES256,
        });
        if (alg === 'EdDSA') expect(b64(ours)).toBe(b64(new Uint8Array(theirs.rawData)));
        else expect(b64(requestInfo(ours))).toBe(b64(requestInfo(new Uint8Array(theirs.rawData))));
        const verified = await verifyCertificationRequest(b64(ours));
        expect(verified.alg).toBe(alg);
        expect(verified.requestedSubject).toBe(theirs.subject);
      }),
      { numRuns: 40 },
    );
  });

  it('ecdsaRawToDer writes what @peculiar/x509 wrote and ecdsaDerToRaw reads it back', async () => {
    const { ECDSASigValue } = await import('@peculiar/asn1-ecc');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(31), (r, s, zeros) => {
        r.fill(0, 0, zeros % 3 === 0 ? zeros : 0);
        const raw = Uint8Array.from([...r, ...s]);
        const trim = (b: Uint8Array) => {
          let i = 0;
          while (i < b.length - 1 && b[i] === 0) i++;
          const m = b.subarray(i);
          return (m[0]! & 0x80 ? Uint8Array.from([0, ...m]) : Uint8Array.from(m)).buffer;
        };
        const expected = new Uint8Array(AsnConvert.serialize(new ECDSASigValue({ r: trim(r), s: trim(s) })));
        expect(b64(ecdsaRawToDer(raw))).toBe(b64(expected));
        if (r.some((b) => b) && s.some((b) => b)) expect(b64(ecdsaDerToRaw(ecdsaRawToDer(raw)))).toBe(b64(raw));
      }),
      { numRuns: 300 },
    );
  });
});

describe('certificate extensions the reader refuses where the old one took them (RFC 5280 §4.2)', () => {
  async function leafWith(extensions: x509.Extension[]): Promise<string> {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '0badc0de',
      subject: 'CN=Constrained Shop, OU=semper-merchant',
      issuer: roots.p256.cert.subjectName,
      notBefore: new Date(NOW.getTime() - DAY),
      notAfter: new Date(NOW.getTime() + 30 * DAY),
      signingAlgorithm: SIGNING.ES256,
      publicKey: keys.p256b.publicKey,
      signingKey: keys.p256a.privateKey,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), ...extensions],
    });
    return encodeBase64(new Uint8Array(cert.rawData));
  }
  // nameConstraints (2.5.29.30) with an empty permitted subtree list: a constraint Semper would not enforce.
  const nameConstraints = (critical: boolean) => new x509.Extension('2.5.29.30', critical, Uint8Array.of(0x30, 0x02, 0xa0, 0x00));

  it('an unrecognised critical extension (name constraints) makes the certificate unusable; the same one non-critical does not', async () => {
    const critical = await leafWith([nameConstraints(true)]);
    await expect(readCertificate(critical)).rejects.toMatchObject({
      code: 'ERR_CERT_CHAIN',
      message: expect.stringMatching(/unrecognised critical extension 2\.5\.29\.30/),
    });
    await expect(validateChain([critical], { roots: [roots.p256.der], now: NOW })).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    const nonCritical = await leafWith([nameConstraints(false)]);
    expect((await validateChain([nonCritical], { roots: [roots.p256.der], now: NOW })).leaf.commonName).toBe('Constrained Shop');
  });

  it('two basicConstraints (cA false, then cA true) are refused, not read as the first one', async () => {
    const twice = await leafWith([new x509.BasicConstraintsExtension(true, undefined, false)]);
    await expect(readCertificate(twice)).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN', message: expect.stringMatching(/more than one 2\.5\.29\.19/) });
  });
});
