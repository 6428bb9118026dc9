/** Helpers for tests of shopper registration, revocation and certified or hardware-token orders. */
import { generateKeyPair, signerFromKeyPair, type KeyAlgorithm, type Signer } from '../../core/crypto/index.js';
import type { OfferBody, OrderBody } from '../../core/protocol/commerce.js';
import {
  createCertificationRequest,
  unsignedRevocationRequest,
  type HolderRevocationReason,
  type RegistrationResponse,
  type RevocationRequestBody,
} from '../../core/pki/index.js';
import { signStatement, statementDigest, type SignerRef, type Statement, type UnsignedStatement } from '../../core/statements/index.js';
import { postJson, type ErrorJson, type HttpResult } from './helpers.js';

export interface RegisteredShopper {
  res: HttpResult<RegistrationResponse & ErrorJson>;
  keys: CryptoKeyPair;
  signer: Signer;
}

/** What the extension does: a fresh non-extractable key, a PKCS #10 request, POST /ca/register. */
export async function registerShopper(
  caUrl: string,
  registrationCode: string,
  alg: KeyAlgorithm = 'ES256',
  requestedName = 'Whatever The Device Says',
): Promise<RegisteredShopper> {
  const keys = await generateKeyPair(alg);
  const csr = await createCertificationRequest({ keys, commonName: requestedName });
  const res = await postJson<RegistrationResponse & ErrorJson>(`${caUrl}/ca/register`, { registrationCode, csr });
  return { res, keys, signer: await signerFromKeyPair(alg, keys) };
}

export function x509Signer(chain: string[]): { signerRef: SignerRef } {
  return { signerRef: { kind: 'x509', chain } };
}

/** A revocation request signed by `signer` under the given certificate chain (normally the certificate's own key). */
export async function signRevocation(body: RevocationRequestBody, signer: Signer, chain: string[]): Promise<Statement<RevocationRequestBody>> {
  return signStatement(unsignedRevocationRequest(body, Date.now()), signer, x509Signer(chain));
}

export function revocationBody(serial: string, reason: HolderRevocationReason = 'keyCompromise'): RevocationRequestBody {
  return { serial, reason };
}

/** The unsigned order the shopper's machine makes for an offer. */
export async function unsignedOrder(offer: Statement<OfferBody>): Promise<UnsignedStatement<OrderBody>> {
  return {
    type: 'semper.order',
    version: 1,
    dealId: offer.dealId,
    issuedAt: new Date().toISOString(),
    body: { offerId: offer.body.offerId, offerDigest: await statementDigest(offer), paymentMethod: 'invoice' },
  };
}
