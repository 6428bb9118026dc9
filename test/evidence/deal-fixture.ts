/**
 * A real deal's evidence for the evidence tests: the core purchase run in-process (test CA,
 * certified merchant, shopper device key; offer → order → merchant reply), plus, for the same
 * deal, a statement signed with a WebAuthn security key (soft authenticator), one by a certified
 * Ed25519 key (EdDSA: OpenSSL's pkeyutl path), a CRL of the CA and the delivered good.
 */
import { generateKeyPair } from '../../core/crypto/index.js';
import { isTerminal, newMerchantDeal, startPurchase, stepMerchant, stepShopper, type ShopperStep } from '../../core/commerce/index.js';
import { cryptoRandom } from '../../core/machine.js';
import { randomId, utf8 } from '../../core/encoding/index.js';
import { buildBundle, type EvidenceBundle } from '../../core/evidence/index.js';
import { createCrl } from '../../core/pki/index.js';
import { signStatement, type Statement } from '../../core/statements/index.js';
import { challengeForStatement, signatureBlockFromAssertion } from '../../core/crypto/webauthn.js';
import { makePurchaseWorld, ORIGIN } from '../core/commerce/fixtures.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import type { TestCa } from '../helpers/pki.js';

export const EXT_ORIGIN = 'chrome-extension://ogebgngddklbcapdihmjkemgigajimlo';

/** Every signed statement inside a value (offers inside replies, …), outermost first. */
export function statementsIn(value: unknown, out: Statement<unknown>[] = []): Statement<unknown>[] {
  if (Array.isArray(value)) for (const v of value) statementsIn(v, out);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.type === 'string' && o.signature && typeof o.dealId === 'string') {
      out.push(o as unknown as Statement<unknown>);
      return out;
    }
    for (const v of Object.values(o)) statementsIn(v, out);
  }
  return out;
}

export interface EvidenceDealFixture {
  root: string;
  ca: TestCa;
  bundle: EvidenceBundle;
  dealId: string;
  /** The merchant's signing key pair and chain (for tests that sign more). */
  revokedSerialLater: string;
}

const persist = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export async function makeEvidenceDeal(): Promise<EvidenceDealFixture> {
  const { ca, merchant, shopperSigner } = await makePurchaseWorld();
  const dealId = randomId(18);
  let s: ShopperStep = startPurchase({ dealId, nonce: randomId(32), origin: ORIGIN, items: [{ sku: 'colour-report', quantity: 1 }], now: Date.now() });
  const ctx = { roots: [ca.root], signer: shopperSigner, random: cryptoRandom };
  const offered = await stepMerchant(newMerchantDeal(dealId), { type: 'offer-requested', request: persist(s.send[0]!.body), now: Date.now() }, merchant);
  const offerResponse = persist(offered.send[0]!.body);
  s = await stepShopper(s.state, { type: 'offer-response', response: offerResponse, now: Date.now() }, ctx);
  s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
  const orderMsg = s.send[0]!;
  const replied = await stepMerchant(
    persist(offered.state),
    { type: 'order-received', order: persist((orderMsg.body as { order: unknown }).order), now: Date.now() },
    merchant,
  );
  const reply = persist(replied.send[0]!.body);
  s = await stepShopper(s.state, { type: 'order-response', response: reply, now: Date.now() }, ctx);
  if (!isTerminal(s.state) || s.state.phase !== 'completed') throw new Error(`purchase did not complete: ${s.state.phase}`);

  const statements: { statement: Statement<unknown>; role?: string }[] = [];
  for (const st of statementsIn([offerResponse, orderMsg.body, reply])) statements.push({ statement: st, role: st.type.replace(/^semper\./, '') });

  // The same deal's complaint signed with a security key (webauthn-ES256).
  const token = await SoftAuthenticator.create({ rpId: EXT_ORIGIN, origin: EXT_ORIGIN });
  const unsigned = {
    type: 'semper.exchange.complaint',
    version: 1 as const,
    dealId,
    issuedAt: new Date().toISOString(),
    body: { reason: 'the guide is a different edition', note: 'Grüße — “quoted” \\ back\\slash' },
    signature: { alg: 'webauthn-ES256' as const, signer: token.signerRef },
  };
  const assertion = await token.getAssertion(await challengeForStatement(unsigned));
  statements.push({
    statement: {
      ...unsigned,
      signature: signatureBlockFromAssertion({ response: assertion, jwk: token.jwk, credentialId: token.credentialId, rpId: token.rpId }),
    },
    role: 'complaint (security key)',
  });

  // A certified Ed25519 signer (EdDSA) of the same deal.
  const ed = await ca.issue({ commonName: 'Semper Test TTP', role: 'ttp', keys: await generateKeyPair('EdDSA') });
  statements.push({
    statement: await signStatement(
      { type: 'semper.ttp.affidavit', version: 1, dealId, issuedAt: new Date().toISOString(), body: { fact: 'delivered', exchangeId: randomId(32) } },
      ed.signer,
      { signerRef: { kind: 'x509', chain: ed.chain } },
    ),
    role: 'affidavit',
  });

  // The CA's CRL: one other certificate revoked (so the recipe's -crl_check has a list to read).
  const other = await ca.issue({ commonName: 'Someone Else', role: 'merchant', origins: ['https://else.example'] });
  const { X509Certificate } = await import('@peculiar/x509');
  const otherSerial = new X509Certificate(other.chain[0]!).serialNumber;
  const now = Date.now();
  const crl = await createCrl({
    issuerCertificate: ca.root,
    issuerPrivateKey: ca.keys.privateKey,
    entries: [{ serial: otherSerial, revokedAt: new Date(now - 60_000), reason: 'keyCompromise' }],
    thisUpdate: new Date(now + 1000),
    nextUpdate: new Date(now + 86_400_000),
    crlNumber: 1,
  });

  const good = (reply as { delivered?: { content: string }[] }).delivered?.[0];
  const bundle = await buildBundle({
    deal: { id: dealId, kind: 'purchase', exporter: 'test' },
    statements,
    crls: [crl],
    attachments: [{ mediaType: 'text/plain', data: utf8(good?.content ?? 'ISO 12647 in practice…') }],
  });
  return { root: ca.root, ca, bundle, dealId, revokedSerialLater: otherSerial };
}
