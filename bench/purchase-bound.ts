/**
 * The least work any implementation of the purchase protocol must do per purchase besides ES256
 * (issue 13: a goal not met needs a measured reason). Built from the primitives the protocol names
 * (core/encoding), on the four statements of a real purchase, with no step the protocol's security
 * allows to skip:
 *
 *   per statement, the signer: RFC 8785 text of the statement with `signature` reduced to
 *   { alg, signer } (its own signer reference sealed once per identity, as the merchant's is),
 *   UTF-8 of that text, [ES256 sign], base64url of the signature, the signed statement built;
 *   the receiver: RFC 8785 text of the same reduction of what it received, UTF-8, base64url
 *   decoding of the signature, [ES256 verify];
 *   the digests the protocol names: the offer's (the order and the confirmation name it: the
 *   merchant computes it when signing, the shopper when receiving) and the order's (the
 *   confirmation and the delivery name it: the shopper when signing, the merchant when
 *   receiving), each SHA-256 of the signed statement's RFC 8785 text, which is the signing input
 *   with the signature's `"value"` added; and the shopper's SHA-256 (and size) of each delivered
 *   good's UTF-8 content, checked against the offer's commitment and the delivery's digest.
 *
 * With `json`, each statement also crosses as JSON text (JSON.stringify at the sender, JSON.parse
 * at the receiver), as between the hosts; the in-process purchase hands objects over, so its bound
 * is the one without.
 *
 * Left out, so this is a lower bound: schema checks of envelope and bodies, the certificate chain
 * (validity and revocation at `now`; the links are cached), state kept between steps, random ids,
 * the catalogue good's digest at the merchant (once per good, not per purchase), and the extra
 * SHA-256 blocks ES256 hashes for a signing input longer than the floor's (`es256AtRealSizes`).
 */
import { verifyRaw, type Signer } from '../core/crypto/index.js';
import { canonicalJson, decodeBase64url, encodeBase64url, sealJson, sha256, sha256Base64urlSync, sha256TextBase64url, utf8 } from '../core/encoding/index.js';
import { statementDigest, type SignerRef, type Statement } from '../core/statements/index.js';

export interface PurchaseStatements {
  offer: Statement<unknown>;
  order: Statement<unknown>;
  confirmation: Statement<unknown>;
  delivery: Statement<unknown>;
}

interface Prepared {
  /** The unsigned statement as its signer builds it (a plain object, not sealed). */
  unsigned: { type: string; version: 1; dealId: string; issuedAt: string; body: unknown };
  alg: 'ES256';
  /** The signer's reference, sealed once per identity (the merchant's is, core/commerce/merchant.ts). */
  signer: SignerRef;
  /** What ES256 returned for this statement in the real run. */
  signatureBytes: Uint8Array<ArrayBuffer>;
  /** The statement is named by a digest (offer, order): both parties compute it. */
  named: boolean;
  /** Delivered goods whose content the receiver hashes. */
  goods: boolean;
}

/** The signed statement's RFC 8785 text from its signing input: `,"value":"…"` closes the signature member ("value" sorts last). */
function signedText(signingText: string, value: string): string {
  const end = signingText.lastIndexOf('},"type":"');
  return `${signingText.slice(0, end)},"value":"${value}"${signingText.slice(end)}`;
}

function reduced(s: { type: string; version: number; dealId: string; issuedAt: string; body: unknown; signature: { alg: string; signer: unknown } }) {
  return {
    type: s.type,
    version: s.version,
    dealId: s.dealId,
    issuedAt: s.issuedAt,
    body: s.body,
    signature: { alg: s.signature.alg, signer: s.signature.signer },
  };
}

async function goodsDigests(body: unknown): Promise<number> {
  let size = 0;
  for (const good of (body as { goods: { content: string; digest: string }[] }).goods) {
    const bytes = utf8(good.content);
    const digest = sha256Base64urlSync(bytes) ?? encodeBase64url(await sha256(bytes));
    if (digest !== good.digest) throw new Error('bound: delivered good digest differs');
    size += bytes.length;
  }
  return size;
}

/**
 * The inherent work of one purchase besides ES256, as an op for the harness; checks once that what
 * it derives is what the protocol derived (signing inputs verify, digests equal statementDigest).
 */
export async function inherentWork(
  statements: PurchaseStatements,
  signers: { merchant: Signer; shopper: Signer },
): Promise<{
  withJson: () => Promise<unknown>;
  inProcess: () => Promise<unknown>;
  inProcessWithEs256: () => Promise<unknown>;
  es256AtRealSizes: () => Promise<unknown>;
}> {
  const merchantRef = sealJson(statements.offer.signature.signer);
  const shopperRef = sealJson(statements.order.signature.signer);
  if (!merchantRef.ok || !shopperRef.ok) throw new Error('bound: signer references are not I-JSON');
  const prepare = (s: Statement<unknown>, signer: SignerRef, named: boolean, goods: boolean): Prepared => {
    const plain = JSON.parse(JSON.stringify(s)) as Statement<unknown>;
    if (plain.signature.alg !== 'ES256') throw new Error('bound: ES256 statements only');
    return {
      unsigned: { type: plain.type, version: plain.version, dealId: plain.dealId, issuedAt: plain.issuedAt, body: plain.body },
      alg: 'ES256',
      signer,
      signatureBytes: decodeBase64url(plain.signature.value),
      named,
      goods,
    };
  };
  const all: Prepared[] = [
    prepare(statements.offer, merchantRef.value, true, false),
    prepare(statements.order, shopperRef.value, true, false),
    prepare(statements.confirmation, merchantRef.value, false, false),
    prepare(statements.delivery, merchantRef.value, false, true),
  ];
  const keys = [signers.merchant, signers.shopper, signers.merchant, signers.merchant];

  const oneStatement = async (p: Prepared, json: boolean, es256: boolean, check: boolean, i: number): Promise<void> => {
    // The signer.
    const u = p.unsigned;
    const input = canonicalJson({
      type: u.type,
      version: u.version,
      dealId: u.dealId,
      issuedAt: u.issuedAt,
      body: u.body,
      signature: { alg: p.alg, signer: p.signer },
    });
    const bytes = utf8(input);
    const value = encodeBase64url(es256 ? await keys[i]!.sign(bytes) : p.signatureBytes);
    const signed = {
      type: u.type,
      version: u.version,
      dealId: u.dealId,
      issuedAt: u.issuedAt,
      body: u.body,
      signature: { alg: p.alg, signer: p.signer, value },
    };
    const senderDigest = p.named ? await sha256TextBase64url(signedText(input, value)) : '';
    // The wire.
    const received = (json ? JSON.parse(JSON.stringify(signed)) : signed) as typeof signed;
    // The receiver.
    const receivedInput = canonicalJson(reduced(received));
    const receivedBytes = utf8(receivedInput);
    const signature = decodeBase64url(received.signature.value);
    const receiverDigest = p.named ? await sha256TextBase64url(signedText(receivedInput, received.signature.value)) : '';
    if (es256 && !(await verifyRaw('ES256', keys[i]!.publicJwk, receivedBytes, signature))) throw new Error('bound: signature does not verify');
    if (p.goods) await goodsDigests(received.body);
    if (senderDigest !== receiverDigest || bytes.length !== receivedBytes.length || signature.length !== 64)
      throw new Error('bound: sender and receiver differ');
    if (check) {
      const key = keys[i]!;
      if (!(await verifyRaw('ES256', key.publicJwk, receivedBytes, signature))) throw new Error('bound: the derived signing input does not verify');
      if (p.named && receiverDigest !== (await statementDigest(received as Statement<unknown>)))
        throw new Error('bound: derived digest differs from statementDigest');
    }
  };
  const purchase =
    (json: boolean, es256 = false, check = false) =>
    async () => {
      for (let i = 0; i < all.length; i++) await oneStatement(all[i]!, json, es256, check, i);
    };
  await purchase(true, false, true)();
  await purchase(false, false, true)();
  await purchase(false, true, true)();

  const inputs = all.map((p) => {
    const u = p.unsigned;
    return utf8(canonicalJson({ ...u, signature: { alg: p.alg, signer: p.signer } }));
  });
  return {
    withJson: purchase(true),
    inProcess: purchase(false),
    /** The same with its 4 signatures made and 4 verified in place, in a purchase's order: the least purchase, measured whole. */
    inProcessWithEs256: purchase(false, true),
    /** The floor's 4 sign + 4 verify over the statements' own signing inputs instead of 600 bytes. */
    es256AtRealSizes: async () => {
      for (let i = 0; i < 4; i++) await keys[i]!.sign(inputs[i]!);
      for (let i = 0; i < 4; i++) await verifyRaw('ES256', keys[i]!.publicJwk, inputs[i]!, all[i]!.signatureBytes);
    },
  };
}

/** Sizes of the four statements as sent (JSON) and signed (RFC 8785 signing input), bytes. */
export function statementSizes(statements: PurchaseStatements): { name: string; json: number; signingInput: number }[] {
  return (Object.entries(statements) as [string, Statement<unknown>][]).map(([name, s]) => ({
    name,
    json: utf8(JSON.stringify(s)).length,
    signingInput: utf8(canonicalJson(reduced(s))).length,
  }));
}
