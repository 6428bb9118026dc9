/**
 * Deterministic simulation of one exchange: originator O, responder R and the TTP T over the
 * simulated network of sim.ts (shared with the purchase simulation, purchase-harness.ts), driven
 * by a scheduler that is either FIFO or steered by a list of choices (fast-check generates them).
 * Every party's state is persisted as JSON after every step and re-read before the next, so
 * states are proven to be plain JSON and a crash is "lose what was not persisted, restart from
 * the JSON". The TTP is `ttpMachine` behind an in-memory host (ttp-host.ts): one stored state per
 * exchange, compare-and-set on absent.
 *
 * Network model (what the protocols assume, see core/exchange/parties.ts):
 *   - party↔party messages may be dropped, duplicated, delayed and reordered arbitrarily;
 *   - party↔TTP messages may be duplicated, delayed and reordered, but arrive within TTP_DELAY
 *     (resilient channel with bounded delay: time cannot advance past an undelivered TTP message's
 *     bound); parties re-send unanswered requests;
 *   - time advances only when the scheduler fires the earliest timer.
 *
 * After the run the oracle checks, independently of what the parties' states claim:
 *   fairness     an honest party's peer got its item only if it got the peer's item (checked
 *                with matchItem / the TTP's affidavit), revocations applied;
 *   timeliness   every honest party terminated;
 *   TTP          never both an abort (token/revocation) and a resolution for the exchange.
 */
import {
  judgeContractSigning,
  stepExchange,
  startOriginator,
  startResponder,
  EXCHANGE_TYPES,
  TTP_ANSWER_TYPES,
  TTP_TYPES,
  type ExchangeContext,
  type ExchangeEvent,
  type ExchangeOutcome,
  type ExchangeState,
  type Outbound,
  type StepResult,
  type Timeouts,
  type TtpContext,
  type TtpDecisionHeld,
  type TtpRecord,
  decisionOutcome,
} from '../../core/exchange/index.js';
import { AffidavitBody } from '../../core/exchange/messages.js';
import { errorToJson } from '../../core/errors.js';
import { seededRandom } from '../../core/machine.js';
import { matchItem, type Description, type Item, type MatchContext, type MatchResult } from '../../core/items/index.js';
import { signStatement, verifyStatement, nowIso, type Statement } from '../../core/statements/index.js';
import { DEFAULT_ATTRIBUTES } from '../../core/transfer/index.js';
import { canonicalJson } from '../../core/encoding/index.js';
import { jwkThumbprint, type Signer } from '../../core/crypto/index.js';
import { SIM_TIMEOUTS, T0, TTP_DELAY, type Scenario, type Side } from './fixtures.js';
import { assertPlainJson, Persisted, runSchedule, SimNet, type Budget, type CrashSpec as NetCrashSpec, type Driver, type Wire } from './sim.js';
import { memoryTtp, type MemoryTtp } from './ttp-host.js';

export { assertPlainJson } from './sim.js';

export type PartyId = 'O' | 'R';
/** The TTPs: T alone, or T, T2, T3 of a k-of-n set (docs/quorum.md), in the order m1 names them. */
export type TtpNode = 'T' | 'T2' | 'T3';
export type NodeId = PartyId | TtpNode;
/** How a TTP of a k-of-n set behaves: decides once (honest), signs anything both ways (malicious), refuses everything (down). */
export type TtpBehaviour = 'honest' | 'malicious' | 'down';
const TTP_NODES: readonly TtpNode[] = ['T', 'T2', 'T3'];
const isTtp = (n: NodeId): n is TtpNode => n === 'T' || n === 'T2' || n === 'T3';
export type StepFn = (state: ExchangeState, event: ExchangeEvent, ctx: ExchangeContext) => Promise<StepResult>;

export type CheatStrategy =
  /** substitutes a wrong item in everything it sends (also inside its TTP requests) */
  | 'wrong-item'
  /** never sends its delivery (m3/m4): takes the peer's item and withholds its own */
  | 'withhold'
  /** never talks to the TTP */
  | 'no-ttp'
  /** may inject statements from an earlier exchange and from this run's traffic, to anyone */
  | 'replay'
  /** may send abort/resolve/complaint requests to the TTP at any time */
  | 'rogue-ttp'
  /** (originator) sends, before its real m1, m1s with one field forged each, signed by itself (and one by a stranger) */
  | 'forge-m1'
  /** signs everything it sends (m2, m3, m4, TTP requests) with a key that is not the one the exchange names */
  | 'wrong-key';

/** Timing of a run (Dolev–Yao configurations): the parties' timeouts, the TTP channel's delay bound, the deadline. */
export interface SimTiming {
  timeouts?: Partial<Timeouts>;
  /** Worst-case delay of a message to or from the TTP (must be below ttpMargin). */
  ttpDelay?: number;
  /** The exchange deadline (epoch ms). */
  deadline?: number;
}

export type CrashSpec = NetCrashSpec<NodeId>;

export interface SimOptions {
  scenario: Scenario;
  /** Scheduler choices; absent = FIFO. When they run out the scheduler continues FIFO. */
  choices?: readonly number[];
  crash?: CrashSpec;
  cheater?: { party: PartyId; strategies: readonly CheatStrategy[] };
  /** Deterministic fault for base schedules: drop every party↔party statement of these types. */
  dropTypes?: readonly string[];
  /** Broken variants: replace a party's step function / the TTP's transfer check. */
  steps?: Partial<Record<PartyId, StepFn>>;
  ttpVerifyTransfer?: (item: Item, description: Description, ctx: MatchContext) => Promise<MatchResult>;
  /** Broken TTP: keeps no records, so every request is decided afresh. */
  forgetfulTtp?: boolean;
  /** Statements from an earlier exchange, for the replay cheat. */
  replayPool?: readonly Statement[];
  /** Budgets for the random scheduler. */
  budget?: Partial<Budget>;
  timing?: SimTiming;
  /** Windows (ms after T0, [from, to)) in which the TTP is down: every request gets a refusal (503), none a decision. */
  ttpOutages?: readonly { from: number; to: number }[];
  /**
   * k-of-n TTPs: the exchange names T, T2, T3 (as many as `ttps` lists, each behaving as it says) and
   * quorum k. The oracle then checks that no two conflicting outcomes could reach k decisions (a
   * malicious TTP counted for every outcome) and that every honest party's outcome carries k.
   */
  quorum?: { k: number; ttps: readonly TtpBehaviour[] };
  maxSteps?: number;
  seed?: number;
}

export interface SimResult {
  violations: string[];
  /** messages sent to the TTP (requests), in total */
  ttpRequests: number;
  outcomes: Record<PartyId, ExchangeOutcome | null>;
  finalStates: Record<PartyId, ExchangeState>;
  /** events processed per node (for enumerating crash points) */
  steps: Record<NodeId, number>;
  /** every statement that went over the wire */
  wire: Statement[];
  ttpRecord: TtpRecord | null;
  trace: string[];
}

type Payload = { kind: 'statement'; statement: Statement } | { kind: 'ttp-error'; error: { code: string; message: string } };

interface PartyNode {
  id: PartyId;
  state: Persisted<ExchangeState>;
  ctx: ExchangeContext;
  side: Side;
  step: StepFn;
}

/** The cheater's own moves (besides what the network does). */
type Move = { kind: 'inject'; statement: Statement; to: NodeId } | { kind: 'rogue'; request: 'abort' | 'resolve' | 'complaint' };

const other = (p: PartyId): PartyId => (p === 'O' ? 'R' : 'O');

export async function simulate(opts: SimOptions): Promise<SimResult> {
  const sc = opts.scenario;
  const seed = opts.seed ?? 0;
  const maxSteps = opts.maxSteps ?? 400;
  const ttpNodes: TtpNode[] = opts.quorum ? TTP_NODES.slice(0, opts.quorum.ttps.length) : ['T'];
  const behaviour = (n: TtpNode): TtpBehaviour => (opts.quorum ? opts.quorum.ttps[ttpNodes.indexOf(n)]! : 'honest');
  const ttpSigners: Record<TtpNode, { signer: Signer; chain: string[] }> = {
    T: { signer: sc.keys.ttp, chain: sc.keys.ttpChain },
    T2: sc.keys.moreTtps[0]!,
    T3: sc.keys.moreTtps[1]!,
  };
  const setKeys = ttpNodes.map((n) => ttpSigners[n].signer.keyId);
  const nodeOfTtp = (keyId: string | undefined): TtpNode => (keyId === undefined ? 'T' : (ttpNodes.find((n) => ttpSigners[n].signer.keyId === keyId) ?? 'T'));
  const quorum = opts.quorum ? { k: opts.quorum.k, ttps: setKeys.map((keyId) => ({ keyId })) } : null;
  const net = new SimNet<NodeId>({ t0: T0, nodes: ['O', 'R', ...ttpNodes], choices: opts.choices, crash: opts.crash, budget: opts.budget });
  const violations: string[] = [];
  const wire: Statement[] = [];
  /** statements each party itself sent in this run (injected replays are attributed to the cheater) */
  const sentBy: Record<NodeId, Statement[]> = { O: [], R: [], T: [], T2: [], T3: [] };
  let ttpRequests = 0;
  const cheater = opts.cheater?.party ?? null;
  const cheats = new Set(opts.cheater?.strategies ?? []);
  const timeouts: Timeouts = { ...SIM_TIMEOUTS, ...opts.timing?.timeouts };
  const ttpDelay = opts.timing?.ttpDelay ?? TTP_DELAY;
  const deadline = opts.timing?.deadline ?? sc.deadline;
  if (ttpDelay >= timeouts.ttpMargin) throw new Error('harness: the TTP delay bound must be below the margin (the protocols assume it)');
  const ttpDown = (now: number) => (opts.ttpOutages ?? []).some((o) => now - T0 >= o.from && now - T0 < o.to);
  /** m1s the forging originator already sent its forgeries for. */
  const forged = new Set<string>();

  // TTP: ttpMachine behind an in-memory host (state per exchange as JSON text), and every answer it gave; one per TTP of a set.
  const hosts: Record<TtpNode, MemoryTtp> = {
    T: memoryTtp({ forgetful: opts.forgetfulTtp ?? false }),
    T2: memoryTtp(),
    T3: memoryTtp(),
  };
  const ttp = hosts.T;
  const ttpCtxOf = (n: TtpNode): TtpContext => ({
    ...sc.ttpContext(),
    signer: ttpSigners[n].signer,
    signerRef: { kind: 'x509', chain: ttpSigners[n].chain },
    ...(opts.ttpVerifyTransfer ? { verifyTransfer: opts.ttpVerifyTransfer } : {}),
  });
  /** Per TTP and exchange (`node|exchangeId`), the answer types it gave. */
  const answersGiven = new Map<string, Set<string>>();
  /** Every answer the TTP gave (to anyone). */
  const ttpAnswers: Statement[] = [];

  const nodes: Record<PartyId, PartyNode> = {
    O: { id: 'O', state: new Persisted(), ctx: { ...sc.O.ctx, random: seededRandom(seed * 2 + 11) }, side: sc.O, step: opts.steps?.O ?? stepExchange },
    R: { id: 'R', state: new Persisted(), ctx: { ...sc.R.ctx, random: seededRandom(seed * 2 + 12) }, side: sc.R, step: opts.steps?.R ?? stepExchange },
  };
  if (quorum) for (const p of ['O', 'R'] as const) nodes[p].ctx = { ...nodes[p].ctx, trust: { ...nodes[p].ctx.trust, ttps: setKeys } };
  const stateOf = (p: PartyId): ExchangeState => nodes[p].state.load();

  function enqueue(from: NodeId, to: NodeId, payload: Payload): void {
    if (payload.kind === 'statement') {
      wire.push(payload.statement);
      sentBy[from].push(payload.statement);
    }
    if (isTtp(to)) ttpRequests++;
    if (!isTtp(from) && !isTtp(to) && payload.kind === 'statement' && opts.dropTypes?.includes(payload.statement.type)) {
      net.log(`${from}→${to} ${payload.statement.type} (dropped by base schedule)`);
      return;
    }
    const bounded = isTtp(from) || isTtp(to);
    const label = payload.kind === 'statement' ? payload.statement.type : `ttp-error ${payload.error.code}`;
    net.send(from, to, payload, { droppable: !bounded, deliverBy: bounded ? net.now + ttpDelay : null, label });
  }

  // --- the cheater's view of its own traffic ---------------------------------------------------
  const substituted = new Map<string, Statement>();
  async function cheatFilter(p: PartyId, out: Outbound[]): Promise<Outbound[]> {
    if (p !== cheater) return out;
    const res: Outbound[] = [];
    for (const o of out) {
      let st = o.statement;
      if (cheats.has('forge-m1') && o.to === 'peer' && st.type === EXCHANGE_TYPES.propose && !forged.has(canonicalJson(st))) {
        forged.add(canonicalJson(st));
        for (const f of await forgedProposals(nodes[p], st)) res.push({ to: 'peer', statement: f });
      }
      if (o.to === 'ttp' && cheats.has('no-ttp')) continue;
      if (o.to === 'peer' && cheats.has('withhold') && st.type === EXCHANGE_TYPES.deliver) continue;
      if (cheats.has('wrong-item')) {
        const body = st.body as Record<string, unknown>;
        if (o.to === 'peer' && 'item' in body) {
          const key = canonicalJson(st);
          const replaced = substituted.get(key) ?? (await resign(nodes[p], st, { ...body, item: nodes[p].side.wrongItem }));
          substituted.set(key, replaced);
          st = replaced;
        } else if (o.to === 'ttp' && body.m2 && p === 'R') {
          const replaced = substituted.get(canonicalJson(body.m2));
          if (replaced) st = await resign(nodes[p], st, { ...body, m2: replaced });
        }
      }
      if (cheats.has('wrong-key'))
        st = await resign({ ...nodes[p], ctx: { ...nodes[p].ctx, signer: sc.keys.mallory } }, st, st.body as Record<string, unknown>);
      res.push({ ...o, statement: st });
    }
    return res;
  }

  /** Every field of m1 forged in turn (re-signed by the originator), and the genuine m1 signed by a stranger. */
  async function forgedProposals(node: PartyNode, m1: Statement): Promise<Statement[]> {
    const b = m1.body as Record<string, unknown>;
    const attrs = b.originatorAttributes as Record<string, unknown>;
    const patches: Record<string, unknown>[] = [
      { terms: 'R additionally owes O 1,000,000 EUR.' },
      { originatorAttributes: { ...attrs, confidentiality: 'none' } },
      { responderAttributes: { ...attrs, nonRepudiationOfReceipt: true } },
      { ttp: { keyId: sc.keys.ttp.keyId, endpoint: 'https://ttp.evil.example/' } },
      { ttp: { keyId: sc.keys.mallory.keyId } },
      { originator: { keyId: sc.keys.o.keyId, signer: { kind: 'jwk', jwk: sc.keys.mallory.publicJwk } } },
      { responder: { keyId: sc.keys.r.keyId, signer: { kind: 'jwk', jwk: sc.keys.mallory.publicJwk } } },
      { responder: { keyId: sc.keys.mallory.keyId } },
      { originatorGives: nodes.R.side.gives },
      { responderGives: nodes.O.side.gives },
      { deadline: deadline + 86_400_000 },
      { exchangeNonce: 'A'.repeat(43), protocol: sc.protocol === 'contract-signing' ? 'generatable-verifiable' : 'contract-signing' },
      sc.protocol === 'contract-signing' ? { commitment: undefined } : { commitment: 'B'.repeat(43) },
    ];
    const out: Statement[] = [];
    for (const patch of patches) {
      const body = Object.fromEntries(Object.entries({ ...b, ...patch }).filter(([, v]) => v !== undefined));
      out.push(await resign(node, m1, body));
    }
    out.push(await resign({ ...node, ctx: { ...node.ctx, signer: sc.keys.mallory } }, m1, b));
    out.push((await signStatement({ type: m1.type, version: 1, dealId: `${m1.dealId}-x`, issuedAt: nowIso(net.now), body: b }, node.ctx.signer)) as Statement);
    return out;
  }

  async function resign(node: PartyNode, st: Statement, body: Record<string, unknown>): Promise<Statement> {
    return (await signStatement({ type: st.type, version: 1, dealId: st.dealId, issuedAt: nowIso(net.now), body }, node.ctx.signer)) as Statement;
  }

  async function applyResult(p: PartyId, res: StepResult, crash: CrashSpec | null): Promise<void> {
    assertPlainJson(res.state);
    if (crash?.mode === 'before-persist') {
      net.log(`${p} CRASH before persisting`);
      return restart(p);
    }
    nodes[p].state.save(res.state);
    if (crash?.mode === 'before-send') {
      net.log(`${p} CRASH after persisting, before sending`);
      return restart(p);
    }
    for (const o of await cheatFilter(p, res.send)) enqueue(p, o.to === 'peer' ? other(p) : nodeOfTtp(o.ttp), { kind: 'statement', statement: o.statement });
  }

  async function restart(p: PartyId): Promise<void> {
    const res = await nodes[p].step(stateOf(p), { type: 'resume', now: net.now }, nodes[p].ctx);
    await applyResult(p, res, null);
  }

  async function deliverToParty(p: PartyId, event: ExchangeEvent): Promise<void> {
    const crash = net.step(p);
    const res = await nodes[p].step(stateOf(p), event, nodes[p].ctx);
    for (const e of res.effects) if (e.kind === 'rejected-message') net.log(`${p} rejected: ${e.error.code} ${e.error.message}`);
    await applyResult(p, res, crash);
  }

  async function deliverToTtp(w: Wire<NodeId>): Promise<void> {
    const node = w.to as TtpNode;
    const crash = net.step(node);
    const payload = JSON.parse(w.json) as Payload;
    if (payload.kind !== 'statement') return;
    const answer = (reply: Payload) => {
      if (!isTtp(w.from)) enqueue(node, w.from, reply);
    };
    let reply: Payload;
    if (crash?.mode === 'before-persist') {
      net.log(`${node} CRASH before persisting`);
      return;
    }
    if (ttpDown(net.now) || behaviour(node) === 'down') {
      net.log(`${node} is down: ${payload.statement.type} from ${w.from} → 503`);
      answer({ kind: 'ttp-error', error: { code: 'ERR_INTERNAL', message: 'HTTP 503: the TTP is down' } });
      return;
    }
    if (behaviour(node) === 'malicious') {
      for (const st of await maliciousAnswers(node, payload.statement)) {
        ttpAnswers.push(st);
        net.log(`${node} (malicious) ${payload.statement.type} from ${w.from} → ${st.type}`);
        answer({ kind: 'statement', statement: st });
      }
      return;
    }
    try {
      const r = await hosts[node].request(payload.statement, ttpCtxOf(node), net.now);
      reply = { kind: 'statement', statement: r.answer };
      ttpAnswers.push(r.answer);
      const key = `${node}|${r.record.exchangeId}`;
      const given = answersGiven.get(key) ?? new Set<string>();
      given.add(r.answer.type);
      answersGiven.set(key, given);
      net.log(`${node} ${payload.statement.type} from ${w.from} → ${r.answer.type}${r.decided ? ' (decided)' : ''}`);
    } catch (e) {
      reply = { kind: 'ttp-error', error: errorToJson(e) };
      net.log(`${node} ${payload.statement.type} from ${w.from} → error ${reply.error.code}: ${reply.error.message}`);
    }
    if (crash?.mode === 'before-send') {
      net.log(`${node} CRASH after persisting, before answering`);
      return;
    }
    answer(reply);
  }

  /**
   * A malicious TTP of the set: for any request naming an m1, it signs both ways — an abort (or, revocable↔revocable,
   * a revocation order) and a resolution (or the final word) with affidavits for both parties — and answers with both,
   * in an order that alternates from request to request. Everything it signs is on the table for the oracle.
   */
  let maliciousCount = 0;
  async function maliciousAnswers(node: TtpNode, request: Statement): Promise<Statement[]> {
    const body = request.body as { exchangeId?: unknown; m1?: Statement; m2?: Statement };
    const m1 = body.m1;
    const m1Body = m1?.body as {
      protocol?: string;
      originator?: { keyId: string };
      responder?: { keyId: string };
      originatorGives?: unknown;
      responderGives?: unknown;
    };
    if (typeof body.exchangeId !== 'string' || !m1Body?.protocol || !m1Body.originator || !m1Body.responder) return [];
    const exchangeId = body.exchangeId;
    const { signer, chain } = ttpSigners[node];
    const signed = async (type: string, b: Record<string, unknown>) =>
      (await signStatement({ type, version: 1, dealId: request.dealId, issuedAt: nowIso(net.now), body: b }, signer, {
        signerRef: { kind: 'x509', chain },
      })) as Statement;
    const protocol = m1Body.protocol;
    const requestedBy = m1Body.originator.keyId;
    const revocable = protocol === 'revocable-revocable';
    const abort = revocable
      ? await signed(TTP_TYPES.revocationOrder, {
          exchangeId,
          protocol,
          m1,
          revoke: [
            { giver: m1Body.originator.keyId, description: m1Body.originatorGives },
            { giver: m1Body.responder.keyId, description: m1Body.responderGives },
          ],
          requestedBy,
        })
      : await signed(TTP_TYPES.abortToken, { exchangeId, protocol, reason: 'abort-request', requestedBy });
    const affidavits = revocable
      ? []
      : [
          await signed(TTP_TYPES.affidavit, { exchangeId, onBehalfOf: m1Body.originator.keyId, description: m1Body.originatorGives, commitment: exchangeId }),
          await signed(TTP_TYPES.affidavit, { exchangeId, onBehalfOf: m1Body.responder.keyId, description: m1Body.responderGives, commitment: exchangeId }),
        ];
    const resolve = await signed(TTP_TYPES.resolution, {
      exchangeId,
      protocol,
      m1,
      ...(body.m2 ? { m2: body.m2 } : {}),
      affidavits,
      ...(revocable ? { final: true } : {}),
      requestedBy,
    });
    return maliciousCount++ % 2 === 0 ? [abort, resolve] : [resolve, abort];
  }

  // --- cheater's extra moves --------------------------------------------------------------------
  function rogueMoves(): Move[] {
    if (!cheater || !cheats.has('rogue-ttp')) return [];
    const s = stateOf(cheater);
    if (!s.m1 || !s.exchangeId) return [];
    const moves: Move[] = [
      { kind: 'rogue', request: 'abort' },
      { kind: 'rogue', request: 'complaint' },
    ];
    if (s.m2) moves.push({ kind: 'rogue', request: 'resolve' });
    return moves;
  }

  async function rogue(kind: 'abort' | 'resolve' | 'complaint'): Promise<void> {
    const p = cheater!;
    const s = stateOf(p);
    const type = kind === 'abort' ? EXCHANGE_TYPES.abortRequest : kind === 'resolve' ? EXCHANGE_TYPES.resolveRequest : EXCHANGE_TYPES.complaint;
    const body: Record<string, unknown> = { exchangeId: s.exchangeId, m1: s.m1 };
    if (s.m2) body.m2 = cheats.has('wrong-item') ? (substituted.get(canonicalJson(s.m2)) ?? s.m2) : s.m2;
    const st = (await signStatement({ type, version: 1, dealId: s.dealId, issuedAt: nowIso(net.now), body }, nodes[p].ctx.signer)) as Statement;
    net.log(`${p} (cheater) sends ${type}`);
    for (const n of ttpNodes) enqueue(p, n, { kind: 'statement', statement: st });
  }

  function injectMoves(): Move[] {
    if (!cheater || !cheats.has('replay')) return [];
    const pool = [...(opts.replayPool ?? []), ...wire];
    return pool.flatMap((statement) => [
      { kind: 'inject' as const, statement, to: other(cheater) },
      { kind: 'inject' as const, statement, to: 'T' as const },
    ]);
  }

  const driver: Driver<NodeId, Move> = {
    async deliver(w) {
      if (isTtp(w.to)) return deliverToTtp(w);
      const payload = JSON.parse(w.json) as Payload;
      net.log(`${w.from}→${w.to} ${w.label}`);
      const event: ExchangeEvent =
        payload.kind === 'statement'
          ? { type: 'message', message: payload.statement, now: net.now, from: isTtp(w.from) ? 'ttp' : 'peer' }
          : { type: 'ttp-error', error: payload.error, now: net.now };
      await deliverToParty(w.to, event);
    },
    nextTimer() {
      const ts = (['O', 'R'] as const).map((p) => stateOf(p).wakeAt).filter((t): t is number => t !== null);
      return ts.length ? Math.min(...ts) : null;
    },
    async fireTimers() {
      for (const p of ['O', 'R'] as const) {
        const s = stateOf(p);
        if (s.wakeAt !== null && s.wakeAt <= net.now) {
          net.log(`${p} timeout`);
          await deliverToParty(p, { type: 'timeout', now: net.now });
        }
      }
    },
    crashable: () => [
      ...(['O', 'R'] as const).filter((p) => p !== cheater && stateOf(p).phase !== 'done'),
      ...ttpNodes.filter((n) => behaviour(n) === 'honest'),
    ],
    moves: () => (net.budget.injections > 0 ? [...injectMoves().slice(-12), ...rogueMoves()] : []),
    async perform(move) {
      net.budget.injections--;
      if (move.kind === 'inject') {
        net.log(`${cheater} (cheater) injects ${move.statement.type} to ${move.to}`);
        enqueue(cheater!, move.to, { kind: 'statement', statement: move.statement });
      } else {
        await rogue(move.request);
      }
    },
  };

  // --- start ------------------------------------------------------------------------------------
  const common = { protocol: sc.protocol, dealId: sc.dealId, now: net.now, timeouts };
  const rStart = await startResponder(
    {
      ...common,
      gives: sc.R.gives,
      item: sc.R.item,
      expects: sc.O.gives,
      originator: { keyId: sc.keys.o.keyId },
      ttp: { keyId: sc.keys.ttp.keyId },
      ...(quorum ? { quorum } : {}),
      latestDeadline: deadline,
    },
    nodes.R.ctx,
  );
  nodes.R.state.save(rStart.state);
  const oStart = await startOriginator(
    {
      ...common,
      gives: sc.O.gives,
      item: sc.O.item,
      expects: sc.R.gives,
      responder: { keyId: sc.keys.r.keyId },
      ttp: { keyId: sc.keys.ttp.keyId },
      ...(quorum ? { quorum } : {}),
      deadline,
    },
    nodes.O.ctx,
  );
  await applyResult('O', oStart, null);

  // --- run --------------------------------------------------------------------------------------
  await runSchedule(net, driver, maxSteps);
  // --- oracle -----------------------------------------------------------------------------------
  const finalStates = { O: stateOf('O'), R: stateOf('R') };
  const outcomes = { O: finalStates.O.outcome, R: finalStates.R.outcome };
  const exchangeId = finalStates.O.exchangeId;
  const ttpRecord = exchangeId ? ttp.get(exchangeId) : null;

  for (const [id, given] of answersGiven) {
    const aborted = given.has(TTP_TYPES.abortToken) || given.has(TTP_TYPES.revocationOrder);
    if (aborted && given.has(TTP_TYPES.resolution)) violations.push(`TTP consistency: exchange ${id} was both aborted and resolved`);
  }
  for (const p of ['O', 'R'] as const) {
    if (p === cheater) continue;
    if (finalStates[p].phase !== 'done') violations.push(`timeliness: honest ${p} did not terminate (phase ${finalStates[p].phase}) within ${maxSteps} steps`);
  }
  // Every honest party's outcome agrees with the TTP's one decision for its exchange, and every TTP statement it
  // holds is the TTP's (its key), for its exchange, and every affidavit replaces exactly the agreed description of
  // a party of the exchange. Aborts (abort token) and revocations (revocation order) are different outcomes.
  for (const p of ['O', 'R'] as const) {
    if (p === cheater) continue;
    const o = outcomes[p];
    const exId = finalStates[p].exchangeId;
    if (quorum) {
      await checkQuorumOutcome(p, o, exId);
      continue;
    }
    const record = exId ? ttp.get(exId) : null;
    const held =
      o?.status === 'resolved'
        ? o.resolution
        : o?.status === 'aborted'
          ? o.token
          : o?.status === 'revoked'
            ? o.order
            : o?.status === 'completed'
              ? (o.final ?? null)
              : null;
    if (held) {
      const problem = await checkTtpStatement(held, exId);
      if (problem) violations.push(`evidence: honest ${p} holds a TTP statement that ${problem}`);
      if (!record || canonicalJson(record.answer) !== canonicalJson(held))
        violations.push(`outcome: honest ${p} holds a TTP answer that is not the TTP's decision for its exchange`);
    }
    const answer = record?.answer.type;
    if (answer === TTP_TYPES.revocationOrder && o?.status !== 'revoked')
      violations.push(`outcome: the TTP revoked ${p}'s exchange, but honest ${p} ended ${o?.status ?? 'without an outcome'}`);
    if (o?.status === 'revoked' && answer !== TTP_TYPES.revocationOrder)
      violations.push(`outcome: honest ${p} ended revoked, but the TTP decided ${answer ?? 'nothing'}`);
    if (o?.status === 'aborted' && answer !== TTP_TYPES.abortToken)
      violations.push(`outcome: honest ${p} ended aborted, but the TTP decided ${answer ?? 'nothing'}`);
    if (answer === TTP_TYPES.resolution && (o?.status === 'aborted' || o?.status === 'revoked' || o?.status === 'failed'))
      violations.push(`outcome: the TTP resolved ${p}'s exchange, but honest ${p} ended ${o.status}`);
  }

  /**
   * k-of-n: the outcomes that k TTPs of the set could have signed for an exchange — each honest TTP's one decision,
   * and every malicious TTP counted for every outcome (it signs whatever anyone asks). More than one is a conflict.
   */
  function quorumOutcomes(exId: string): TtpDecisionHeld['outcome'][] {
    const malicious = ttpNodes.filter((n) => behaviour(n) === 'malicious').length;
    const counts = new Map<TtpDecisionHeld['outcome'], number>();
    for (const n of ttpNodes) {
      if (behaviour(n) !== 'honest') continue;
      const r = hosts[n].get(exId);
      if (r) counts.set(decisionOutcome(r.answer), (counts.get(decisionOutcome(r.answer)) ?? 0) + 1);
    }
    return (['aborted', 'revoked', 'resolved', 'final'] as const).filter((c) => (counts.get(c) ?? 0) + malicious >= quorum!.k);
  }

  /** k-of-n: an honest party's outcome rests on k decisions of distinct TTPs of the set, of the one outcome k can reach. */
  async function checkQuorumOutcome(p: PartyId, o: ExchangeOutcome | null, exId: string | null): Promise<void> {
    const possible = exId ? quorumOutcomes(exId) : [];
    if (possible.length > 1)
      violations.push(`TTP consistency: conflicting outcomes ${possible.join(' and ')} can both reach ${quorum!.k} decisions for ${p}'s exchange`);
    const decided = o?.status === 'aborted' || o?.status === 'revoked' || o?.status === 'resolved' || (o?.status === 'completed' && o.final);
    if (o && decided) {
      const q = o.quorum ?? [];
      const signers = new Set<string>();
      for (const st of q) {
        const problem = await checkTtpStatement(st, exId);
        if (problem) violations.push(`evidence: honest ${p} holds a TTP statement that ${problem}`);
        signers.add(await jwkThumbprint((await verifyStatement(st, { trust: { roots: [sc.keys.root], now: new Date(net.now) } })).signerJwk));
      }
      const outcomes = new Set(q.map((st) => decisionOutcome(st)));
      if (signers.size < quorum!.k || outcomes.size !== 1)
        violations.push(`outcome: honest ${p} ended ${o.status} on ${signers.size} decisions of ${outcomes.size} outcomes, not ${quorum!.k} of one`);
      const [outcome] = [...outcomes];
      if (outcome && !possible.includes(outcome)) violations.push(`outcome: honest ${p} ended ${outcome}, which no quorum of the TTPs decided`);
    }
    if (possible.length === 1) {
      const only = possible[0]!;
      if (only === 'revoked' && o?.status !== 'revoked')
        violations.push(`outcome: a quorum revoked ${p}'s exchange, but honest ${p} ended ${o?.status ?? 'without an outcome'}`);
      if (only === 'resolved' && (o?.status === 'aborted' || o?.status === 'revoked' || o?.status === 'failed'))
        violations.push(`outcome: a quorum resolved ${p}'s exchange, but honest ${p} ended ${o.status}`);
      if (only === 'aborted' && o && o.status !== 'aborted' && o.status !== 'failed' && !(o.status === 'completed' && !o.final))
        violations.push(`outcome: a quorum aborted ${p}'s exchange, but honest ${p} ended ${o.status}`);
    }
  }

  /** What is wrong with a TTP statement an honest party holds as evidence (null: nothing). */
  async function checkTtpStatement(st: Statement, exId: string | null): Promise<string | null> {
    try {
      const v = await verifyStatement(st, { types: TTP_ANSWER_TYPES, trust: { roots: [sc.keys.root], now: new Date(net.now) } });
      const signer = await jwkThumbprint(v.signerJwk);
      if (!setKeys.includes(signer)) return 'is not signed by the TTP of the exchange';
      const body = v.statement.body as { exchangeId?: string; affidavits?: unknown[] };
      if (body.exchangeId !== exId) return 'names another exchange';
      for (const a of body.affidavits ?? []) {
        const av = await verifyStatement(a, { types: [TTP_TYPES.affidavit], trust: { roots: [sc.keys.root], now: new Date(net.now) } });
        if ((await jwkThumbprint(av.signerJwk)) !== signer) return 'carries an affidavit not signed by the TTP';
        const b = AffidavitBody.parse(av.statement.body);
        if (b.exchangeId !== exId) return 'carries an affidavit for another exchange';
        const party = b.onBehalfOf === sc.keys.o.keyId ? sc.O : b.onBehalfOf === sc.keys.r.keyId ? sc.R : null;
        if (!party) return 'carries an affidavit on behalf of a stranger';
        if (canonicalJson(b.description) !== canonicalJson(party.gives)) return 'carries an affidavit for another description than the agreed one';
      }
      return null;
    } catch (e) {
      return `does not verify (${errorToJson(e).code})`;
    }
  }

  // Contract signing: the contract is judged on everything anyone could show (every statement on the wire, every TTP
  // answer); if it stands, every honest party can show it with what it holds itself (evidence.ts). So an abort token in
  // the cheater's hands never leaves an honest party bound without proof, nor proof without a binding.
  if (sc.protocol === 'contract-signing') {
    for (const p of ['O', 'R'] as const) {
      if (p === cheater) continue;
      const st = finalStates[p];
      if (!st.m1 || !st.exchangeId) continue;
      const all = [...wire, ...ttpAnswers];
      const of = (type: string, role?: string) =>
        all.filter(
          (x) => x.type === type && (x.body as { exchangeId?: string }).exchangeId === st.exchangeId && (!role || (x.body as { role?: string }).role === role),
        );
      const judgeTrust = { roots: [sc.keys.root], now: net.now };
      let anyone = false;
      for (const m2 of of(EXCHANGE_TYPES.accept))
        for (const m3 of of(EXCHANGE_TYPES.deliver, 'originator'))
          for (const m4 of of(EXCHANGE_TYPES.deliver, 'responder'))
            if (!anyone && (await judgeContractSigning({ m1: st.m1, m2, m3, m4 }, judgeTrust)).signed) anyone = true;
      if (quorum) {
        // k-of-n: the resolutions on the table, and whatever k TTPs could sign (a malicious one signs for anyone who asks).
        if (!anyone && (await judgeContractSigning({ m1: st.m1, resolutions: of(TTP_TYPES.resolution) }, judgeTrust)).signed) anyone = true;
        if (quorumOutcomes(st.exchangeId).includes('resolved')) anyone = true;
      } else
        for (const resolution of of(TTP_TYPES.resolution))
          if (!anyone && (await judgeContractSigning({ m1: st.m1, resolution }, judgeTrust)).signed) anyone = true;
      const o = st.outcome;
      const own = await judgeContractSigning(
        {
          m1: st.m1,
          ...(st.m2 ? { m2: st.m2 } : {}),
          ...(st.role === 'originator'
            ? { m3: st.delivered ?? undefined, m4: st.peerDelivery ?? undefined }
            : { m3: st.peerDelivery ?? undefined, m4: st.delivered ?? undefined }),
          ...(o?.status === 'resolved' ? { resolution: o.resolution, ...(o.quorum ? { resolutions: o.quorum } : {}) } : {}),
          ...(o?.status === 'aborted' ? { abortToken: o.token, ...(o.quorum ? { abortTokens: o.quorum } : {}) } : {}),
        },
        judgeTrust,
      );
      if (anyone && !own.signed) violations.push(`contract: the contract stands (evidence exists), but honest ${p} cannot show it (${own.basis})`);
      if (own.signed && o?.status !== 'completed' && o?.status !== 'resolved')
        violations.push(`contract: honest ${p} holds the contract but ended ${o?.status ?? 'undecided'}`);
    }
  }

  // An honest responder answers only an m1 that says exactly what was agreed (issue 8, item 2).
  if (cheater !== 'R' && finalStates.R.m1) {
    const b = finalStates.R.m1.body as Record<string, unknown>;
    const expected: Record<string, unknown> = {
      protocol: sc.protocol,
      originator: { keyId: sc.keys.o.keyId },
      responder: { keyId: sc.keys.r.keyId },
      ttp: { keyId: sc.keys.ttp.keyId },
      originatorGives: sc.O.gives,
      responderGives: sc.R.gives,
      originatorAttributes: DEFAULT_ATTRIBUTES,
      responderAttributes: DEFAULT_ATTRIBUTES,
    };
    for (const [k, v] of Object.entries(expected))
      if (canonicalJson(b[k]) !== canonicalJson(v)) violations.push(`agreement: honest R answered an m1 whose ${k} differs from what was agreed`);
    if (b.terms !== undefined) violations.push('agreement: honest R answered an m1 with terms nobody agreed to');
    if (typeof b.deadline !== 'number' || b.deadline > deadline) violations.push('agreement: honest R answered an m1 with a later deadline than agreed');
    if (finalStates.R.m1.dealId !== sc.dealId) violations.push('agreement: honest R answered an m1 of another deal');
    if (
      !(await verifyStatement(finalStates.R.m1)
        .then(async (v) => (await jwkThumbprint(v.signerJwk)) === sc.keys.o.keyId)
        .catch(() => false))
    )
      violations.push('agreement: honest R answered an m1 not signed by the agreed originator');
  }

  // The exchange that matters is the honest party's (a replayed m1 can make it an older one).
  const focus = cheater ? other(cheater) : 'O';
  const focusId = finalStates[focus].exchangeId ?? exchangeId;
  const focusRecord = focusId ? ttp.get(focusId) : null;
  const focusQuorum = quorum && focusId ? quorumOutcomes(focusId) : null;
  const revoked = sc.protocol === 'revocable-revocable' && (focusQuorum ? focusQuorum.includes('revoked') : focusRecord?.decision === 'aborted');
  const resolved = sc.protocol !== 'revocable-revocable' && (focusQuorum ? focusQuorum.includes('resolved') : focusRecord?.decision === 'resolved');
  const now = net.now;
  const mctx = (): MatchContext => ({ roots: [sc.keys.root], now });

  /** Did party p end up with its peer's item (or the TTP's replacement)? */
  async function has(p: PartyId): Promise<boolean> {
    const peer = other(p);
    const expected = nodes[peer].side.gives;
    if (revoked) return false;
    if (p === cheater) {
      // Conservative: the cheater has whatever the honest peer ever sent, and whatever the TTP
      // hands out for a resolved exchange.
      for (const st of sentBy[peer]) {
        const body = st.body as Record<string, unknown>;
        if ((st.type === EXCHANGE_TYPES.accept || st.type === EXCHANGE_TYPES.deliver) && body.item) {
          if ((await matchItem(body.item as Item, expected, mctx())).ok) return true;
        }
      }
      return resolved;
    }
    const o = outcomes[p];
    if (!o) return false;
    if ('received' in o && o.received && (await matchItem(o.received, expected, mctx())).ok) return true;
    if (o.status === 'resolved' && o.replacement) return validAffidavit(o.replacement, nodes[peer].ctx.signer.keyId, expected, finalStates[p].exchangeId);
    return false;
  }

  async function validAffidavit(st: Statement, onBehalfOf: string, expected: Description, exId: string | null): Promise<boolean> {
    try {
      const v = await verifyStatement(st, { types: [TTP_TYPES.affidavit], trust: { roots: [sc.keys.root], now: new Date(now) } });
      if (!setKeys.includes(await jwkThumbprint(v.signerJwk))) return false;
      const b = AffidavitBody.parse(v.statement.body);
      return b.onBehalfOf === onBehalfOf && b.exchangeId === exId && canonicalJson(b.description) === canonicalJson(expected);
    } catch {
      return false;
    }
  }

  const hasO = await has('O');
  const hasR = await has('R');
  if (!cheater) {
    if (hasO !== hasR) violations.push(`fairness: O ${hasO ? 'got' : 'did not get'} R's item but R ${hasR ? 'got' : 'did not get'} O's`);
  } else {
    const honest = other(cheater);
    const hasHonest = honest === 'O' ? hasO : hasR;
    const hasCheater = cheater === 'O' ? hasO : hasR;
    if (hasCheater && !hasHonest) violations.push(`fairness: cheating ${cheater} got honest ${honest}'s item, ${honest} got nothing`);
  }

  return { violations, ttpRequests, outcomes, finalStates, steps: { ...net.steps }, wire, ttpRecord, trace: net.trace };
}

export function describeRun(r: SimResult): string {
  return [...r.violations.map((v) => `VIOLATION ${v}`), ...r.trace].join('\n');
}
