/** Shared by the time-stamp tests: a CA root, TSA certificates, OpenSSL in a temp directory. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../../core/crypto/index.js';
import { certificateToPem, createRootCertificate, EKU_TIME_STAMPING, issueCertificate } from '../../../core/pki/index.js';

const DAY = 24 * 3600 * 1000;

export interface TestPki {
  root: string;
  rootKeys: CryptoKeyPair;
  tsa: string;
  tsaKeys: CryptoKeyPair;
}

export async function testPki(options: { tsaEku?: string[]; role?: 'tsa' | 'ttp' } = {}): Promise<TestPki> {
  const rootKeys = await generateKeyPair('ES256');
  const now = Date.now();
  const root = await createRootCertificate({ commonName: 'Test Root', keys: rootKeys, notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) });
  const tsaKeys = await generateKeyPair('ES256');
  const tsa = await tsaCertificate({ root, rootKeys } as TestPki, tsaKeys.publicKey, options);
  return { root, rootKeys, tsa, tsaKeys };
}

/** A TSA certificate under the test root: by default EKU timeStamping critical (issueCertificate marks it critical). */
export function tsaCertificate(
  pki: Pick<TestPki, 'root' | 'rootKeys'>,
  publicKey: CryptoKey,
  options: { tsaEku?: string[]; role?: 'tsa' | 'ttp'; commonName?: string; serialNumber?: string } = {},
): Promise<string> {
  const now = Date.now();
  const eku = options.tsaEku ?? [EKU_TIME_STAMPING];
  return issueCertificate({
    issuerCertificate: pki.root,
    issuerPrivateKey: pki.rootKeys.privateKey,
    subjectPublicKey: publicKey,
    commonName: options.commonName ?? 'Test TSA',
    role: options.role ?? 'tsa',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 300 * DAY),
    ...(eku.length ? { extendedKeyUsages: eku } : {}),
    ...(options.serialNumber ? { serialNumber: options.serialNumber } : {}),
  });
}

export interface OpensslDir {
  dir: string;
  write(name: string, data: Uint8Array | string): string;
  /** Run openssl; returns { ok, out } (stdout + stderr) instead of throwing. */
  run(args: string[]): { ok: boolean; out: string };
  remove(): void;
}

export function opensslDir(): OpensslDir {
  const dir = mkdtempSync(join(tmpdir(), 'semper-tsa-openssl-'));
  return {
    dir,
    write(name, data) {
      const path = join(dir, name);
      writeFileSync(path, data);
      return path;
    },
    run(args) {
      try {
        const out = execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
        return { ok: true, out };
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string };
        return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function pem(der: string): string {
  return certificateToPem(der);
}
