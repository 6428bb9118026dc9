/**
 * Types shared by the generic fair-exchange protocols. States, events, outbound messages and
 * effects are plain JSON: a host persists the state after every step (JSON.stringify) and
 * resumes from it after a crash. Time and randomness enter only through events (`now`) and the
 * context (`random`), so simulations are deterministic.
 */
import { z } from '../zod.js';
import type { RandomSource, StepResult as MachineStep } from '../machine.js';
import type { Signer } from '../crypto/keys.js';
import type { RevocationCheck } from '../pki/certificates.js';
import { SignerRef, type Statement } from '../statements/schema.js';
import type { WebAuthnStatementVerifier } from '../statements/verify.js';
import { Digest } from '../items/schema.js';
import type { Description, Item } from '../items/schema.js';
import type { SecurityAttributes } from '../transfer/index.js';

export const PROTOCOLS = ['generatable-verifiable', 'revocable-revocable', 'contract-signing'] as const;
export const ProtocolId = z.enum(PROTOCOLS);
export type ProtocolId = z.infer<typeof ProtocolId>;

export type Role = 'originator' | 'responder';

/** A party as m1 names it: its key (RFC 7638 thumbprint) and, optionally, how its statements carry the key (e.g. its certificate chain). */
export const PartyRef = z.strictObject({ keyId: Digest, signer: z.optional(SignerRef) });
export type PartyRef = z.infer<typeof PartyRef>;

/** The TTP both parties accepted, pinned by key thumbprint (its statements may carry an X.509 chain). */
export const TtpRef = z.strictObject({ keyId: Digest, endpoint: z.optional(z.string().check(z.url(), z.maxLength(512))) });
export type TtpRef = z.infer<typeof TtpRef>;

/** The most TTPs one exchange may name (each is contacted on every escalation). */
export const MAX_QUORUM_TTPS = 9;

/**
 * k-of-n TTPs (docs/quorum.md): the set of independent TTPs an exchange names and the quorum k of
 * matching signed decisions an outcome needs. Absent from m1 for the one-TTP protocol (n=1, k=1),
 * whose wire format stays as it was. `ttps[0]` is the TTP m1's `ttp` field names.
 */
export const TtpQuorum = z.strictObject({
  k: z.number().check(z.int(), z.gte(1), z.lte(MAX_QUORUM_TTPS)),
  ttps: z.array(TtpRef).check(z.minLength(2), z.maxLength(MAX_QUORUM_TTPS)),
});
export type TtpQuorum = z.infer<typeof TtpQuorum>;

/** What a responder agreed to before m1 arrives: every field of m1 is checked against this, the descriptions or the attributes. */
export interface AgreedProposal {
  /** The originator exactly as m1 must name it (key id; a signer ref only if agreed). */
  originator: PartyRef;
  /** This party exactly as m1 must name it. */
  responder: PartyRef;
  /** The TTP exactly as m1 must name it (key id, and the endpoint if one was agreed). */
  ttp: TtpRef;
  /** k-of-n: the TTP set and quorum m1 must name exactly; null or absent: one TTP, no quorum in m1. */
  quorum?: TtpQuorum | null;
  /** The terms m1 must carry; null: m1 carries none. */
  terms: string | null;
  /** The latest deadline m1 may name (epoch ms); null: only the protocol's own bounds. */
  latestDeadline: number | null;
}

export interface TrustConfig {
  /** CA roots (base64 DER) the user trusts: for certified signers, credentials and the TTP's chain. */
  roots: readonly string[];
  /** Key ids (RFC 7638) of the TTPs the user accepts: a setting, not a constant. */
  ttps: readonly string[];
  isRevoked?: RevocationCheck;
}

export interface ExchangeContext {
  /** This party's signing key. */
  signer: Signer;
  /** How this party's statements name its key (default: the bare JWK). */
  signerRef?: SignerRef;
  trust: TrustConfig;
  /** The exchange nonce and the contract-signing nonces (256-bit each). */
  random: RandomSource;
  webauthn?: WebAuthnStatementVerifier;
}

export interface Timeouts {
  /** How long to wait for the peer before escalating (retransmit or go to the TTP), ms. */
  peer: number;
  /**
   * How long to wait for the TTP's answer before re-sending the same request, ms: the first wait;
   * each further one doubles, up to TTP_RETRY_CAP_MS. A party never gives up on the TTP: once it
   * has asked, something of value may have left (its item, or a message that lets the peer have
   * the exchange resolved), so only the TTP's decision ends the exchange.
   */
  ttpRetry: number;
  /**
   * Safety margin around the exchange deadline, ms: at least the worst-case delay of a message to
   * the TTP plus clock skew. A responder complains no later than `deadline - ttpMargin`; an
   * originator asks the TTP for the final word no earlier than `deadline + ttpMargin`.
   */
  ttpMargin: number;
  /** Retransmissions of a message to the peer before escalating (where the protocol allows it). */
  peerRetries: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { peer: 30_000, ttpRetry: 10_000, ttpMargin: 60_000, peerRetries: 2 };

/** The longest wait between two requests to a TTP that does not answer (unless ttpRetry itself is longer). */
export const TTP_RETRY_CAP_MS = 10 * 60_000;

/** The wait after the `attempt`-th request to the TTP (1-based): ttpRetry, doubling, capped. */
export function ttpRetryDelay(t: Pick<Timeouts, 'ttpRetry'>, attempt: number): number {
  return Math.min(t.ttpRetry * 2 ** Math.min(Math.max(attempt, 1) - 1, 20), Math.max(t.ttpRetry, TTP_RETRY_CAP_MS));
}

export type ExchangeEvent =
  /** A statement arrived (from the peer, or the TTP's answer); it is validated before anything acts on it. */
  | { type: 'message'; message: unknown; now: number; from?: 'peer' | 'ttp' }
  /** The TTP refused a request (HTTP 4xx/5xx with {code, message}). */
  | { type: 'ttp-error'; error: { code: string; message: string }; now: number; ttp?: string }
  /** The host's timer for `wakeAt(state)` fired. */
  | { type: 'timeout'; now: number }
  /** The host restarted from the persisted state: re-send what may not have left. */
  | { type: 'resume'; now: number }
  /** A responder started without its item: here it is (phase 'awaiting-item'); checked against its description. */
  | { type: 'own-item'; item: Item; now: number };

export interface Outbound {
  to: 'peer' | 'ttp';
  statement: Statement;
  /** k-of-n: the key id of the TTP of the set this request goes to (absent with one TTP: the exchange's TTP). */
  ttp?: string;
}

/**
 * k-of-n (docs/quorum.md): every outcome decided by TTPs also carries `quorum`, the k matching
 * decisions of distinct TTPs of the set (the `resolution`/`token`/`order`/`final` named is one of them).
 */
export type ExchangeOutcome =
  /**
   * The main protocol completed: `received` is the peer's item, checked against its description.
   * Revocable↔revocable: only once the TTP said the exchange is final (`final`, its resolution
   * with final: true), because until the deadline a complaint could have both transfers revoked.
   */
  | { status: 'completed'; received: Item; final?: Statement; quorum?: Statement[] }
  /**
   * The TTP resolved the exchange. `replacement` is the TTP's affidavit standing in for the peer's
   * item (generatable items); `received` is the peer's item if it arrived directly or the TTP
   * forwarded it (verifiable items). `resolution` is the TTP's signed statement (evidence).
   */
  | { status: 'resolved'; resolution: Statement; received?: Item; replacement?: Statement; quorum?: Statement[] }
  /** The TTP aborted (abort token): it never resolves this exchange. */
  | { status: 'aborted'; token: Statement; received?: Item; quorum?: Statement[] }
  /**
   * Revocable↔revocable: the TTP ordered the transfers undone (`order`, its revocation order;
   * `revoked`, which transfers: giver and description). An item received is to be given back.
   */
  | { status: 'revoked'; order: Statement; revoked: { giver: string; description: Description }[]; received?: Item; quorum?: Statement[] }
  /**
   * Stopped without giving anything of value: a responder to which no acceptable proposal came.
   * Never the outcome of a party that has asked the TTP (it keeps asking until the TTP decides).
   */
  | { status: 'failed'; reason: string; received?: Item };

export type ExchangeEffect =
  | { kind: 'archive'; statement: Statement; direction: 'sent' | 'received' }
  | { kind: 'rejected-message'; error: { code: string; message: string } }
  | { kind: 'finished'; outcome: ExchangeOutcome };

/**
 * 'awaiting-final' (revocable↔revocable): the main protocol is through, but until the deadline
 * either side could still have both transfers revoked; after deadline+margin the party asks the
 * TTP for its final word (a resolution with final: true, or the revocation order it issued).
 */
/**
 * 'awaiting-item' (a responder started without its item, generatable↔verifiable or revocable↔revocable):
 * m1 was checked and accepted, and the host now makes the item (e.g. pays, so the payment proof
 * exists only once the originator is bound by m1) and hands it in with an `own-item` event.
 */
export type Phase = 'awaiting-m1' | 'awaiting-item' | 'awaiting-m2' | 'awaiting-m3' | 'awaiting-m4' | 'awaiting-final' | 'awaiting-ttp' | 'done';

/** One TTP's signed decision as a party holds it (k-of-n). */
export interface TtpDecisionHeld {
  /** key id of the TTP of the set that signed it */
  ttp: string;
  /** which outcome it decides: the TTP's answer type, a final resolution counted apart */
  outcome: 'aborted' | 'revoked' | 'resolved' | 'final';
  statement: Statement;
}

export interface ExchangeState {
  v: 1;
  protocol: ProtocolId;
  role: Role;
  phase: Phase;
  dealId: string;
  self: PartyRef;
  /** The peer: known to the originator from the start, to the responder from m1 (or pinned in advance). */
  peer: PartyRef | null;
  /**
   * Responder only: what was agreed in advance (e.g. in a signed descriptor) and m1 must say
   * exactly, besides the two descriptions and attributes above. Null for an originator. (Absent
   * in a responder state of an earlier release: such a state takes no m1.)
   */
  agreed: AgreedProposal | null;
  ttp: TtpRef | null;
  /** k-of-n: the TTP set and quorum of the exchange (from m1); null or absent: the one TTP `ttp`. */
  quorum?: TtpQuorum | null;
  /** k-of-n: the first decision each TTP of the set gave this party, until one outcome has k. */
  ttpDecisions?: TtpDecisionHeld[];
  ownGives: Description;
  /** Null only for a responder that gives its item after m1 (phase 'awaiting-item'). */
  ownItem: Item | null;
  peerGives: Description;
  ownAttributes: SecurityAttributes;
  peerAttributes: SecurityAttributes;
  timeouts: Timeouts;
  startedAt: number;
  deadline: number;
  m1: Statement | null;
  m2: Statement | null;
  exchangeId: string | null;
  /** contract signing: this party's secret nonce (revealed in its delivery), and the peer's commitment h(n). */
  nonce: string | null;
  peerCommitment: string | null;
  /** The peer's item, once checked against peerGives. */
  received: Item | null;
  /** This party's own delivery (m3/m4), re-sent if the peer repeats the message it answers. */
  delivered: Statement | null;
  /**
   * The peer's delivery (m3/m4) as it arrived: with m1, m2 and `delivered` the main protocol's
   * transcript, which proves a contract whatever abort token exists (evidence.ts). (Absent in a state
   * of an earlier release.)
   */
  peerDelivery?: Statement | null;
  /** Which TTP request is outstanding (once sent, never changes kind). */
  ttpRequest: 'abort' | 'resolve' | 'complaint' | null;
  ttpAttempts: number;
  retransmits: number;
  /** When the host must deliver a `timeout` event; null = no timer. */
  wakeAt: number | null;
  /** The last messages sent, re-sent on `resume` (receivers are idempotent). */
  outbox: Outbound[];
  outcome: ExchangeOutcome | null;
}

export type StepResult = MachineStep<ExchangeState, Outbound, ExchangeEffect>;

export type { Statement, Description, Item };
