/**
 * WebAuthn statement verification (issue 13) against its honest floor, measured in the same run on
 * the same statement content: 1 ES256 verify (the assertion's signature) + 2 SHA-256 digests (the
 * challenge over the signing input, and clientDataJSON). Compared by CPU time per verification
 * (main thread and WebCrypto's thread pool), and also against a plain ES256 statement verification.
 */
import { generateKeyPair, signerFromKeyPair, verifyRaw } from '../core/crypto/index.js';
import { canonicalBytes, sha256 } from '../core/encoding/index.js';
import { createWebAuthnVerifier } from '../core/crypto/webauthn.js';
import { signStatement, verifyStatement } from '../core/statements/index.js';
import { SoftAuthenticator } from '../test/helpers/soft-authenticator.js';
import { type Figure, fmt, interleavedRatio, measure } from './harness.js';

const EXT = 'chrome-extension://kfjpmdjmiogaolnnlnbpdnhonnpaecoa';

export async function benchWebAuthn(): Promise<{ lines: string[]; figures: Figure[] }> {
  const unsigned = {
    type: 'semper.order',
    version: 1 as const,
    dealId: 'deal-bench-0123456789',
    issuedAt: new Date().toISOString(),
    body: { offer: 'x'.repeat(43), items: [{ sku: 'report', quantity: 1 }], total: { amount: 1000, currency: 'EUR' } },
  };
  const token = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
  const webauthnStatement = await token.signStatement(unsigned);
  const es256Statement = await signStatement(unsigned, await signerFromKeyPair('ES256', await generateKeyPair('ES256')));
  const webauthn = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT] });

  const es256Signer = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
  const input = canonicalBytes(unsigned);
  const clientData = canonicalBytes({ type: 'webauthn.get', challenge: 'x'.repeat(43), origin: EXT });
  const rawSig = await es256Signer.sign(input);
  const floor = await measure('floor: 1 ES256 verify + 2 SHA-256', async () => {
    await sha256(input);
    await sha256(clientData);
    await verifyRaw('ES256', es256Signer.publicJwk, input, rawSig);
  });
  const es256 = await measure('ES256 statement verification', () => verifyStatement(es256Statement));
  const wa = await measure('webauthn-ES256 statement verification', () => verifyStatement(webauthnStatement, { webauthn }));
  const floorOp = async () => {
    await sha256(input);
    await sha256(clientData);
    await verifyRaw('ES256', es256Signer.publicJwk, input, rawSig);
  };
  const interleaved = await interleavedRatio(floorOp, () => verifyStatement(webauthnStatement, { webauthn }), { cpu: true });
  const lines = [
    `webauthn-ES256 statement verifications: ${fmt(wa.opsPerSecond)} /s, ${wa.cpuMsPerOp.toFixed(3)} ms CPU each`,
    `ES256 statement verifications:          ${fmt(es256.opsPerSecond)} /s, ${es256.cpuMsPerOp.toFixed(3)} ms CPU each`,
    `floor (1 ES256 verify + 2 SHA-256):     ${fmt(floor.opsPerSecond)} /s, ${floor.cpuMsPerOp.toFixed(3)} ms CPU each`,
    `  interleaved (median of 7 rounds, CPU): webauthn ${interleaved.ratio.toFixed(3)} x its floor`,
    `  CPU ratio webauthn vs ES256 statement: ${(es256.cpuMsPerOp / wa.cpuMsPerOp).toFixed(3)}; wall: ${(wa.opsPerSecond / es256.opsPerSecond).toFixed(3)}`,
  ];
  return {
    lines,
    figures: [
      {
        figure: 'WebAuthn statement verify',
        ratio: interleaved.ratio,
        unit: '× its floor (1 ES256 verify + 2 digests, CPU), interleaved',
        goal: { op: '>=', value: 0.7 },
        detail: `separately: ${wa.cpuMsPerOp.toFixed(3)} vs ${floor.cpuMsPerOp.toFixed(3)} ms CPU = ${(floor.cpuMsPerOp / wa.cpuMsPerOp).toFixed(2)}×; ${(es256.cpuMsPerOp / wa.cpuMsPerOp).toFixed(2)}× an ES256 statement verify (CPU)`,
      },
    ],
  };
}
