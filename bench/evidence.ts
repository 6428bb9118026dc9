/**
 * Evidence bundles (issue 12): verifyBundle on a 10-statement deal against the verifications it
 * contains, measured in the same run: the ten verifyStatement calls (chain at the signing time,
 * signature) on the same statements. The difference is what the bundle adds: re-deriving every
 * OpenSSL artefact (signing input, DER signature, SPKI PEM, chain PEM), the CRL, digests and words.
 */
import { generateKeyPair, signerFromKeyPair } from '../core/crypto/index.js';
import { randomId } from '../core/encoding/index.js';
import { buildBundle, verifyBundle } from '../core/evidence/index.js';
import { createCrl } from '../core/pki/index.js';
import { signStatement, verifyStatement, type Statement } from '../core/statements/index.js';
import { makeTestCa } from '../test/helpers/pki.js';
import { type Figure, fmt, interleavedRatio } from './harness.js';

export async function benchEvidence(): Promise<{ lines: string[]; figures: Figure[] }> {
  const ca = await makeTestCa('Bench CA');
  const merchant = await ca.issue({ commonName: 'Bench Shop', role: 'merchant', origins: ['https://shop.example'] });
  const shopper = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
  const dealId = randomId(18);
  const statements: Statement<unknown>[] = [];
  const types = ['semper.offer', 'semper.order', 'semper.order-confirmation', 'semper.delivery', 'semper.receipt'];
  for (let i = 0; i < 10; i++) {
    const byShopper = i % 3 === 1;
    const unsigned = { type: types[i % types.length]!, version: 1 as const, dealId, issuedAt: new Date().toISOString(), body: { n: i, note: 'x'.repeat(200) } };
    statements.push(
      byShopper
        ? await signStatement(unsigned, shopper)
        : await signStatement(unsigned, merchant.signer, { signerRef: { kind: 'x509', chain: merchant.chain } }),
    );
  }
  const crl = await createCrl({
    issuerCertificate: ca.root,
    issuerPrivateKey: ca.keys.privateKey,
    entries: [],
    thisUpdate: new Date(Date.now() + 1000),
    nextUpdate: new Date(Date.now() + 86_400_000),
    crlNumber: 1,
  });
  const bundle = JSON.parse(JSON.stringify(await buildBundle({ deal: { id: dealId, kind: 'purchase', exporter: 'bench' }, statements, crls: [crl] })));
  const trust = { roots: [ca.root] };
  const check = await verifyBundle(bundle, trust);
  if (!check.ok) throw new Error('bench bundle does not verify');
  const bundleOp = async () => {
    if (!(await verifyBundle(bundle, trust)).ok) throw new Error('bundle failed');
  };
  const contained = async () => {
    for (const s of statements) await verifyStatement(s, { trust: { roots: trust.roots, now: new Date(s.issuedAt) } });
  };
  const { ratio, a, b } = await interleavedRatio(bundleOp, contained, { rounds: 5, budgetMs: 400 });
  return {
    lines: [
      `verifyBundle, 10-statement deal (7 certified ES256, 3 bare-key ES256, 1 CRL): ${fmt(a.opsPerSecond)}/s, ${fmt(a.cpuMsPerOp)} ms CPU each`,
      `its 10 verifyStatement calls:                                              ${fmt(b.opsPerSecond)}/s, ${fmt(b.cpuMsPerOp)} ms CPU each`,
      `ratio (wall, median of 5 interleaved rounds): ${ratio.toFixed(2)}`,
    ],
    figures: [
      {
        figure: 'Evidence bundle verification (10 statements)',
        ratio,
        unit: '× its statement verifications',
        goal: { op: '<=', value: 3 },
        detail: `${fmt(a.opsPerSecond)} bundles/s vs ${fmt(b.opsPerSecond)}/s for its 10 verifyStatement calls`,
      },
    ],
  };
}
