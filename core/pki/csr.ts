/**
 * PKCS #10 certification requests (RFC 2986), the requester's side, over @peculiar/asn1-csr (the
 * shopper's service worker makes one at CA registration and must not load @peculiar/x509 at start).
 * The CA's check, verifyCertificationRequest, is in core/pki/issue.ts.
 *
 * A shopper's device makes one with its own (non-extractable) key: the request is signed by the
 * very key it asks to be certified, so the CA learns that the requester holds that key (proof of
 * possession, RFC 2986 §3 and RFC 4211 §4). Works unchanged in the extension's service worker:
 * only WebCrypto `sign` is used, never key export of the private half.
 *
 * The CA trusts nothing else in a request: the subject name, attributes and requested extensions
 * are ignored; the name comes from the CA's own records (see server/ca).
 */
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { ecdsaRawToDer } from '../crypto/ecdsa-der.js';
import { encodeBase64 } from '../encoding/index.js';
import { SemperError } from '../errors.js';
import type { KeyAlgorithm } from '../crypto/keys.js';
import { ATTRIBUTE, OID } from './asn1.js';

/** A CSR for one key is a few hundred bytes; anything much larger is not one of ours. */
export const MAX_CSR_BYTES = 4096;

export interface CertificationRequestParams {
  /** The key to certify; only the private half signs (it may be non-extractable). */
  keys: CryptoKeyPair;
  /** Informational subject CN (the CA replaces it with the name it has on file). */
  commonName: string;
}

function keyAlgorithm(algorithm: KeyAlgorithm | string): KeyAlgorithm {
  if (algorithm === 'ES256' || algorithm === 'EdDSA') return algorithm;
  throw new SemperError('ERR_ALG_UNSUPPORTED', `certified keys are ES256 (ECDSA P-256) or Ed25519, not ${algorithm}`);
}

export function algorithmOfCryptoKey(key: CryptoKey): KeyAlgorithm {
  const alg = key.algorithm as EcKeyAlgorithm;
  if (alg.name === 'ECDSA' && alg.namedCurve === 'P-256') return 'ES256';
  if (alg.name === 'Ed25519') return 'EdDSA';
  return keyAlgorithm(`${alg.name}${alg.namedCurve ? ` ${alg.namedCurve}` : ''}`);
}

/** Create a PKCS #10 request signed by `keys.privateKey`; base64 DER. */
export async function createCertificationRequest(p: CertificationRequestParams): Promise<string> {
  const alg = algorithmOfCryptoKey(p.keys.privateKey);
  if (!/^[^\p{Cc}]{1,128}$/u.test(p.commonName) || p.commonName.trim() !== p.commonName) {
    throw new SemperError('ERR_SCHEMA', 'common name must be 1-128 printable characters without surrounding spaces');
  }
  // As @peculiar/x509 wrote it: CN a PrintableString when it can be one (X.520), else a
  // UTF8String; no attributes; the signature over certificationRequestInfo's DER.
  const value = /^[A-Za-z0-9 '()+,-./:=?]*$/.test(p.commonName) ? { printableString: p.commonName } : { utf8String: p.commonName };
  const info = new CertificationRequestInfo({
    subject: new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: ATTRIBUTE.CN, value: new AttributeValue(value) })])]),
    subjectPKInfo: AsnConvert.parse(await crypto.subtle.exportKey('spki', p.keys.publicKey), SubjectPublicKeyInfo),
  });
  const tbs = AsnConvert.serialize(info);
  const signed = new Uint8Array(
    await crypto.subtle.sign(alg === 'ES256' ? ({ name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams) : { name: 'Ed25519' }, p.keys.privateKey, tbs),
  );
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: alg === 'ES256' ? OID.ecdsaWithSha256 : OID.ed25519 }),
    signature: (alg === 'ES256' ? ecdsaRawToDer(signed) : signed).buffer,
  });
  return encodeBase64(new Uint8Array(AsnConvert.serialize(csr)));
}
