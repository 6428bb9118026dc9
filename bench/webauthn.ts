/**
 * WebAuthn statement verification vs. plain ES256 statement verification, measured in the same run
 * on the same statement content. Both go through verifyStatement (schema + signing input +
 * signature); the WebAuthn path adds the clientDataJSON/authenticatorData checks, two more
 * SHA-256s, COSE decoding and a key import per verification (@simplewebauthn/server has no key
 * cache), which is what the ratio shows.
 */
import { generateKeyPair, signerFromKeyPair } from '../core/crypto/index.js';
import { createWebAuthnVerifier } from '../core/crypto/webauthn.js';
import { signStatement, verifyStatement } from '../core/statements/index.js';
import { SoftAuthenticator } from '../test/helpers/soft-authenticator.js';
import { fmt, measure } from './harness.js';

const EXT = 'chrome-extension://kfjpmdjmiogaolnnlnbpdnhonnpaecoa';

export async function benchWebAuthn(): Promise<string[]> {
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

  const es256 = await measure('ES256 statement verification', () => verifyStatement(es256Statement));
  const wa = await measure('webauthn-ES256 statement verification', () => verifyStatement(webauthnStatement, { webauthn }));
  return [
    `webauthn-ES256 statement verifications: ${fmt(wa.opsPerSecond)} /s (${wa.iterations} runs)`,
    `ES256 statement verifications:          ${fmt(es256.opsPerSecond)} /s (${es256.iterations} runs)`,
    `  ratio webauthn/ES256: ${(wa.opsPerSecond / es256.opsPerSecond).toFixed(3)}`,
  ];
}
