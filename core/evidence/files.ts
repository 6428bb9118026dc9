/**
 * The bundle as plain files for the OpenSSL recipe (README "Checking evidence with OpenSSL only"),
 * and as a POSIX tar of those files, so that `tar x` + `openssl` + coreutils are the whole recipe,
 * without Node, jq or Python:
 *
 *   bundle.json                       the bundle itself
 *   statements/NN-<type>/input.bin    the exact bytes the signature covers
 *                        sig.der      DER ECDSA-Sig-Value (ES256, webauthn-ES256), or
 *                        sig.bin      the 64-byte Ed25519 signature (EdDSA)
 *                        pub.pem      the signer's public key (SPKI)
 *                        signed.json  the RFC 8785 statement without its signature value: what
 *                                     was signed, to read (= input.bin except for WebAuthn)
 *                        statement.json  the RFC 8785 whole statement (what a time stamp covers)
 *                        leaf.pem, chain.pem  certified signers: the leaf, and leaf + intermediates
 *                        crl.pem      the bundle's CRLs from the leaf's issuer, if any
 *                        token.der    the statement's RFC 3161 time-stamp token, if any
 *                        authenticatorData.bin, clientDataJSON.json  WebAuthn signatures only
 *   attachments/<digest>.bin          attachments, named by their base64url SHA-256
 *
 * Everything here is computed from the bundle's `openssl` artefacts and statements as they are:
 * no checking (that is verifyBundle's and OpenSSL's job), so a tampered bundle gives tampered files.
 */
// tsyringe under @peculiar/x509 needs the polyfill first; core/pki no longer loads it for everyone.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { canonicalBytes, decodeBase64url, encodeBase64url, sha256, utf8 } from '../encoding/index.js';
import { crlToPem } from '../pki/crl.js';
import type { Statement } from '../statements/schema.js';
import { signingInput } from '../statements/sign.js';
import { b64ToBytes, bundleToJson, type EvidenceBundle } from './bundle.js';

export interface BundleFile {
  path: string;
  data: Uint8Array<ArrayBuffer>;
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n/g;

function issuerOfPem(pem: string): string | undefined {
  try {
    return new x509.X509Certificate(pem).issuer;
  } catch {
    return undefined;
  }
}

/** The recipe's files for a (schema-valid) bundle. */
export async function bundleFiles(bundle: EvidenceBundle): Promise<BundleFile[]> {
  const files: BundleFile[] = [{ path: 'bundle.json', data: utf8(bundleToJson(bundle)) }];
  const crls = bundle.crls.map((c) => {
    let issuer: string | undefined;
    try {
      issuer = new x509.X509Crl(b64ToBytes(c.der)).issuer;
    } catch {
      issuer = undefined;
    }
    return { pem: crlToPem(c.der), issuer };
  });
  const width = Math.max(2, String(bundle.statements.length).length);
  for (const [i, entry] of bundle.statements.entries()) {
    const s = entry.statement as Partial<Statement<unknown>> | null;
    const type = typeof s?.type === 'string' ? s.type : 'unknown';
    const dir = `statements/${String(i + 1).padStart(width, '0')}-${safeName(type)}`;
    const add = (name: string, data: Uint8Array<ArrayBuffer>) => files.push({ path: `${dir}/${name}`, data });
    const sig = s?.signature;
    add('input.bin', b64ToBytes(entry.openssl.input));
    add(sig?.alg === 'EdDSA' ? 'sig.bin' : 'sig.der', b64ToBytes(entry.openssl.signature));
    add('pub.pem', utf8(entry.openssl.publicKey));
    try {
      add('statement.json', canonicalBytes(s));
      if (sig) add('signed.json', signingInput(s as Statement<unknown>));
    } catch {
      // not JSON-serialisable as I-JSON: no readable copy; verifyBundle reports why
    }
    if (sig?.alg === 'webauthn-ES256') {
      try {
        add('authenticatorData.bin', decodeBase64url(sig.authenticatorData));
        add('clientDataJSON.json', decodeBase64url(sig.clientDataJSON));
      } catch {
        // malformed: verifyBundle reports it
      }
    }
    if (entry.openssl.chain) {
      const certs = entry.openssl.chain.match(PEM_CERT) ?? [];
      add('leaf.pem', utf8(certs[0] ?? ''));
      add('chain.pem', utf8(entry.openssl.chain));
      const issuer = issuerOfPem(certs[0] ?? '');
      // The leaf issuer's CRLs, and any CRL that does not even parse (so the recipe's openssl fails on it, not skips it).
      const mine = crls.filter((c) => c.issuer === undefined || c.issuer === issuer);
      if (mine.length) add('crl.pem', utf8(mine.map((c) => c.pem).join('')));
    }
    let digest: string | undefined;
    try {
      digest = encodeBase64url(await sha256(canonicalBytes(s)));
    } catch {
      digest = undefined;
    }
    const digestOf = bundle.timestamps.find((t) => t.of === digest);
    if (digestOf) add('token.der', b64ToBytes(digestOf.token));
  }
  for (const a of bundle.attachments) files.push({ path: `attachments/${a.digest}.bin`, data: b64ToBytes(a.data) });
  return files;
}

// ---------------------------------------------------------------------------------------------
// POSIX ustar (IEEE Std 1003.1-2001 pax interchange format, ustar header), no compression
// ---------------------------------------------------------------------------------------------

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(path: string, size: number, mtime: number, type: '0' | '5'): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(512);
  const put = (text: string, offset: number, length: number) => {
    const bytes = utf8(text);
    if (bytes.length > length) throw new Error(`tar: "${text}" is too long`);
    h.set(bytes, offset);
  };
  let name = path;
  let prefix = '';
  if (utf8(path).length > 100) {
    const cut = path.lastIndexOf('/', 155);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  put(name, 0, 100);
  put(octal(type === '5' ? 0o755 : 0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(mtime / 1000), 12), 136, 12);
  put('        ', 148, 8); // checksum: spaces while summing
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** A POSIX ustar archive of the files (directories made explicit), readable by any `tar x`. */
export function tarOf(files: readonly BundleFile[], mtime = 0): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    const segments = f.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = `${segments.slice(0, i).join('/')}/`;
      if (!dirs.has(dir)) {
        dirs.add(dir);
        parts.push(header(dir, 0, mtime, '5'));
      }
    }
    parts.push(header(f.path, f.data.length, mtime, '0'));
    parts.push(f.data);
    const pad = (512 - (f.data.length % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(1024));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A bundle as a download: the JSON file, or the recipe's tar. */
export async function evidenceDownload(
  bundle: EvidenceBundle,
  format: 'json' | 'tar' = 'json',
): Promise<{ fileName: string; mediaType: string; body: Uint8Array<ArrayBuffer> }> {
  const base = `semper-evidence-${bundle.deal.id}`;
  if (format === 'tar')
    return { fileName: `${base}.tar`, mediaType: 'application/x-tar', body: tarOf(await bundleFiles(bundle), Date.parse(bundle.deal.exportedAt)) };
  return { fileName: `${base}.json`, mediaType: 'application/json', body: utf8(bundleToJson(bundle)) };
}
