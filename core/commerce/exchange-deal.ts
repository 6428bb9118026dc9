/**
 * Exchange deals: the two commerce uses of the generic fair exchange (core/exchange) that a
 * shopper starts from a web page, with the merchant as responder and a TTP that steps in only on
 * faults.
 *
 *   certified mail     the merchant gives a document (information: externally verifiable), the
 *                      shopper a signed receipt for it (a statement with fixed content:
 *                      generatable) → generatable↔verifiable, the shopper is the originator;
 *   contract signing   both sign one fixed contract text (both generatable) → ASW contract
 *                      signing, the shopper is the originator.
 *
 * Before any exchange message moves, the shopper asks the merchant for a *descriptor*: the
 * merchant's signed statement of what is exchanged (the document's digest, type and size, or the
 * contract's title and text), the TTP it accepts, the timing, bound to the shopper's fresh nonce,
 * the deal and the page's origin — the offer of an exchange. The shopper verifies it exactly like
 * an offer (certificate chain to a trusted root, merchant role, origin binding, nonce echo,
 * expiry); only a descriptor that passes reaches the trusted window. The page names only the use
 * and a document id.
 *
 * Nothing that identifies the shopper leaves before the user confirmed: the descriptor request
 * carries no key, and the descriptor names none. The key the user chose for the deal is bound at
 * m1, which leaves only after confirmation: both sides derive the two item descriptions from the
 * descriptor, the deal id and the two keys (`exchangeItems`: the receipt names its receiver, the
 * contract body its parties), the shopper when it signs, the merchant when m1 arrives — and the
 * merchant's responder accepts m1 only if it describes exactly those. So what the shopper signs is
 * fixed by what the merchant signed, and the merchant signs m2 only over the key m1 binds.
 *
 * HTTP (the merchant kit, on the page's own origin):
 *   POST /semper/exchange/descriptor  DescriptorRequest   → { descriptor: Statement<DescriptorBody> }
 *   POST /semper/exchange/messages    { message: Statement } → { replies: Statement[] }
 */
import { z } from '../zod.js';
import { SemperError } from '../errors.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import type { Signer } from '../crypto/keys.js';
import { decodeBase64url, encodeBase64url, sha256, utf8, type JsonValue, isoTime } from '../encoding/index.js';
import { validateChain, type RevocationCheck } from '../pki/certificates.js';
import { signStatement, type Statement } from '../statements/index.js';
import { Digest, type Description, type Item } from '../items/schema.js';
import { DEFAULT_ATTRIBUTES, receiptDescription } from '../transfer/index.js';
import { negotiateExchange } from '../exchange/negotiate.js';
import { DEFAULT_TIMEOUTS, MAX_QUORUM_TTPS, type ExchangeContext, type ProtocolId, type Timeouts, type TtpQuorum } from '../exchange/types.js';
import { chooseTtpSet, type TtpPolicy } from './ttp-policy.js';
import type { RandomSource } from '../machine.js';
import { DealId, Nonce } from '../protocol/commerce.js';
import { certifiedMerchant, verifyMerchantStatement } from './common.js';
import { checkKeyTerms, ContractKeyTerms } from './contract-terms.js';
import type { CertifiedMerchant } from './view.js';

export const EXCHANGE_USES = ['certified-mail', 'contract-signing'] as const;
export const ExchangeUse = z.enum(EXCHANGE_USES);
export type ExchangeUse = z.infer<typeof ExchangeUse>;

/** The protocol each use must run (the shopper re-derives it with negotiateExchange). */
export const USE_PROTOCOL: Record<ExchangeUse, ProtocolId> = {
  'certified-mail': 'generatable-verifiable',
  'contract-signing': 'contract-signing',
};

export const DocumentId = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'document id'));

export const EXCHANGE_DEAL_TYPES = {
  descriptor: 'semper.exchange.descriptor',
  receipt: 'semper.receipt',
  contractSignature: 'semper.contract.signature',
} as const;

/**
 * `POST /semper/exchange/descriptor`: what the shopper's worker asks (the page named only use +
 * document id). No key of the shopper's: a page must not learn who asks before the user agreed.
 */
export const DescriptorRequest = z.strictObject({
  dealId: DealId,
  nonce: Nonce,
  use: ExchangeUse,
  documentId: DocumentId,
});
export type DescriptorRequest = z.infer<typeof DescriptorRequest>;

/** The merchant's proposed timing (ms). The shopper clamps every value to its own bounds. */
export const ExchangeTiming = z.strictObject({
  peerMs: z.number().check(z.int(), z.gt(0)),
  ttpRetryMs: z.number().check(z.int(), z.gt(0)),
  ttpMarginMs: z.number().check(z.int(), z.gt(0)),
  peerRetries: z.number().check(z.int(), z.gte(0)),
});
export type ExchangeTiming = z.infer<typeof ExchangeTiming>;

export const DEFAULT_EXCHANGE_TIMING: ExchangeTiming = {
  peerMs: DEFAULT_TIMEOUTS.peer,
  ttpRetryMs: DEFAULT_TIMEOUTS.ttpRetry,
  ttpMarginMs: DEFAULT_TIMEOUTS.ttpMargin,
  peerRetries: DEFAULT_TIMEOUTS.peerRetries,
};

/** The shopper's bounds on the merchant's timing: no value can make it wait absurdly long or hammer anyone. */
export const TIMING_BOUNDS = {
  peerMs: [1_000, 120_000],
  ttpRetryMs: [1_000, 120_000],
  ttpMarginMs: [2_000, 15 * 60_000],
  peerRetries: [0, 3],
} as const satisfies Record<keyof ExchangeTiming, readonly [number, number]>;

const b64 = z.string().check(z.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'));

export const DescriptorDocument = z.strictObject({
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  mediaType: z.string().check(z.minLength(3), z.maxLength(128)),
  size: z.number().check(z.int(), z.gte(0)),
  digest: Digest,
});
export type DescriptorDocument = z.infer<typeof DescriptorDocument>;

/** Contract signing: the text both sign, as the descriptor fixes it (the parties are bound at m1). */
export const DescriptorContract = z.strictObject({
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  text: z.string().check(z.minLength(1), z.maxLength(20_000)),
  /** The contract's key terms (amount, term, renewal, notice), shown above the text; signed with it. */
  keyTerms: z.optional(ContractKeyTerms),
});
export type DescriptorContract = z.infer<typeof DescriptorContract>;

/** The fixed body both parties sign in contract signing. */
export const ContractBody = z.strictObject({
  contractId: DocumentId,
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  text: z.string().check(z.minLength(1), z.maxLength(20_000)),
  /** [shopper key id, merchant key id] */
  parties: z.tuple([Digest, Digest]),
  /** The descriptor's key terms, when it has them: both parties sign them with the text. */
  keyTerms: z.optional(ContractKeyTerms),
});
export type ContractBody = z.infer<typeof ContractBody>;

/** A TTP in a descriptor: its key, its certificate chain, where the merchant reaches it (never where the shopper does). */
export const DescriptorTtp = z.strictObject({
  keyId: Digest,
  certificateChain: z.array(b64).check(z.minLength(1), z.maxLength(5)),
  endpoint: z.optional(z.string().check(z.url(), z.maxLength(512))),
});
export type DescriptorTtp = z.infer<typeof DescriptorTtp>;

export const DescriptorBody = z.strictObject({
  descriptorId: z.string().check(z.regex(/^[A-Za-z0-9_-]{16,64}$/)),
  /** The shopper's fresh nonce, echoed: a replayed descriptor cannot match. */
  nonce: Nonce,
  /** The origin the merchant serves the exchange from; must be in its certificate and be the page's. */
  origin: z.string().check(z.url()),
  use: ExchangeUse,
  documentId: DocumentId,
  title: z.string().check(z.minLength(1), z.maxLength(200)),
  protocol: z.enum(['generatable-verifiable', 'contract-signing', 'revocable-revocable']),
  merchant: z.strictObject({ keyId: Digest }),
  /** The TTP the merchant accepts: its key and certificate (the shopper decides whether it trusts it). */
  ttp: DescriptorTtp,
  /**
   * k-of-n (docs/quorum.md): the TTPs the merchant also accepts as a set (`ttps[0]` is `ttp`) and the
   * fewest of them that must agree. A shopper with a guarantee policy picks the exchange's set from
   * these (core/commerce/ttp-policy.ts); one without keeps to `ttp` alone.
   */
  quorum: z.optional(
    z.strictObject({
      k: z.number().check(z.int(), z.gte(1), z.lte(MAX_QUORUM_TTPS)),
      ttps: z.array(DescriptorTtp).check(z.minLength(2), z.maxLength(MAX_QUORUM_TTPS)),
    }),
  ),
  /** certified mail: the document the merchant gives (its description is derived from this: exchangeItems) */
  document: z.optional(DescriptorDocument),
  /** contract signing: the contract both sign (the signed body adds the id and the two parties: exchangeItems) */
  contract: z.optional(DescriptorContract),
  timing: ExchangeTiming,
  expiresAt: z.iso.datetime(),
  terms: z.optional(z.string().check(z.maxLength(2000))),
});
export type DescriptorBody = z.infer<typeof DescriptorBody>;

/** A TTP the shopper trusts (a setting): by certificate fingerprint, or by key id from a stored certificate. */
export interface TrustedTtpEntry {
  /** base64url SHA-256 of the TTP certificate's DER */
  fingerprint: string;
  /** RFC 7638 thumbprint of the certified key, when the certificate itself was added */
  keyId?: string;
  /** Where the shopper reaches the TTP (the user's setting, never the merchant's word). */
  url: string;
}

/** A TTP as the trusted window shows it: its certified name, issuer and certificate. */
export interface TtpView {
  name: string;
  organization?: string;
  issuer: string;
  certificateFingerprint: string;
  certificateNotAfter: string;
  keyId: string;
  url: string;
}

/** What the trusted window may show about an exchange: built only from a verified descriptor. */
export interface VerifiedExchangeView {
  dealId: string;
  use: ExchangeUse;
  documentId: string;
  title: string;
  /** The requesting origin, as the browser reported it; equal to the certified origin. */
  origin: string;
  merchant: CertifiedMerchant & { keyId: string };
  protocol: ProtocolId;
  /** certified mail: the document the shopper receives (and gives a receipt for) */
  document?: DescriptorDocument;
  /** contract signing: the text both sign, and its key terms when the merchant states them */
  contract?: { title: string; text: string; digest: string; keyTerms?: ContractKeyTerms };
  ttp: TtpView;
  /** k-of-n: who guarantees the exchange (`ttps[0]` is `ttp`) and how many must agree; absent: `ttp` alone. */
  quorum?: { k: number; ttps: TtpView[] };
  expiresAt: string;
  terms?: string;
  verifiedAt: string;
}

/**
 * Everything the shopper's worker needs to run the exchange it agreed to (plain JSON). The item
 * descriptions are not here: they name the shopper's key, chosen at confirmation (exchangeItems).
 */
export interface ExchangeAgreement {
  dealId: string;
  use: ExchangeUse;
  protocol: ProtocolId;
  merchantKeyId: string;
  ttp: { keyId: string; url: string };
  /** k-of-n: the exchange's set (`ttps[0]` is `ttp`; each reached at the URL of the user's setting) and k. */
  quorum?: { k: number; ttps: { keyId: string; url: string }[] };
  timeouts: Timeouts;
  expiresAt: number;
  /** The roots the merchant's and the TTP's chains validated to: kept so the exchange can finish even if settings change. */
  roots: string[];
  title: string;
}

/** The two item descriptions of an exchange deal, once the shopper's key is known. */
export interface ExchangeItems {
  shopperGives: Description;
  merchantGives: Description;
}

/**
 * Derive what each side gives from the descriptor, the deal and the two keys. Both sides call it:
 * the shopper when the user confirmed (with the key it signs with), the merchant when m1 arrives
 * (with the key m1 names); the merchant's responder then checks m1 describes exactly these.
 *   certified mail    merchant: the document (digest, media type, size); shopper: a receipt for
 *                     exactly that document, naming receiver, sender and deal
 *   contract signing  both: a signature on {contractId, title, text, parties:[shopper, merchant]}
 */
export function exchangeItems(
  body: Pick<DescriptorBody, 'use' | 'documentId' | 'document' | 'contract'>,
  p: { dealId: string; shopperKeyId: string; merchantKeyId: string },
): ExchangeItems {
  if (p.shopperKeyId === p.merchantKeyId) throw new SemperError('ERR_PROTOCOL_STATE', 'an exchange needs two different parties');
  if (body.use === 'certified-mail') {
    const d = body.document;
    if (!d || body.contract) throw new SemperError('ERR_OFFER_INVALID', 'certified mail: the descriptor describes a document (and no contract)');
    const merchantGives: Description = { kind: 'information', digest: d.digest, mediaType: d.mediaType, size: d.size };
    return {
      merchantGives,
      shopperGives: receiptDescription({ receiver: p.shopperKeyId, sender: p.merchantKeyId, dealId: p.dealId, received: merchantGives }),
    };
  }
  const c = body.contract;
  if (!c || body.document) throw new SemperError('ERR_OFFER_INVALID', 'contract signing: the descriptor carries the contract (and no document)');
  if (c.keyTerms) checkKeyTerms(c.keyTerms);
  const contract: ContractBody = {
    contractId: body.documentId,
    title: c.title,
    text: c.text,
    parties: [p.shopperKeyId, p.merchantKeyId],
    ...(c.keyTerms ? { keyTerms: c.keyTerms } : {}),
  };
  return {
    shopperGives: contractDescription(p.shopperKeyId, p.dealId, contract),
    merchantGives: contractDescription(p.merchantKeyId, p.dealId, contract),
  };
}

// ---------------------------------------------------------------------------------------------
// Merchant side

export interface ExchangeDocument {
  title: string;
  mediaType: string;
  /** UTF-8 text (the demo's documents are text) */
  content: string;
}

export interface ExchangeContract {
  title: string;
  text: string;
  keyTerms?: ContractKeyTerms;
}

export interface ExchangeCatalog {
  document(id: string): ExchangeDocument | undefined;
  contract(id: string): ExchangeContract | undefined;
}

/** The certified-mail item the merchant gives: the document's bytes. */
export function documentItem(doc: ExchangeDocument): Extract<Item, { kind: 'information' }> {
  return { kind: 'information', mediaType: doc.mediaType, data: encodeBase64url(utf8(doc.content)) };
}

export function contractDescription(signerKeyId: string, dealId: string, body: ContractBody): Description {
  return {
    kind: 'statement',
    type: EXCHANGE_DEAL_TYPES.contractSignature,
    signer: { keyId: signerKeyId },
    dealId,
    content: { body: body as unknown as Record<string, JsonValue> },
  };
}

/** Sign the statement a description with fixed content stands for (the shopper's receipt or contract signature). */
export async function signFixedStatement(
  description: Description,
  dealId: string,
  signer: Signer,
  now: number,
  signerRef?: { kind: 'x509'; chain: string[] },
): Promise<Item> {
  if (description.kind !== 'statement' || !description.content)
    throw new SemperError('ERR_ITEM_MISMATCH', 'only a statement with fixed content can be signed in advance');
  const statement = await signStatement(
    { type: description.type, version: 1, dealId: description.dealId ?? dealId, issuedAt: isoTime(now), body: description.content.body },
    signer,
    signerRef ? { signerRef } : {},
  );
  return { kind: 'statement', statement: statement as Statement };
}

// ---------------------------------------------------------------------------------------------
// Shopper side

export interface DescriptorExpectation {
  dealId: string;
  nonce: string;
  /** The page's origin, from the browser. */
  origin: string;
  use: ExchangeUse;
  documentId: string;
}

export interface DescriptorTrust {
  roots: readonly string[];
  ttps: readonly TrustedTtpEntry[];
  /** Which trusted TTPs may guarantee an exchange and how many must agree (ttp-policy.ts); absent or null: the merchant's one TTP. */
  policy?: TtpPolicy | null;
  isRevoked?: RevocationCheck;
}

function clamp(value: number, [lo, hi]: readonly [number, number]): number {
  return Math.min(hi, Math.max(lo, value));
}

/** The shopper's timeouts from the merchant's proposal, clamped to the shopper's bounds. */
export function timeoutsFrom(timing: ExchangeTiming): Timeouts {
  const peer = clamp(timing.peerMs, TIMING_BOUNDS.peerMs);
  const ttpRetry = clamp(timing.ttpRetryMs, TIMING_BOUNDS.ttpRetryMs);
  const ttpMargin = clamp(timing.ttpMarginMs, TIMING_BOUNDS.ttpMarginMs);
  const peerRetries = clamp(timing.peerRetries, TIMING_BOUNDS.peerRetries);
  return { ...DEFAULT_TIMEOUTS, peer, ttpRetry, ttpMargin, peerRetries };
}

async function textDigest(text: string): Promise<string> {
  return encodeBase64url(await sha256(utf8(text)));
}

/** A TTP a merchant proposes, certified for that role by a trusted root; `entry`: the user's trust in it, if any. */
async function certifiedTtp(ttp: { keyId: string; certificateChain: string[] }, trust: DescriptorTrust, now: number) {
  const chainTrust = { roots: trust.roots, now: new Date(now), ...(trust.isRevoked ? { isRevoked: trust.isRevoked } : {}) };
  const ttpChain = await validateChain(ttp.certificateChain, chainTrust);
  const ttpLeaf = ttpChain.leaf;
  if (ttpLeaf.role !== 'ttp') throw new SemperError('ERR_TTP', `the proposed TTP's certificate is for role ${ttpLeaf.role ?? 'none'}, not ttp`);
  const ttpKeyId = await jwkThumbprint(ttpLeaf.publicJwk);
  if (ttpKeyId !== ttp.keyId) throw new SemperError('ERR_TTP', "the proposed TTP's key id is not the certified key");
  const entry = trust.ttps.find((t) => t.fingerprint === ttpLeaf.fingerprint || (t.keyId !== undefined && t.keyId === ttpKeyId));
  return { ttpChain, ttpLeaf, ttpKeyId, entry };
}

/** The TTP a merchant proposes: certified for that role by a trusted root, and one the user chose to trust. */
export async function verifyProposedTtp(ttp: { keyId: string; certificateChain: string[] }, trust: DescriptorTrust, now: number) {
  const c = await certifiedTtp(ttp, trust, now);
  if (!c.entry) throw new SemperError('ERR_TTP', `the merchant proposes the TTP "${c.ttpLeaf.commonName}", which is not among the TTPs you trust`);
  return { ...c, entry: c.entry };
}

type VerifiedTtp = Awaited<ReturnType<typeof verifyProposedTtp>>;

/**
 * The TTPs that guarantee the exchange. Without a guarantee policy: the descriptor's `ttp` alone, which the
 * user must trust (as before k-of-n). With one: the descriptor's set checked by the quorum rules (a merchant
 * that names a TTP twice or a k of half or less is refused whatever the policy), then the set and k chosen
 * with the policy (ttp-policy.ts). k = 1 is the one-TTP exchange, with the descriptor's `ttp`.
 */
async function guarantors(body: DescriptorBody, trust: DescriptorTrust, now: number): Promise<{ ttps: VerifiedTtp[]; k: number }> {
  const q = body.quorum;
  if (q) {
    const n = q.ttps.length;
    if (2 * q.k <= n)
      throw new SemperError(
        'ERR_TTP',
        `quorum rule: the merchant's k=${q.k} of n=${n} is not more than half, so two conflicting outcomes could both reach a quorum`,
      );
    if (q.k > n) throw new SemperError('ERR_TTP', `quorum rule: the merchant's k=${q.k} decisions from only ${n} TTPs can never be reached`);
    if (new Set(q.ttps.map((t) => t.keyId)).size !== n)
      throw new SemperError('ERR_TTP', 'quorum rule: the merchant names a TTP twice, which would count twice towards the quorum');
    if (q.ttps[0]!.keyId !== body.ttp.keyId) throw new SemperError('ERR_TTP', "quorum rule: the descriptor's TTP is the first of its set");
  }
  if (!trust.policy) return { ttps: [await verifyProposedTtp(body.ttp, trust, now)], k: 1 };
  const offered = q ? q.ttps : [body.ttp];
  const certified = await Promise.all(offered.map((t) => certifiedTtp(t, trust, now)));
  // The user names TTPs by certificate fingerprint: two entries of the set must not be one trusted TTP, or it would count twice.
  if (new Set(certified.map((c) => c.ttpLeaf.fingerprint)).size !== certified.length)
    throw new SemperError('ERR_TTP', 'quorum rule: the merchant names one TTP certificate twice, which would count twice towards the quorum');
  const { chosen, k } = chooseTtpSet(
    certified.map((c) => ({ keyId: c.ttpKeyId, fingerprint: c.entry ? c.entry.fingerprint : null })),
    q ? q.k : 1,
    trust.policy,
  );
  if (k === 1) {
    // One TTP decides alone: the exchange is the one-TTP protocol, whose TTP the merchant named in `ttp`.
    const only = certified[chosen[0]!]!;
    if (only.ttpKeyId !== body.ttp.keyId)
      throw new SemperError(
        'ERR_TTP',
        `guarantee policy: the one TTP you chose, "${only.ttpLeaf.commonName}", guarantees this merchant's exchanges only together with others`,
      );
    return { ttps: [{ ...only, entry: only.entry! }], k: 1 };
  }
  return { ttps: chosen.map((i) => ({ ...certified[i]!, entry: certified[i]!.entry! })), k };
}

/** The TTP as the trusted window shows it. */
export function ttpView(v: VerifiedTtp): TtpView {
  return {
    name: v.ttpLeaf.commonName,
    ...(v.ttpLeaf.organization ? { organization: v.ttpLeaf.organization } : {}),
    issuer: v.ttpChain.root.commonName,
    certificateFingerprint: v.ttpLeaf.fingerprint,
    certificateNotAfter: v.ttpLeaf.notAfter.toISOString(),
    keyId: v.ttpKeyId,
    url: v.entry.url,
  };
}

/**
 * Verify a merchant's descriptor against everything the shopper knows, and derive what the
 * shopper will sign and run. Throws a SemperError naming the rule; the result is the only thing
 * the trusted window is shown.
 */
export async function verifyExchangeDescriptor(
  response: unknown,
  expected: DescriptorExpectation,
  now: number,
  trust: DescriptorTrust,
): Promise<{ descriptor: Statement<DescriptorBody>; view: VerifiedExchangeView; agreement: ExchangeAgreement }> {
  const verified = await verifyMerchantStatement(response, 'descriptor', EXCHANGE_DEAL_TYPES.descriptor, DescriptorBody, expected, now, trust);
  const descriptor = verified.statement;
  const body = descriptor.body;
  if (body.use !== expected.use || body.documentId !== expected.documentId)
    throw new SemperError('ERR_OFFER_INVALID', 'descriptor is for another use or document than the page asked for');
  const merchantKeyId = await jwkThumbprint(verified.signerJwk);
  if (body.merchant.keyId !== merchantKeyId)
    throw new SemperError('ERR_SIGNATURE_INVALID', 'descriptor names another merchant key than the one that signed it');

  // What is exchanged: the document or the contract the page asked for (the descriptions follow from it at confirmation).
  let document: DescriptorDocument | undefined;
  let contract: VerifiedExchangeView['contract'];
  if (body.use === 'certified-mail') {
    if (!body.document || body.contract)
      throw new SemperError('ERR_ITEM_MISMATCH', 'certified mail: the merchant must describe the document it gives (and no contract)');
    document = body.document;
    if (body.title !== document.title) throw new SemperError('ERR_OFFER_INVALID', 'descriptor title differs from the document title');
  } else {
    if (!body.contract || body.document)
      throw new SemperError('ERR_ITEM_MISMATCH', 'contract signing: the merchant must give the contract both sign (and no document)');
    if (body.contract.title !== body.title) throw new SemperError('ERR_ITEM_MISMATCH', 'contract signing: the contract is not the one the page asked for');
    // Terms that contradict each other never reach the window: the summary above the text would mislead.
    if (body.contract.keyTerms) checkKeyTerms(body.contract.keyTerms);
    contract = {
      title: body.contract.title,
      text: body.contract.text,
      digest: await textDigest(body.contract.text),
      ...(body.contract.keyTerms ? { keyTerms: body.contract.keyTerms } : {}),
    };
  }

  const guarantee = await guarantors(body, trust, now);
  const first = guarantee.ttps[0]!;

  // The protocol each use calls for (the shopper negotiates it from the derived items again when it confirms).
  if (body.protocol !== USE_PROTOCOL[body.use]) {
    throw new SemperError(
      'ERR_EXCHANGE_UNFAIR',
      `the merchant proposes ${body.protocol}; ${body.use} calls for ${USE_PROTOCOL[body.use]} with the shopper as originator`,
    );
  }

  const roots = [...new Set([verified.chain.root.der, ...guarantee.ttps.map((t) => t.ttpChain.root.der)])];
  const views = guarantee.ttps.map(ttpView);
  const view: VerifiedExchangeView = {
    dealId: descriptor.dealId,
    use: body.use,
    documentId: body.documentId,
    title: body.title,
    origin: expected.origin,
    merchant: { ...certifiedMerchant(verified.chain), keyId: merchantKeyId },
    protocol: body.protocol,
    ...(document ? { document } : {}),
    ...(contract ? { contract } : {}),
    ttp: views[0]!,
    ...(guarantee.k > 1 ? { quorum: { k: guarantee.k, ttps: views } } : {}),
    expiresAt: body.expiresAt,
    ...(body.terms ? { terms: body.terms } : {}),
    verifiedAt: isoTime(now),
  };
  const agreement: ExchangeAgreement = {
    dealId: descriptor.dealId,
    use: body.use,
    protocol: body.protocol,
    merchantKeyId,
    ttp: { keyId: first.ttpKeyId, url: first.entry.url },
    ...(guarantee.k > 1 ? { quorum: { k: guarantee.k, ttps: guarantee.ttps.map((t) => ({ keyId: t.ttpKeyId, url: t.entry.url })) } } : {}),
    timeouts: timeoutsFrom(body.timing),
    expiresAt: Date.parse(body.expiresAt),
    roots,
    title: body.title,
  };
  return { descriptor, view, agreement };
}

/**
 * At confirmation: the item descriptions for the key the deal is signed with, and the protocol
 * negotiated from them (it must be the one agreed, with the shopper as originator).
 */
export function confirmedItems(descriptor: Statement<DescriptorBody>, agreement: ExchangeAgreement, shopperKeyId: string): ExchangeItems {
  const items = exchangeItems(descriptor.body, { dealId: agreement.dealId, shopperKeyId, merchantKeyId: agreement.merchantKeyId });
  const negotiated = negotiateExchange({
    a: { giver: shopperKeyId, gives: items.shopperGives, attributes: DEFAULT_ATTRIBUTES },
    b: { giver: agreement.merchantKeyId, gives: items.merchantGives, attributes: DEFAULT_ATTRIBUTES },
  });
  // The shopper's item is always a statement with fixed content that it signs itself (a receipt, its contract
  // signature): generatable, so the negotiation makes the shopper the originator whatever the merchant gives.
  if (negotiated.protocol !== agreement.protocol) {
    throw new SemperError('ERR_EXCHANGE_UNFAIR', `the merchant proposes ${agreement.protocol}; the items call for ${negotiated.protocol}`);
  }
  return items;
}

/** Is every agreed TTP still among the trusted ones (checked again when the user confirms)? */
export function ttpStillTrusted(
  view: { ttp: Pick<TtpView, 'certificateFingerprint' | 'keyId'>; quorum?: { ttps: Pick<TtpView, 'certificateFingerprint' | 'keyId'>[] } },
  ttps: readonly TrustedTtpEntry[],
): boolean {
  const trusted = (v: Pick<TtpView, 'certificateFingerprint' | 'keyId'>) =>
    ttps.some((t) => t.fingerprint === v.certificateFingerprint || (t.keyId !== undefined && t.keyId === v.keyId));
  return trusted(view.ttp) && (view.quorum?.ttps ?? []).every(trusted);
}

/** m1's k-of-n set for an agreement (TTPs named by key only: where each is reached is each party's own setting). */
export function agreedQuorum(agreement: { quorum?: { k: number; ttps: { keyId: string }[] } }): TtpQuorum | undefined {
  const q = agreement.quorum;
  return q ? { k: q.k, ttps: q.ttps.map((t) => ({ keyId: t.keyId })) } : undefined;
}

/**
 * The exchange context of a deal the shopper agreed to: its key, the agreed TTP only, and the roots the
 * deal was agreed under kept valid for it, whatever the settings say later.
 */
export function agreedExchangeContext(
  agreement: { roots: readonly string[]; ttp: { keyId: string }; quorum?: { ttps: { keyId: string }[] } },
  ctx: { signer: Signer; roots: readonly string[]; random: RandomSource; isRevoked?: RevocationCheck },
): ExchangeContext {
  const roots = [...new Set([...agreement.roots, ...ctx.roots])];
  const ttps = agreement.quorum ? agreement.quorum.ttps.map((t) => t.keyId) : [agreement.ttp.keyId];
  return {
    signer: ctx.signer,
    trust: { roots, ttps, ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
    random: ctx.random,
  };
}

/** How long after an offer's or descriptor's expiry the shopper's first message may still come (it confirmed in time; its message may need retries). */
export function firstMessageGrace(timing: ExchangeTiming): number {
  const t = timeoutsFrom(timing);
  return (t.peerRetries + 2) * t.peer;
}

/** The document bytes of a certified-mail item, as text if it is text. */
export function informationText(item: Item): { mediaType: string; text?: string; data: string } | undefined {
  if (item.kind !== 'information') return undefined;
  let text: string | undefined;
  if (item.mediaType.startsWith('text/')) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(decodeBase64url(item.data));
    } catch {
      text = undefined;
    }
  }
  return { mediaType: item.mediaType, data: item.data, ...(text !== undefined ? { text } : {}) };
}
