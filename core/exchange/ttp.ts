/**
 * The TTP's decision logic over one exchange record, pure apart from WebCrypto, and the TTP as a
 * machine on the one contract (`ttpMachine`, whose step is these two):
 *
 *   checkTtpRequest(request, ctx, now)          → CheckedRequest   (or throws, naming the rule)
 *   decideTtp(record | null, checked, ctx, now) → { kind:'existing', answer } | { kind:'decided', record }
 *
 * A record goes `none → aborted | resolved` once and never changes; it stores the one signed
 * answer, and every later request for that exchange (repeated, or the other party's, or the
 * other sub-protocol's) gets exactly that answer. The host stores a `decided` record only if
 * none exists yet, atomically (server/ttp: a SQLite transaction on a UNIQUE exchange id); if it
 * lost a race it steps again on the winner's record and answers with it. So the TTP never both aborts and resolves.
 *
 * What the TTP checks before deciding anything:
 *   - the request is a signed statement of a request type, by the originator or responder that
 *     m1 names; m1 is signed by its originator and names *this* TTP; the request's exchange id
 *     is h(m1) (so it names the exchange and nothing can be replayed into another one);
 *   - m2 (when given) is the responder's, for this exchange;
 *   - the request is allowed for the protocol and the requester's role:
 *       contract signing      abort: originator only; resolve: either, with m2
 *       generatable↔verifiable complaint: responder, with m2 carrying its item; abort:
 *                             originator, only after the deadline
 *       revocable↔revocable   complaint or abort: either; resolve (the final word, after the
 *                             deadline): either, with m2
 *   - external verifiability: before resolving a generatable↔verifiable exchange, the responder's
 *     item in m2 must match the description in m1 (core/items matchItem), else no decision;
 *   - generatability: affidavits are issued only for descriptions that fix the content and are
 *     given by the party that signed the commitment (re-checked with assertFair).
 * Decisions by protocol:
 *   contract signing       abort → aborted (abort token); resolve → resolved (resolution with
 *                          m1, m2 and affidavits replacing both items)
 *   generatable↔verifiable complaint with a matching item → resolved (resolution: affidavit for
 *                          the originator's item, m2 forwarded to the originator); the
 *                          originator's abort only after the deadline → aborted. So until the
 *                          deadline a complaint always wins; after it, whichever comes first.
 *   revocable↔revocable    complaint/abort until the deadline → aborted (revocation order for
 *                          both transfers); any request after the deadline → resolved (final);
 *                          a resolve request before the deadline → refused (too early)
 */
import { z } from '../zod.js';
import { SemperError, isSemperError } from '../errors.js';
import type { Machine } from '../machine.js';
import { openSealed } from '../crypto/seal.js';
import { encodeBase64url, sha256 } from '../encoding/index.js';
import type { Signer } from '../crypto/keys.js';
import { matchItem, type MatchContext, type MatchResult } from '../items/match.js';
import { sealedAad, type Description, type Item, type SealedField } from '../items/schema.js';
import { Statement as StatementSchema, type SignerRef, type Statement } from '../statements/schema.js';
import { Digest } from '../items/schema.js';
import { AcceptBody, EXCHANGE_TYPES, ProposeBody, TTP_REQUEST_BODIES, TTP_TYPES, type ProposeBody as ProposeBodyT } from './messages.js';
import { assertFair } from './negotiate.js';
import { assertQuorum } from './quorum.js';
import { exchangeIdOf, matchContext, parseBody, sign, typeOf, verifyFrom, type VerifyTrust } from './common.js';
import { ProtocolId, type Role, type TtpQuorum, type TtpRef } from './types.js';
import type { RevocationCheck } from '../pki/certificates.js';

export interface TtpContext {
  signer: Signer;
  /** How TTP statements name the key: normally its X.509 chain, so parties can check the certificate. */
  signerRef?: SignerRef;
  trust: { roots: readonly string[]; isRevoked?: RevocationCheck };
  /**
   * The TTP's sealing key (core/crypto/seal.ts; ECDH P-256, never the signing key): opens a
   * description's sealed field for an affidavit. Without it, sealed fields are reported unsealable.
   */
  sealing?: { keyId: string; keys: CryptoKeyPair };
  /** How the TTP checks a verifiable transfer; default core/items matchItem. (Tests inject a broken one.) */
  verifyTransfer?: (item: Item, description: Description, ctx: MatchContext) => Promise<MatchResult>;
}

export type TtpRequestKind = 'abort' | 'resolve' | 'complaint';

export interface CheckedRequest {
  kind: TtpRequestKind;
  exchangeId: string;
  dealId: string;
  protocol: ProtocolId;
  requester: string;
  requesterRole: Role;
  request: Statement;
  m1: Statement;
  m1Body: ProposeBodyT;
  m2: Statement | null;
  /** The responder's item in m2 (generatable↔verifiable and revocable↔revocable) */
  m2Item: Item | null;
}

export interface TtpRecord {
  exchangeId: string;
  dealId: string;
  protocol: ProtocolId;
  decision: 'aborted' | 'resolved';
  decidedAt: number;
  /** key id of the party whose request decided the record */
  decidedBy: string;
  /** The one signed answer every request for this exchange gets. */
  answer: Statement;
}

export type TtpDecision = { kind: 'existing'; answer: Statement } | { kind: 'decided'; record: TtpRecord };

function trustOf(ctx: TtpContext): VerifyTrust {
  return { roots: ctx.trust.roots, ...(ctx.trust.isRevoked ? { isRevoked: ctx.trust.isRevoked } : {}) };
}

const KIND_OF: Record<string, TtpRequestKind> = {
  [EXCHANGE_TYPES.abortRequest]: 'abort',
  [EXCHANGE_TYPES.resolveRequest]: 'resolve',
  [EXCHANGE_TYPES.complaint]: 'complaint',
};

/** Authenticate and validate a request; throws SemperError (ERR_SCHEMA, ERR_SIGNATURE_INVALID, ERR_TTP, ...) naming the rule. */
export async function checkTtpRequest(input: unknown, ctx: TtpContext, now: number): Promise<CheckedRequest> {
  const type = typeOf(input);
  const kind = type ? KIND_OF[type] : undefined;
  if (!kind) throw new SemperError('ERR_STATEMENT_TYPE', `not a TTP request: ${type ?? 'no type'}`);
  const trust = trustOf(ctx);
  const req = await verifyFrom(input, [type!], null, TTP_REQUEST_BODIES[kind], trust, now);
  const m1 = await verifyFrom(req.body.m1, [EXCHANGE_TYPES.propose], null, ProposeBody, trust, now);
  if (m1.keyId !== m1.body.originator.keyId) throw new SemperError('ERR_SIGNATURE_INVALID', 'm1 is not signed by the originator it names');
  const exchangeId = await exchangeIdOf(m1.statement);
  if (req.body.exchangeId !== exchangeId) throw new SemperError('ERR_REPLAY', 'the request names another exchange than h(m1)');
  if (req.statement.dealId !== m1.statement.dealId) throw new SemperError('ERR_REPLAY', 'the request is for another deal than m1');
  if (m1.body.quorum) assertQuorumMember(m1.body.quorum, m1.body.ttp, ctx.signer.keyId);
  else if (m1.body.ttp.keyId !== ctx.signer.keyId) throw new SemperError('ERR_TTP', 'the exchange names another TTP');
  const { originator, responder } = m1.body;
  const requesterRole: Role | null = req.keyId === originator.keyId ? 'originator' : req.keyId === responder.keyId ? 'responder' : null;
  if (!requesterRole) throw new SemperError('ERR_SIGNATURE_INVALID', 'the requester is not a party to this exchange');
  const m2Input = 'm2' in req.body ? req.body.m2 : undefined;
  let m2: Statement | null = null;
  let m2Item: Item | null = null;
  if (m2Input !== undefined) {
    const v = await verifyFrom(m2Input, [EXCHANGE_TYPES.accept], [responder.keyId], AcceptBody, trust, now);
    if (v.body.exchangeId !== exchangeId) throw new SemperError('ERR_REPLAY', 'm2 belongs to another exchange');
    m2 = v.statement;
    m2Item = v.body.item ?? null;
  }
  const protocol = m1.body.protocol;
  const refuse = (rule: string): never => {
    throw new SemperError('ERR_TTP', `${protocol}: ${rule}`);
  };
  switch (protocol) {
    case 'contract-signing':
      if (kind === 'complaint') refuse('use abort or resolve requests');
      if (kind === 'abort' && requesterRole !== 'originator') refuse('only the originator may abort (before it has m2)');
      // (a resolve request always carries m2: ResolveRequestBody requires it)
      break;
    case 'generatable-verifiable':
      if (kind === 'resolve') refuse('the responder complains; the originator asks for abort after the deadline');
      if (kind === 'complaint' && requesterRole !== 'responder') refuse('only the responder (who gave the verifiable item first) complains');
      if (kind === 'complaint' && !m2Item) refuse("a complaint carries m2 with the responder's item");
      if (kind === 'abort' && requesterRole !== 'originator') refuse('only the originator asks for the final abort');
      break;
    case 'revocable-revocable':
      // complaint or abort: have both transfers revoked (until the deadline); resolve: the final word (after it; it
      // carries m2, as every resolve request: ResolveRequestBody requires it).
      break;
  }
  return {
    kind,
    exchangeId,
    dealId: m1.statement.dealId,
    protocol,
    requester: req.keyId,
    requesterRole,
    request: req.statement,
    m1: m1.statement,
    m1Body: m1.body,
    m2,
    m2Item,
  };
}

/**
 * k-of-n (docs/quorum.md): this TTP decides for an exchange only if it is one of the set m1 names and
 * the set follows the quorum rules (a TTP never lends its decision to a quorum of k ≤ n/2).
 */
function assertQuorumMember(quorum: TtpQuorum, ttp: TtpRef, self: string): void {
  assertQuorum(quorum, ttp);
  if (!quorum.ttps.some((t) => t.keyId === self)) throw new SemperError('ERR_TTP', "the exchange's TTP set does not name this TTP");
}

async function affidavit(req: CheckedRequest, party: 'originator' | 'responder', ctx: TtpContext, now: number): Promise<Statement> {
  const onBehalfOf = req.m1Body[party].keyId;
  const description = party === 'originator' ? req.m1Body.originatorGives : req.m1Body.responderGives;
  const commitment = party === 'originator' ? req.exchangeId : await exchangeIdOf(req.m2!);
  const sealed = description.kind === 'statement' ? description.sealed : undefined;
  const opened = sealed ? await openSealedField(sealed, req.dealId, onBehalfOf, ctx) : {};
  return sign(TTP_TYPES.affidavit, req.dealId, { exchangeId: req.exchangeId, onBehalfOf, description, commitment, ...opened }, ctx, now);
}

/** Open a description's sealed field: the secret if it opens to the committed digest, else why not (evidence). */
async function openSealedField(
  sealed: SealedField,
  dealId: string,
  giverKeyId: string,
  ctx: TtpContext,
): Promise<{ revealed: { field: string; value: string } } | { unsealable: string }> {
  if (!ctx.sealing || sealed.to !== ctx.sealing.keyId) return { unsealable: `sealed to key ${sealed.to}, not to this TTP's sealing key` };
  let secret: Uint8Array<ArrayBuffer>;
  try {
    secret = await openSealed(ctx.sealing.keys, sealed.box, sealedAad(dealId, giverKeyId, sealed));
  } catch (e) {
    if (isSemperError(e)) return { unsealable: `${e.code}: ${e.message}`.slice(0, 300) };
    throw e;
  }
  if (encodeBase64url(await sha256(secret)) !== sealed.digest) return { unsealable: 'the box opens to a secret whose SHA-256 is not the committed digest' };
  return { revealed: { field: sealed.field, value: encodeBase64url(secret) } };
}

function transfers(req: CheckedRequest): [Parameters<typeof assertFair>[1], Parameters<typeof assertFair>[2]] {
  const b = req.m1Body;
  return [
    { giver: b.originator.keyId, gives: b.originatorGives, attributes: b.originatorAttributes },
    { giver: b.responder.keyId, gives: b.responderGives, attributes: b.responderAttributes },
  ];
}

/**
 * Decide on a checked request given the exchange's record (null = none yet). Throws ERR_TTP when
 * the request cannot decide anything (too early, item does not match); the record is unchanged.
 */
export async function decideTtp(record: TtpRecord | null, req: CheckedRequest, ctx: TtpContext, now: number): Promise<TtpDecision> {
  if (record) {
    if (record.exchangeId !== req.exchangeId) throw new SemperError('ERR_INTERNAL', 'record of another exchange');
    return { kind: 'existing', answer: record.answer };
  }
  const b = req.m1Body;
  const pastDeadline = now > b.deadline;
  const decide = (decision: TtpRecord['decision'], answer: Statement): TtpDecision => ({
    kind: 'decided',
    record: { exchangeId: req.exchangeId, dealId: req.dealId, protocol: req.protocol, decision, decidedAt: now, decidedBy: req.requester, answer },
  });
  const abortToken = async (reason: 'abort-request' | 'deadline-passed') =>
    decide(
      'aborted',
      await sign(TTP_TYPES.abortToken, req.dealId, { exchangeId: req.exchangeId, protocol: req.protocol, reason, requestedBy: req.requester }, ctx, now),
    );
  const [o, r] = transfers(req);
  switch (req.protocol) {
    case 'contract-signing': {
      if (req.kind === 'abort') return abortToken('abort-request');
      assertFair('contract-signing', o, r);
      const affidavits = [await affidavit(req, 'originator', ctx, now), await affidavit(req, 'responder', ctx, now)];
      const answer = await sign(
        TTP_TYPES.resolution,
        req.dealId,
        { exchangeId: req.exchangeId, protocol: req.protocol, m1: req.m1, m2: req.m2, affidavits, requestedBy: req.requester },
        ctx,
        now,
      );
      return decide('resolved', answer);
    }
    case 'generatable-verifiable': {
      if (req.kind === 'abort') {
        if (pastDeadline) return abortToken('deadline-passed');
        throw new SemperError('ERR_TTP', `generatable-verifiable: too early, the responder may complain until ${new Date(b.deadline).toISOString()}`, {
          retryAfter: b.deadline + 1,
        });
      }
      // A complaint: until the deadline it always wins; after it, only if the originator has not had its abort first
      // (the record would exist). A responder that gave its item and found the TTP down keeps complaining, and wins
      // if the originator never asked.
      assertFair('generatable-verifiable', o, r, b.deadline);
      const check = ctx.verifyTransfer ?? matchItem;
      const m = await check(req.m2Item!, b.responderGives, matchContext(trustOf(ctx), now));
      if (!m.ok) throw new SemperError('ERR_TTP', `generatable-verifiable: the verifiable transfer did not happen as agreed: ${m.reason}`);
      const affidavits = [await affidavit(req, 'originator', ctx, now)];
      const answer = await sign(
        TTP_TYPES.resolution,
        req.dealId,
        { exchangeId: req.exchangeId, protocol: req.protocol, m1: req.m1, m2: req.m2, affidavits, requestedBy: req.requester },
        ctx,
        now,
      );
      return decide('resolved', answer);
    }
    case 'revocable-revocable': {
      if (req.kind === 'resolve' && !pastDeadline) {
        throw new SemperError(
          'ERR_TTP',
          `revocable-revocable: too early for the final word, either party may complain until ${new Date(b.deadline).toISOString()}`,
          {
            retryAfter: b.deadline + 1,
          },
        );
      }
      if (pastDeadline) {
        const answer = await sign(
          TTP_TYPES.resolution,
          req.dealId,
          { exchangeId: req.exchangeId, protocol: req.protocol, m1: req.m1, affidavits: [], final: true, requestedBy: req.requester },
          ctx,
          now,
        );
        return decide('resolved', answer);
      }
      const answer = await sign(
        TTP_TYPES.revocationOrder,
        req.dealId,
        {
          exchangeId: req.exchangeId,
          protocol: req.protocol,
          m1: req.m1,
          revoke: [
            { giver: b.originator.keyId, description: b.originatorGives },
            { giver: b.responder.keyId, description: b.responderGives },
          ],
          requestedBy: req.requester,
        },
        ctx,
        now,
      );
      return decide('aborted', answer);
    }
  }
}

/** Key id of the TTP (what m1 must name). */
export function ttpKeyId(ctx: TtpContext): string {
  return ctx.signer.keyId;
}

export const TtpRecordSchema = z.strictObject({
  exchangeId: Digest,
  dealId: z.string().check(z.minLength(8), z.maxLength(128)),
  protocol: ProtocolId,
  decision: z.enum(['aborted', 'resolved']),
  decidedAt: z.number().check(z.int(), z.gte(0)),
  decidedBy: Digest,
  answer: StatementSchema,
});

/** Parse a stored record (e.g. read back from SQLite). */
export function parseTtpRecord(json: unknown): TtpRecord {
  return parseBody(TtpRecordSchema, json, 'TTP record') as TtpRecord;
}

/** The TTP's state for one exchange: undecided (never stored), or its one decision. */
export interface TtpState {
  exchangeId: string;
  record: TtpRecord | null;
}

/** A request statement (abort, resolve, complaint) as it arrived; `now` is the TTP's clock. */
export type TtpEvent = { type: 'request'; request: unknown; now: number };

/** The answer to the requester: the exchange's one signed answer; `decided` if this request made it. */
export type TtpOutbound = { to: 'requester'; answer: Statement; decided: boolean };

/**
 * Which exchange a request is about (the host's key for the record): the exchange id the request
 * names. The step checks that it is h(m1); a request that lies about it is refused there.
 */
export function ttpRequestKey(request: unknown): string {
  const id = (request as { body?: { exchangeId?: unknown } } | null)?.body?.exchangeId;
  const parsed = Digest.safeParse(id);
  if (!parsed.success) throw new SemperError('ERR_SCHEMA', 'a TTP request names its exchange (body.exchangeId, base64url SHA-256)');
  return parsed.data;
}

/**
 * The TTP on the machine contract: one state per exchange, `open → decided` once. The host stores
 * a decided state only if the exchange has none (compare-and-set on "absent"); if it lost a race,
 * it steps again on the winner's state and answers with the winner's answer.
 */
export const ttpMachine: Machine<TtpState, TtpEvent, TtpContext, TtpOutbound, never, { exchangeId: string }> = {
  kind: 'ttp',
  start: async ({ exchangeId }) => ({ state: { exchangeId, record: null }, send: [], effects: [] }),
  async step(state, event, ctx) {
    const request = await checkTtpRequest(event.request, ctx, event.now);
    if (request.exchangeId !== state.exchangeId) throw new SemperError('ERR_REPLAY', 'the request names another exchange than h(m1)');
    const decision = await decideTtp(state.record, request, ctx, event.now);
    if (decision.kind === 'existing') return { state, send: [{ to: 'requester', answer: decision.answer, decided: false }], effects: [] };
    return {
      state: { exchangeId: state.exchangeId, record: decision.record },
      send: [{ to: 'requester', answer: decision.record.answer, decided: true }],
      effects: [],
    };
  },
  pendingSends: () => [],
  wakeAt: () => null,
  isTerminal: (state) => state.record !== null,
};
