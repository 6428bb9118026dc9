/**
 * Business items (paper §2.1, §3.3): money, statements, credentials and information, bundled
 * into tree-like packages. An `Item` is the thing itself; a `Description` is what a party
 * expects to receive, agreed before an exchange starts and checked against the peer's item
 * (by the party itself, and by the TTP when it has to step in).
 *
 * Everything here is plain JSON and validated with zod at every boundary.
 */
import { z } from '../zod.js';
import { Statement as StatementSchema, StatementType, type Statement } from '../statements/schema.js';
import type { CertificateRole } from '../pki/certificates.js';
import type { JsonValue } from '../encoding/canonical-json.js';

const b64u = z.string().check(z.regex(/^[A-Za-z0-9_-]*$/, 'base64url'));
const b64 = z.string().check(z.regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'));
/** base64url SHA-256 (32 bytes): digests and RFC 7638 key thumbprints. */
export const Digest = z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'base64url SHA-256'));

/** Limits that keep one item (and so one protocol message) bounded. */
export const ITEM_LIMITS = {
  /** base64url characters of one information item (≈ 6 MiB of data). */
  informationChars: 8 * 1024 * 1024,
  /** children of one package */
  packageItems: 32,
  /** nesting depth of packages (a package at the top is depth 1) */
  packageDepth: 4,
} as const;

/** Money: an integer count of minor units (cents) with an ISO 4217 code. No floats. */
export const Amount = z.strictObject({
  amount: z.number().check(z.int(), z.gte(0), z.lte(1_000_000_000_000)),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/, 'ISO 4217 code')),
});
export type Amount = z.infer<typeof Amount>;

export const PaymentMethod = z.enum(['account', 'cash', 'cheque', 'card']);
export type PaymentMethod = z.infer<typeof PaymentMethod>;

export const CERTIFICATE_ROLES = ['merchant', 'shopper', 'ttp', 'bank', 'arbiter', 'tsa'] as const;

/** Who must have signed a statement: a pinned key (RFC 7638 thumbprint) or a certified role/name. */
export const SignerConstraint = z.union([
  z.strictObject({ keyId: Digest }),
  z.strictObject({
    certified: z.strictObject({
      role: z.optional(z.enum(CERTIFICATE_ROLES)),
      commonName: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    }),
  }),
]);
export type SignerConstraint = z.infer<typeof SignerConstraint>;

// ---------------------------------------------------------------------------------------------
// Items

export type InformationItem = { kind: 'information'; mediaType: string; data: string };
export type StatementItem = { kind: 'statement'; statement: Statement };
/** A credential: an X.509 certificate chain (base64 DER, leaf first). */
export type CredentialItem = { kind: 'credential'; chain: string[] };
/** Money: the payment's proof is a statement by the bank (receipt, coin, cleared cheque). */
export type MoneyItem = { kind: 'money'; method: PaymentMethod; value: Amount; proof: Statement };
export type PackageItem = { kind: 'package'; items: Item[] };
export type Item = InformationItem | StatementItem | CredentialItem | MoneyItem | PackageItem;

const InformationItemSchema = z.strictObject({
  kind: z.literal('information'),
  mediaType: z.string().check(z.regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i, 'media type'), z.maxLength(128)),
  data: b64u.check(z.maxLength(ITEM_LIMITS.informationChars)),
});
const StatementItemSchema = z.strictObject({ kind: z.literal('statement'), statement: StatementSchema });
const CredentialItemSchema = z.strictObject({ kind: z.literal('credential'), chain: z.array(b64).check(z.minLength(1), z.maxLength(5)) });
const MoneyItemSchema = z.strictObject({ kind: z.literal('money'), method: PaymentMethod, value: Amount, proof: StatementSchema });

export const Item: z.ZodMiniType<Item> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    InformationItemSchema,
    StatementItemSchema,
    CredentialItemSchema,
    MoneyItemSchema,
    z.strictObject({ kind: z.literal('package'), items: z.array(Item).check(z.maxLength(ITEM_LIMITS.packageItems)) }),
  ]),
) as z.ZodMiniType<Item>;

// ---------------------------------------------------------------------------------------------
// Descriptions

export type InformationDescription = {
  kind: 'information';
  /** base64url SHA-256 of the data bytes */
  digest: string;
  mediaType?: string;
  size?: number;
};
export type StatementDescription = {
  kind: 'statement';
  type: string;
  signer: SignerConstraint;
  dealId?: string;
  /** Constraints on the body: the value at each dotted path must equal `equals`. */
  constraints?: { path: string; equals: JsonValue }[];
  /**
   * The exact body, fixed before the exchange. A statement whose content is fixed and whose
   * signer is the giving party is *generatable*: the TTP can attest it in the giver's stead
   * (an affidavit), because the giver committed to it in the signed m1/m2.
   */
  content?: { body: Record<string, JsonValue> };
  /** The statement is voidable by a TTP revocation order until this time (epoch ms). */
  revocableUntil?: number;
  /**
   * A secret the statement reveals (e.g. the key of sold goods): the body's `field` is base64url
   * bytes whose SHA-256 is `digest`; the rest of the body is `content.body`. `box` is that secret
   * sealed to the TTP's sealing key `to` (core/crypto/seal.ts, AAD `sealedAad`), so the TTP can
   * release it in an affidavit when the giver withholds the statement: what makes the statement
   * generatable although the secret is not known in advance.
   */
  sealed?: SealedField;
};
export type SealedField = { field: string; digest: string; to: string; box: string };
export type CredentialDescription = {
  kind: 'credential';
  role?: Exclude<CertificateRole, 'ca'>;
  commonName?: string;
  /** RFC 7638 thumbprint of the certified key */
  subjectKeyId?: string;
};
export type MoneyDescription = {
  kind: 'money';
  method: PaymentMethod;
  value: Amount;
  /** key id of the payee (the party receiving the money) */
  payee: string;
  /** what the payment must reference (deal id, invoice number): a proof for another deal does not fit */
  reference: string;
  /** who vouches for the payment (the bank) */
  issuer: SignerConstraint;
  /** account transfers: the bank undoes the transfer on a TTP revocation order until this time (epoch ms) */
  revocableUntil?: number;
};
export type PackageDescription = { kind: 'package'; items: Description[] };
export type Description = InformationDescription | StatementDescription | CredentialDescription | MoneyDescription | PackageDescription;

const JsonObject = z.record(z.string(), z.json());
const Epoch = z.number().check(z.int(), z.gte(0));

export const Description: z.ZodMiniType<Description> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('information'),
      digest: Digest,
      mediaType: z.optional(z.string().check(z.maxLength(128))),
      size: z.optional(z.number().check(z.int(), z.gte(0))),
    }),
    z.strictObject({
      kind: z.literal('statement'),
      type: StatementType,
      signer: SignerConstraint,
      dealId: z.optional(z.string().check(z.minLength(8), z.maxLength(128))),
      constraints: z.optional(
        z
          .array(z.strictObject({ path: z.string().check(z.regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dotted path')), equals: z.json() }))
          .check(z.maxLength(32)),
      ),
      content: z.optional(z.strictObject({ body: JsonObject })),
      revocableUntil: z.optional(Epoch),
      sealed: z.optional(
        z.strictObject({
          field: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'field name')),
          digest: Digest,
          to: Digest,
          box: z.string().check(z.maxLength(2048)),
        }),
      ),
    }),
    z.strictObject({
      kind: z.literal('credential'),
      role: z.optional(z.enum(CERTIFICATE_ROLES)),
      commonName: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      subjectKeyId: z.optional(Digest),
    }),
    z.strictObject({
      kind: z.literal('money'),
      method: PaymentMethod,
      value: Amount,
      payee: Digest,
      reference: z.string().check(z.minLength(1), z.maxLength(128)),
      issuer: SignerConstraint,
      revocableUntil: z.optional(Epoch),
    }),
    z.strictObject({ kind: z.literal('package'), items: z.array(Description).check(z.maxLength(ITEM_LIMITS.packageItems)) }),
  ]),
) as z.ZodMiniType<Description>;

/** The bank's statement inside a money item (core/payment issues these). */
export const PAYMENT_PROOF_TYPE = 'semper.payment.proof';
export const PaymentProofBody = z.strictObject({
  method: PaymentMethod,
  value: Amount,
  payee: Digest,
  reference: z.string().check(z.minLength(1), z.maxLength(128)),
});
export type PaymentProofBody = z.infer<typeof PaymentProofBody>;

/**
 * The AAD a sealed field's box is bound to (core/crypto/seal.ts): its deal, the key id of the party
 * that gives the statement (the sealer), and the digest of the secret. The giver's key is what keeps
 * the TTP from being a decryption oracle: anyone who saw a box could otherwise stage an exchange of
 * their own (their keys, the same deal id) around it, complain, and have the TTP open it.
 */
export function sealedAad(dealId: string, giverKeyId: string, sealed: Pick<SealedField, 'field' | 'digest'>): Uint8Array {
  return new TextEncoder().encode(`semper.sealed-field.v2|${dealId}|${giverKeyId}|${sealed.field}|${sealed.digest}`);
}

/** Depth of a package tree (a leaf item is depth 0). */
export function depthOf(x: Item | Description): number {
  return x.kind === 'package' ? 1 + Math.max(0, ...x.items.map(depthOf)) : 0;
}
