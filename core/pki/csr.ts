/**
 * PKCS #10 certification requests (RFC 2986) through @peculiar/x509.
 *
 * A shopper's device makes one with its own (non-extractable) key: the request is signed by the
 * very key it asks to be certified, so the CA learns that the requester holds that key (proof of
 * possession, RFC 2986 §3 and RFC 4211 §4). Works unchanged in the extension's service worker:
 * only WebCrypto `sign` is used, never key export of the private half.
 *
 * The CA trusts nothing else in a request: the subject name, attributes and requested extensions
 * are ignored; the name comes from the CA's own records (see server/ca).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { encodeBase64 } from '../encoding/index.js';
import { SemperError } from '../errors.js';
import { exportPublicJwk, importPublicJwk, type KeyAlgorithm } from '../crypto/keys.js';
import type { PublicJwk } from '../crypto/jwk.js';
import { decodeBase64Der } from './der.js';

/** A CSR for one key is a few hundred bytes; anything much larger is not one of ours. */
const MAX_CSR_BYTES = 4096;

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

function algorithmOfCryptoKey(key: CryptoKey): KeyAlgorithm {
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
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [p.commonName] }],
    keys: p.keys,
    signingAlgorithm: alg === 'ES256' ? ({ name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams) : { name: 'Ed25519' },
  });
  return encodeBase64(new Uint8Array(csr.rawData));
}

export interface VerifiedCertificationRequest {
  /** The requester's public key (extractable: it is public), ready for issueCertificate. */
  publicKey: CryptoKey;
  publicJwk: PublicJwk;
  alg: KeyAlgorithm;
  /** The subject the requester asked for (RFC 4514 string). Informational only. */
  requestedSubject: string;
}

/**
 * Parse a base64 DER PKCS #10 request and check it: the key is ES256 or Ed25519, the signature
 * algorithm is the one that key makes (ecdsa-with-SHA256 for P-256, Ed25519 for Ed25519), and the
 * self-signature over certificationRequestInfo verifies under the enclosed key (proof of
 * possession). Every failure names the rule.
 */
export async function verifyCertificationRequest(csrB64: string): Promise<VerifiedCertificationRequest> {
  const der = decodeBase64Der(csrB64, 'certification request', 'ERR_SCHEMA', MAX_CSR_BYTES);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (e) {
    throw new SemperError('ERR_SCHEMA', `RFC 2986 §4: not a DER CertificationRequest (${e instanceof Error ? e.message : String(e)})`);
  }
  let spkiKey: CryptoKey;
  try {
    spkiKey = await csr.publicKey.export();
  } catch (e) {
    throw new SemperError(
      'ERR_ALG_UNSUPPORTED',
      `RFC 2986 §4.1: subjectPKInfo is not a usable ES256 or Ed25519 key (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const alg = algorithmOfCryptoKey(spkiKey);
  const sigAlg = csr.signatureAlgorithm as { name: string; hash?: { name: string } };
  const expected = alg === 'ES256' ? sigAlg.name === 'ECDSA' && sigAlg.hash?.name === 'SHA-256' : sigAlg.name === 'Ed25519';
  if (!expected) {
    throw new SemperError(
      'ERR_ALG_UNSUPPORTED',
      `RFC 2986 §4.2: an ${alg} key signs its request with ${alg === 'ES256' ? 'ecdsa-with-SHA256' : 'Ed25519'}, not ${sigAlg.name}${sigAlg.hash ? `/${sigAlg.hash.name}` : ''}`,
    );
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new SemperError('ERR_SIGNATURE_INVALID', 'RFC 2986 §3: the request is not signed by the key it names (no proof of possession)');
  const publicJwk = await exportPublicJwk(spkiKey);
  return { publicKey: await importPublicJwk(publicJwk), publicJwk, alg, requestedSubject: csr.subject };
}
