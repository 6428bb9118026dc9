/**
 * A TTP's sealing key, announced in a statement the TTP signs (`semper.ttp.sealing-key`), so that a
 * giver can seal a secret to it (core/crypto/seal.ts) and a receiver can check the box names the
 * agreed TTP's key. The sealing key is an ECDH P-256 key of its own; the TTP's signature (with its
 * certificate chain) is what ties it to the TTP.
 */
import { z } from '../zod.js';
import { SemperError } from '../errors.js';
import { EcPublicJwk, jwkThumbprint, type PublicJwk } from '../crypto/jwk.js';
import { SEAL_SUITE } from '../crypto/seal.js';
import { Digest } from '../items/schema.js';
import type { Signer } from '../crypto/keys.js';
import { signStatement, verifyStatement, type Statement } from '../statements/index.js';
import type { RevocationCheck } from '../pki/certificates.js';
import { isoTime } from '../encoding/index.js';

export const SEALING_KEY_TYPE = 'semper.ttp.sealing-key';

export const SealingKeyBody = z.strictObject({
  suite: z.literal(SEAL_SUITE),
  sealingKey: z.strictObject({ keyId: Digest, jwk: EcPublicJwk }),
});
export type SealingKeyBody = z.infer<typeof SealingKeyBody>;

/** The TTP's announcement of its sealing key (signed with its signing key and chain). */
export async function signSealingKey(jwk: PublicJwk, signer: Signer, chain: readonly string[], now: number): Promise<Statement<SealingKeyBody>> {
  const body: SealingKeyBody = { suite: SEAL_SUITE, sealingKey: { keyId: await jwkThumbprint(jwk), jwk: EcPublicJwk.parse(jwk) } };
  return signStatement<SealingKeyBody>(
    { type: SEALING_KEY_TYPE, version: 1, dealId: `sealing-key.${body.sealingKey.keyId}`, issuedAt: isoTime(now), body },
    signer,
    chain.length ? { signerRef: { kind: 'x509', chain: [...chain] } } : {},
  );
}

/** Check an announcement is signed by the TTP `ttpKeyId` and that the key id is the key's thumbprint. */
export async function verifySealingKey(
  statement: unknown,
  ttpKeyId: string,
  trust: { roots: readonly string[]; now: number; isRevoked?: RevocationCheck },
): Promise<SealingKeyBody['sealingKey']> {
  const v = await verifyStatement(statement, {
    types: [SEALING_KEY_TYPE],
    trust: { roots: trust.roots, now: new Date(trust.now), ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}) },
  });
  if ((await jwkThumbprint(v.signerJwk)) !== ttpKeyId) throw new SemperError('ERR_TTP', 'the sealing key is announced by another key than the agreed TTP');
  const body = SealingKeyBody.safeParse(v.statement.body);
  if (!body.success)
    throw new SemperError('ERR_SCHEMA', `sealing key: ${body.error.issues[0]?.path.join('.') || '$'}: ${body.error.issues[0]?.message ?? 'malformed'}`);
  if ((await jwkThumbprint(body.data.sealingKey.jwk)) !== body.data.sealingKey.keyId)
    throw new SemperError('ERR_KEY', "the sealing key's id is not its RFC 7638 thumbprint");
  return body.data.sealingKey;
}
