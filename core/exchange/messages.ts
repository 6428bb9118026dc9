/**
 * The statements of the exchange protocols. Every protocol message is a signed statement
 * (core/statements) whose body is validated with these schemas before anything acts on it.
 *
 *   semper.exchange.propose          m1  originator: parties, TTP, both descriptions, deadline,
 *                                        contract signing: commitment h(nO)
 *   semper.exchange.accept           m2  responder: h(m1) (= exchange id); contract signing:
 *                                        commitment h(nR); generatable↔verifiable and
 *                                        revocable↔revocable: the responder's item
 *   semper.exchange.deliver          m3/m4  an item (originator m3, responder m4); contract
 *                                        signing also reveals the nonce and names h(peer nonce)
 *   semper.exchange.abort-request    to the TTP: {exchangeId, m1}
 *   semper.exchange.resolve-request  to the TTP: {exchangeId, m1, m2}  (contract signing)
 *   semper.exchange.complaint        to the TTP: {exchangeId, m1, m2?} (the other protocols)
 *   semper.ttp.abort-token           TTP: the exchange is aborted; it will never resolve it
 *   semper.ttp.resolution            TTP: the exchange is resolved; carries m1, m2, affidavits
 *   semper.ttp.affidavit             TTP: replacement for a generatable item of one party
 *   semper.ttp.revocation-order      TTP: both revocable transfers of the exchange are undone
 *
 * The exchange id is the digest of m1 with its signature in canonical form (exchangeIdOf: one id
 * however the ECDSA signature is encoded). m1 binds both parties' keys, the TTP's key, the deal
 * and a fresh exchange nonce; every later message and every TTP request names the exchange id
 * and each request kind has its own statement type, so no message of one exchange or one
 * sub-protocol can be replayed as another (the Shmatikov–Mitchell fixes to ASW).
 */
import { z } from '../zod.js';
import { isStatementEnvelope, Statement as StatementSchema, StatementEnvelope } from '../statements/schema.js';
import { Description, Digest, Item } from '../items/schema.js';
import { SecurityAttributes } from '../transfer/index.js';
import { PartyRef, ProtocolId, TtpQuorum, TtpRef } from './types.js';

export const EXCHANGE_TYPES = {
  propose: 'semper.exchange.propose',
  accept: 'semper.exchange.accept',
  deliver: 'semper.exchange.deliver',
  abortRequest: 'semper.exchange.abort-request',
  resolveRequest: 'semper.exchange.resolve-request',
  complaint: 'semper.exchange.complaint',
} as const;

export const TTP_TYPES = {
  abortToken: 'semper.ttp.abort-token',
  resolution: 'semper.ttp.resolution',
  affidavit: 'semper.ttp.affidavit',
  revocationOrder: 'semper.ttp.revocation-order',
} as const;

export const TTP_REQUEST_TYPES: readonly string[] = [EXCHANGE_TYPES.abortRequest, EXCHANGE_TYPES.resolveRequest, EXCHANGE_TYPES.complaint];
export const TTP_ANSWER_TYPES: readonly string[] = [TTP_TYPES.abortToken, TTP_TYPES.resolution, TTP_TYPES.revocationOrder];

const Nonce = z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, '256-bit base64url nonce'));
const Epoch = z.number().check(z.int(), z.gte(0));

export const ProposeBody = z.strictObject({
  protocol: ProtocolId,
  exchangeNonce: Nonce,
  originator: PartyRef,
  responder: PartyRef,
  ttp: TtpRef,
  /** k-of-n TTPs (docs/quorum.md); absent: the one TTP `ttp` decides alone. */
  quorum: z.optional(TtpQuorum),
  originatorGives: Description,
  responderGives: Description,
  originatorAttributes: SecurityAttributes,
  responderAttributes: SecurityAttributes,
  /** Responder complaints are accepted by the TTP until then (epoch ms); also m1's expiry. */
  deadline: Epoch,
  /** contract signing: h(nO) */
  commitment: z.optional(Digest),
  terms: z.optional(z.string().check(z.maxLength(4000))),
});
export type ProposeBody = z.infer<typeof ProposeBody>;

export const AcceptBody = z.strictObject({
  exchangeId: Digest,
  /** contract signing: h(nR) */
  commitment: z.optional(Digest),
  /** generatable↔verifiable, revocable↔revocable: the responder's item */
  item: z.optional(Item),
});
export type AcceptBody = z.infer<typeof AcceptBody>;

export const DeliverBody = z.strictObject({
  exchangeId: Digest,
  role: z.enum(['originator', 'responder']),
  item: Item,
  /** contract signing: this party's nonce (its commitment was h(nonce)) */
  nonce: z.optional(Nonce),
  /** contract signing: h(peer's nonce), binding the reveal to this run */
  peerCommitment: z.optional(Digest),
});
export type DeliverBody = z.infer<typeof DeliverBody>;

/**
 * m1 and m2 in a request to the TTP: their envelopes here (so a malformed one is refused where it
 * always was); their bodies were checked as JSON with the request's own, and the TTP verifies both
 * statements in full right after (core/exchange/ttp.ts): each body is validated once.
 */
const Enclosed = StatementEnvelope;
export const AbortRequestBody = z.strictObject({ exchangeId: Digest, m1: Enclosed });
export const ResolveRequestBody = z.strictObject({ exchangeId: Digest, m1: Enclosed, m2: Enclosed });
export const ComplaintBody = z.strictObject({ exchangeId: Digest, m1: Enclosed, m2: z.optional(Enclosed) });

/** Exactly these members, in this order, as the for-in loop of zod's strict objects sees them. */
function hasMembers(o: object, names: readonly string[]): boolean {
  let i = 0;
  for (const name in o) {
    if (name !== names[i]) return false;
    i++;
  }
  return i === names.length;
}

type SafeParse<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: z.core.$ZodError } };

/**
 * A request body's schema, taking a verified body as it is when the schema would only copy it:
 * deep-frozen (the verifier seals every statement, core/encoding sealJson), its members those of
 * one of `shapes` in the schema's order, the exchange id a Digest, and m1 (m2) an envelope
 * isStatementEnvelope takes — which says true only where StatementEnvelope parses to an equal copy
 * in the same member order. So m1 stays the sealed copy with its canonical text, and the TTP's
 * verifier does not walk it again (issue 13). Anything else goes to the schema, which decides and
 * names the failure. test/core/exchange/request-body.test.ts compares both on generated bodies.
 */
function sealedAsIs<T>(schema: SafeParse<T>, shapes: readonly (readonly string[])[]): SafeParse<T> {
  return {
    safeParse(v) {
      if (typeof v === 'object' && v !== null && Object.isFrozen(v) && Object.getPrototypeOf(v) === Object.prototype) {
        const b = v as Record<string, unknown>;
        const enclosed = (s: unknown) => Object.isFrozen(s) && isStatementEnvelope(s);
        for (const shape of shapes) {
          if (!hasMembers(b, shape)) continue;
          if (Digest.safeParse(b.exchangeId).success && enclosed(b.m1) && (shape.length === 2 || enclosed(b.m2))) return { success: true, data: v as T };
          break;
        }
      }
      return schema.safeParse(v);
    },
  };
}

const WITHOUT_M2 = ['exchangeId', 'm1'] as const;
const WITH_M2 = ['exchangeId', 'm1', 'm2'] as const;

/** The TTP's readers of request bodies (checkTtpRequest): the schemas above, with verified bodies taken as they are. */
export const TTP_REQUEST_BODIES = {
  abort: sealedAsIs(AbortRequestBody, [WITHOUT_M2]),
  resolve: sealedAsIs(ResolveRequestBody, [WITH_M2]),
  complaint: sealedAsIs(ComplaintBody, [WITHOUT_M2, WITH_M2]),
} as const;

export const AbortTokenBody = z.strictObject({
  exchangeId: Digest,
  protocol: ProtocolId,
  reason: z.enum(['abort-request', 'deadline-passed']),
  requestedBy: Digest,
});
export type AbortTokenBody = z.infer<typeof AbortTokenBody>;

export const AffidavitBody = z.strictObject({
  exchangeId: Digest,
  /** the party whose item this affidavit replaces */
  onBehalfOf: Digest,
  /** what that party committed to give (fixed content), as it stands in m1 */
  description: Description,
  /** the statement in which the party committed: m1 (originator) or m2 (responder) */
  commitment: Digest,
  /**
   * A description with a sealed field (core/items: `sealed`): the secret the TTP opened, whose
   * SHA-256 is the committed digest — with the description's content, the whole statement the
   * party withheld. Absent when the box did not open to that digest; then `unsealable` says why,
   * and the affidavit is evidence that the giver's commitment in m1 was void.
   */
  revealed: z.optional(
    z.strictObject({
      field: z.string().check(z.maxLength(32)),
      value: z.string().check(z.regex(/^[A-Za-z0-9_-]+$/), z.maxLength(2048)),
    }),
  ),
  unsealable: z.optional(z.string().check(z.maxLength(300))),
});
export type AffidavitBody = z.infer<typeof AffidavitBody>;

export const ResolutionBody = z.strictObject({
  exchangeId: Digest,
  protocol: ProtocolId,
  m1: StatementSchema,
  /** the responder's m2 (generatable↔verifiable: carries the forwarded item) */
  m2: z.optional(StatementSchema),
  affidavits: z.array(StatementSchema).check(z.maxLength(2)),
  /** revocable↔revocable after the deadline: no revocation any more, both transfers are final */
  final: z.optional(z.boolean()),
  requestedBy: Digest,
});
export type ResolutionBody = z.infer<typeof ResolutionBody>;

export const RevocationOrderBody = z.strictObject({
  exchangeId: Digest,
  protocol: z.literal('revocable-revocable'),
  m1: StatementSchema,
  /** every transfer of the exchange is to be undone by whoever can (bank, statement terms) */
  revoke: z.array(z.strictObject({ giver: Digest, description: Description })).check(z.minLength(1), z.maxLength(2)),
  requestedBy: Digest,
});
export type RevocationOrderBody = z.infer<typeof RevocationOrderBody>;
