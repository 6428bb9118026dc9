/** What a WebAuthn statement verification came to, as plain data both verification paths can be compared on. */
import { createWebAuthnVerifier, type WebAuthnVerifierOptions } from '../../../core/crypto/webauthn.js';
import { verifyStatement } from '../../../core/statements/index.js';

export type Outcome = { ok: true; userVerified: boolean | undefined } | { ok: false; code: unknown; check: unknown; message: string };

export async function verificationOutcome(statement: unknown, options: WebAuthnVerifierOptions): Promise<Outcome> {
  try {
    const v = await verifyStatement(statement, { webauthn: createWebAuthnVerifier(options) });
    return { ok: true, userVerified: v.userVerified };
  } catch (e) {
    const err = e as { code?: unknown; details?: { check?: unknown }; message: string };
    return { ok: false, code: err.code, check: err.details?.check, message: err.message };
  }
}
