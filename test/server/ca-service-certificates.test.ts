/**
 * The CA's certificates for the marketplace's own services: a TSA's certificate must carry
 * extendedKeyUsage id-kp-timeStamping marked critical (RFC 3161 §2.3) — checked with OpenSSL, which
 * is what refuses a time-stamp token otherwise — and an arbiter's names its role.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../core/crypto/index.js';
import { certificateToPem, readCertificate } from '../../core/pki/index.js';
import { CaService } from '../../server/ca/index.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';

let dir: string;

const opensslText = (der: string): string => {
  const pem = join(dir, 'leaf.pem');
  writeFileSync(pem, certificateToPem(der));
  return execFileSync('openssl', ['x509', '-in', pem, '-noout', '-text'], { encoding: 'utf8' });
};

describe.each(ENGINES)('certificates for the marketplace services (the register on %s)', (engine) => {
  let ca: CaService;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semper-ca-services-'));
    ca = await CaService.open({ dataDir: join(dir, 'ca'), ...(engine === 'postgres' ? { databaseUrl: await pgSchema('caservices') } : {}) });
  });
  afterEach(async () => {
    await ca.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a TSA certificate carries extendedKeyUsage timeStamping, critical, and role tsa', async () => {
    const record = await ca.issueTsaCertificate({ commonName: 'Semper TSA', publicKey: (await generateKeyPair('ES256')).publicKey });
    expect((await readCertificate(record.certificate)).role).toBe('tsa');
    expect(opensslText(record.certificate)).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping\s/);
  });

  it('other leaves carry no extended key usage; an arbiter certificate names role arbiter', async () => {
    const record = await ca.issueArbiterCertificate({ commonName: 'Semper Arbiter', publicKey: (await generateKeyPair('ES256')).publicKey });
    expect((await readCertificate(record.certificate)).role).toBe('arbiter');
    expect(opensslText(record.certificate)).not.toMatch(/Extended Key Usage/);
  });
});
