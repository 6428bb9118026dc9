import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBundle, bundleToJson, type EvidenceBundle, reportToText, verifyBundle } from '../../../core/evidence/index.js';
import { canonicalBytes, decodeBase64url, encodeBase64, encodeBase64url, randomId, sha256 } from '../../../core/encoding/index.js';
import { createCrl, certificateToPem } from '../../../core/pki/index.js';
import { signStatement, statementDigest, type Statement } from '../../../core/statements/index.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';
import { makeEvidenceDeal, type EvidenceDealFixture } from '../../evidence/deal-fixture.js';
import { main } from '../../../scripts/semper-cli.js';

let f: EvidenceDealFixture;
let ca: TestCa;
let work: string;
beforeAll(async () => {
  f = await makeEvidenceDeal();
  ca = await makeTestCa('Revoking CA');
  work = mkdtempSync(join(tmpdir(), 'semper-evidence-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('verifyBundle', () => {
  it('verifies a real deal and says, per statement, what it proves and what not', async () => {
    const report = await verifyBundle(copy(f.bundle), { roots: [f.root] });
    expect(report.ok).toBe(true);
    expect(report.statements.map((s) => s.type)).toEqual([
      'semper.offer',
      'semper.order',
      'semper.order-confirmation',
      'semper.delivery',
      'semper.exchange.complaint',
      'semper.ttp.affidavit',
    ]);
    for (const s of report.statements) {
      expect(s.proves.length).toBeGreaterThan(0);
      expect(s.doesNotProve.some((w) => w.includes("signer's own claim"))).toBe(true);
      expect(s.timeBasis).toBe('issuedAt');
    }
    expect(report.attachments).toEqual([expect.objectContaining({ ok: true, referenced: true })]);
    expect(reportToText(report)).toMatch(/^VERIFIED: evidence bundle of deal /);
  });

  it('refuses garbage, a foreign deal, a statement twice, and certificates it cannot trust', async () => {
    expect((await verifyBundle('{}', { roots: [f.root] })).problems[0]?.check).toBe('schema');
    const foreign = copy(f.bundle);
    foreign.deal.id = randomId(18);
    expect((await verifyBundle(foreign, { roots: [f.root] })).statements.every((s) => s.problems.some((p) => p.check === 'deal'))).toBe(true);
    const twice = copy(f.bundle);
    twice.statements.push(copy(twice.statements[0]!));
    const r = await verifyBundle(twice, { roots: [f.root] });
    expect(r.ok).toBe(false);
    expect(r.statements.at(-1)!.problems.map((p) => p.check)).toEqual(['duplicate']);
    const untrusted = await verifyBundle(copy(f.bundle), { roots: [ca.root] });
    expect(untrusted.ok).toBe(false);
    expect(untrusted.statements[0]!.problems[0]!.code).toBe('ERR_CERT_UNTRUSTED');
  });

  it('a certificate revoked before the signing time fails; revoked after, it passes with a note; a CRL from nobody fails', async () => {
    const m = await ca.issue({ commonName: 'Revoked Merchant', role: 'merchant', origins: ['https://r.example'] });
    const { X509Certificate } = await import('@peculiar/x509');
    const serial = new X509Certificate(m.chain[0]!).serialNumber;
    const dealId = randomId(18);
    const signedAt = Date.now() - 60_000;
    const statement = await signStatement(
      { type: 'semper.offer', version: 1, dealId, issuedAt: new Date(signedAt).toISOString(), body: { items: [] } },
      m.signer,
      { signerRef: { kind: 'x509', chain: m.chain } },
    );
    const crlRevokedAt = (revokedAt: number) =>
      createCrl({
        issuerCertificate: ca.root,
        issuerPrivateKey: ca.keys.privateKey,
        entries: [{ serial, revokedAt: new Date(revokedAt) }],
        thisUpdate: new Date(),
        nextUpdate: new Date(Date.now() + 3_600_000),
        crlNumber: 2,
      });
    const deal = { id: dealId, kind: 'purchase', exporter: 'test' };
    const before = await buildBundle({ deal, statements: [statement], crls: [await crlRevokedAt(signedAt - 1000)] });
    const b = await verifyBundle(before, { roots: [ca.root] });
    expect(b.ok).toBe(false);
    expect(b.statements[0]!.problems[0]!.code).toBe('ERR_CERT_REVOKED');
    const after = await buildBundle({ deal, statements: [statement], crls: [await crlRevokedAt(signedAt + 1000)] });
    const a = await verifyBundle(after, { roots: [ca.root] });
    expect(a.ok).toBe(true);
    expect(a.statements[0]!.revocation.join(' ')).toMatch(/after this statement was signed/);
    const none = await verifyBundle(await buildBundle({ deal, statements: [statement] }), { roots: [ca.root] });
    expect(none.statements[0]!.doesNotProve.join(' ')).toMatch(/no CRL covering the signing time/);
    // A CRL issued by a CA neither trusted nor in the chains is refused.
    const stranger = await verifyBundle(after, { roots: [f.root, ca.root].slice(0, 1) });
    expect(stranger.problems.some((p) => p.check === 'crl')).toBe(true);
  });

  it('time stamps: a pluggable verifier; genTime is the time chains are checked at; tokens of no statement fail', async () => {
    const bundle = copy(f.bundle) as EvidenceBundle;
    const first = bundle.statements[0]!.statement as Statement;
    const of = await statementDigest(first);
    expect(of).toBe(encodeBase64url(await sha256(canonicalBytes(first))));
    bundle.timestamps.push({ of, token: encodeBase64(new Uint8Array([1, 2, 3])) });
    const genTime = new Date(Date.parse(first.issuedAt) + 2000);
    const seen: string[] = [];
    const r = await verifyBundle(bundle, {
      roots: [f.root],
      verifyTimestamp: async (token, digest) => {
        seen.push(encodeBase64url(digest));
        expect([...token]).toEqual([1, 2, 3]);
        return { genTime };
      },
    });
    expect(r.ok).toBe(true);
    expect(seen).toEqual([of]);
    expect(r.statements[0]!.timeBasis).toBe('time-stamp');
    expect(r.statements[0]!.checkedAt).toBe(genTime.toISOString());
    const unchecked = await verifyBundle(bundle, { roots: [f.root] });
    expect(unchecked.timestamps[0]!.status).toBe('not-checked');
    const failing = await verifyBundle(bundle, {
      roots: [f.root],
      verifyTimestamp: async () => {
        throw new Error('bad token');
      },
    });
    expect(failing.ok).toBe(false);
    bundle.timestamps[0]!.of = encodeBase64url(new Uint8Array(32));
    expect((await verifyBundle(bundle, { roots: [f.root] })).problems[0]!.check).toBe('timestamp');
    expect(decodeBase64url(of)).toHaveLength(32);
  });
});

describe('semper CLI', () => {
  it('verify: exit 0 and plain words for a good bundle, 1 for a tampered one or without the root; openssl writes the tar', async () => {
    const quiet = [vi.spyOn(process.stdout, 'write').mockImplementation(() => true), vi.spyOn(process.stderr, 'write').mockImplementation(() => true)];
    const file = join(work, 'deal.json');
    const root = join(work, 'root.pem');
    writeFileSync(file, bundleToJson(f.bundle));
    writeFileSync(root, certificateToPem(f.root));
    expect(await main(['verify', file, '--root', root])).toBe(0);
    expect(await main(['verify', file])).toBe(1);
    const bad = copy(f.bundle);
    (bad.statements[0]!.statement as Statement).issuedAt = new Date(0).toISOString();
    writeFileSync(join(work, 'bad.json'), bundleToJson(bad));
    expect(await main(['verify', join(work, 'bad.json'), '--root', root])).toBe(1);
    expect(await main(['nonsense'])).toBe(2);
    expect(await main(['openssl', file, join(work, 'deal.tar')])).toBe(0);
    const listing = spawnSync('tar', ['-tf', join(work, 'deal.tar')], { encoding: 'utf8' }).stdout;
    expect(listing).toContain('statements/01-semper.offer/sig.der');
    expect(listing).toContain('statements/06-semper.ttp.affidavit/sig.bin');
    for (const q of quiet) q.mockRestore();
  });

  it('`npx semper verify` runs the bin from the repository', { timeout: 60_000 }, () => {
    const file = join(work, 'deal2.json');
    const root = join(work, 'root2.pem');
    writeFileSync(file, bundleToJson(f.bundle));
    writeFileSync(root, certificateToPem(f.root));
    const r = spawnSync('npx', ['--no-install', 'semper', 'verify', file, '--root', root], { cwd: join(__dirname, '../../..'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('VERIFIED');
  });
});
