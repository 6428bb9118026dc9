/**
 * Who signs a payer's or payee's statement to the bank: the account's registered key, a device key
 * (ES256, a `Signer`) or a WebAuthn hardware token (`webauthn-ES256`, core/crypto/webauthn.ts). The
 * modules build the unsigned statement; a `StatementSigner` turns it into a signed one, so a host
 * can put a token's assertion behind the same call as a device key.
 */
import type { Signer } from '../crypto/keys.js';
import { signStatement, type Statement, type UnsignedStatement } from '../statements/index.js';

export type StatementSigner = (unsigned: UnsignedStatement<Record<string, unknown>>) => Promise<Statement>;

/** A device key as a StatementSigner. */
export function deviceKeySigner(signer: Signer): StatementSigner {
  return (unsigned) => signStatement(unsigned, signer) as Promise<Statement>;
}
