/** The role machines on their own: what they accept, what they refuse, what they end with. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXCHANGE_TYPES,
  isTerminal,
  pendingSends,
  stepExchange,
  wakeAt,
  type ExchangeContext,
  type ExchangeState,
  type StepResult,
} from '../../../core/exchange/index.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { memoryTtp } from '../../protocols/ttp-host.js';
import { allScenarios, makeKeys, startPair, SIM_TIMEOUTS, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';

let keys: Keys;
let mail: Scenario, contract: Scenario, money: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  [mail, contract, money] = (await allScenarios(keys)) as [Scenario, Scenario, Scenario];
});

const roundTrip = (s: ExchangeState): ExchangeState => JSON.parse(JSON.stringify(s)) as ExchangeState;

/** Both roles started; R as its descriptor agreed in advance (the originator, the TTP, no extra terms). */
const start = (sc: Scenario, seed: number, overrides: { deadline?: number } = {}) => startPair(keys, sc, seed, overrides);

const deliver = (state: ExchangeState, message: unknown, ctx: ExchangeContext, now = T0) =>
  stepExchange(roundTrip(state), { type: 'message', message, now, from: 'peer' }, ctx);
const rejectedCode = (res: StepResult) =>
  res.effects.find((e) => e.kind === 'rejected-message')?.kind === 'rejected-message'
    ? (res.effects.find((e) => e.kind === 'rejected-message') as { error: { code: string } }).error.code
    : null;

async function resign(signer: typeof keys.o, st: Statement, patch: Partial<Statement>): Promise<Statement> {
  const { signature: _s, ...rest } = { ...st, ...patch };
  void _s;
  return (await signStatement({ ...rest, issuedAt: nowIso(T0) }, signer)) as Statement;
}

describe('certified mail, step by step', () => {
  it('honest run: three messages, both complete, no timers left, evidence archived', async () => {
    const { o, r, oCtx, rCtx } = await start(mail, 1);
    expect(o.send.map((s) => s.statement.type)).toEqual([EXCHANGE_TYPES.propose]);
    expect(r.send).toEqual([]);
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx);
    expect(r1.send.map((s) => s.statement.type)).toEqual([EXCHANGE_TYPES.accept]);
    expect(wakeAt(r1.state)).toBe(T0 + SIM_TIMEOUTS.peer);
    const o2 = await deliver(o.state, r1.send[0]!.statement, oCtx);
    expect(o2.state.outcome).toEqual({ status: 'completed', received: mail.R.item });
    expect(o2.effects.filter((e) => e.kind === 'archive').map((e) => (e as { direction: string }).direction)).toEqual(['received', 'sent']);
    const r3 = await deliver(r1.state, o2.send[0]!.statement, rCtx);
    expect(r3.state.outcome).toEqual({ status: 'completed', received: mail.O.item });
    expect(isTerminal(r3.state) && isTerminal(o2.state)).toBe(true);
    expect(wakeAt(r3.state)).toBeNull();
    expect(r3.effects.at(-1)).toMatchObject({ kind: 'finished', outcome: { status: 'completed' } });
  });

  it('the responder refuses proposals that differ from what was agreed, and keeps waiting', async () => {
    const { o, r, rCtx } = await start(mail, 3);
    const m1 = o.send[0]!.statement;
    const cases: [string, Statement | unknown][] = [
      ['ERR_REPLAY', await resign(keys.o, m1, { dealId: 'deal-some-other-0001' })],
      ['ERR_TTP', await resign(keys.o, m1, { body: { ...m1.body, ttp: { keyId: keys.mallory.keyId } } })],
      ['ERR_ITEM_MISMATCH', await resign(keys.o, m1, { body: { ...m1.body, responderGives: mail.O.gives } })],
      ['ERR_SIGNATURE_INVALID', await resign(keys.mallory, m1, {})],
      ['ERR_SIGNATURE_INVALID', { ...m1, body: { ...m1.body, deadline: T0 + 1 } }],
      ['ERR_SCHEMA', await resign(keys.o, m1, { body: { ...m1.body, protocol: 'telepathy' } })],
      ['ERR_STATEMENT_TYPE', { type: 'semper.offer' }],
    ];
    for (const [code, msg] of cases) {
      const res = await deliver(r.state, msg, rCtx);
      expect(rejectedCode(res), code).toBe(code);
      expect(res.send).toEqual([]);
      expect(res.state).toEqual(roundTrip(r.state));
    }
    // a proposal too close to its deadline to be answered safely
    const late = await start(mail, 5, { deadline: T0 + SIM_TIMEOUTS.ttpMargin + 10 });
    const res = await deliver(r.state, late.o.send[0]!.statement, rCtx, T0 + 20);
    expect(rejectedCode(res)).toBe('ERR_OFFER_EXPIRED');
    // the genuine one is accepted after all that
    expect((await deliver(r.state, m1, rCtx)).state.phase).toBe('awaiting-m3');
  });

  it('every field of m1 is checked against what was agreed: a proposal that differs in any is refused, no m2 (issue 8, item 2)', async () => {
    const { o, r, rCtx } = await start(mail, 4);
    const m1 = o.send[0]!.statement;
    const b = m1.body as Record<string, unknown>;
    const forged = (patch: Record<string, unknown>) => resign(keys.o, m1, { body: { ...b, ...patch } });
    const cases: [string, string, Statement][] = [
      ['extra terms', 'ERR_PROTOCOL_STATE', await forged({ terms: 'R additionally owes O 1,000,000 EUR.' })],
      [
        'other originator attributes',
        'ERR_PROTOCOL_STATE',
        await forged({ originatorAttributes: { ...(b.originatorAttributes as object), confidentiality: 'none' } }),
      ],
      ['another TTP endpoint', 'ERR_TTP', await forged({ ttp: { keyId: keys.ttp.keyId, endpoint: 'https://ttp.evil.example/' } })],
      [
        'another signer ref for the originator',
        'ERR_PROTOCOL_STATE',
        await forged({ originator: { keyId: keys.o.keyId, signer: { kind: 'x509', chain: keys.ttpChain } } }),
      ],
      [
        'another signer ref for the responder',
        'ERR_PROTOCOL_STATE',
        await forged({ responder: { keyId: keys.r.keyId, signer: { kind: 'jwk', jwk: keys.mallory.publicJwk } } }),
      ],
      ['a deadline later than agreed', 'ERR_PROTOCOL_STATE', await forged({ deadline: mail.deadline + 86_400_000 })],
    ];
    for (const [what, code, msg] of cases) {
      const res = await deliver(r.state, msg, rCtx);
      expect(rejectedCode(res), what).toBe(code);
      expect(res.send, what).toEqual([]);
      expect(res.state, what).toEqual(roundTrip(r.state));
    }
    // A proposal by another originator than the agreed one (signed by it, naming itself) is refused too.
    const stranger = await resign(keys.mallory, m1, { body: { ...b, originator: { keyId: keys.mallory.keyId } } });
    expect(rejectedCode(await deliver(r.state, stranger, rCtx))).toBe('ERR_SIGNATURE_INVALID');
    expect((await deliver(r.state, m1, rCtx)).state.phase).toBe('awaiting-m3');
  });

  it("the originator refuses a wrong item and an earlier exchange's m2, gives nothing, and only then asks the TTP", async () => {
    const { o, r, oCtx, rCtx } = await start(mail, 7);
    const earlier = await start(mail, 9);
    const oldM2 = (await deliver(earlier.r.state, earlier.o.send[0]!.statement, earlier.rCtx)).send[0]!.statement;
    expect(rejectedCode(await deliver(o.state, oldM2, oCtx))).toBe('ERR_REPLAY');
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx);
    const m2 = r1.send[0]!.statement;
    const wrong = await resign(keys.r, m2, { body: { ...m2.body, item: mail.R.wrongItem } });
    const res = await deliver(o.state, wrong, oCtx);
    expect(rejectedCode(res)).toBe('ERR_ITEM_MISMATCH');
    expect(res.send).toEqual([]);
    // timeouts before the deadline: re-send m1, then wait; only after deadline+margin go to the TTP
    let s = res.state;
    const sent: string[] = [];
    for (let i = 0; i < 30 && s.ttpRequest === null; i++) {
      const t = wakeAt(s)!;
      const step = await stepExchange(roundTrip(s), { type: 'timeout', now: t }, oCtx);
      sent.push(...step.send.map((x) => `${x.to}:${x.statement.type}@${t - T0}`));
      s = step.state;
    }
    expect(sent.at(-1)).toBe(`ttp:${EXCHANGE_TYPES.abortRequest}@${mail.deadline + SIM_TIMEOUTS.ttpMargin - T0}`);
    expect(sent.slice(0, -1).every((x) => x.startsWith('peer:'))).toBe(true);
    // after a restart the same request goes out again
    expect((await stepExchange(roundTrip(s), { type: 'resume', now: wakeAt(s)! }, oCtx)).send).toEqual(pendingSends(s));
  });
});

describe('contract signing, step by step', () => {
  it('m3 must reveal the nonce committed to in m1 and be bound to our commitment', async () => {
    const { o, r, oCtx, rCtx } = await start(contract, 11);
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx);
    const o2 = await deliver(o.state, r1.send[0]!.statement, oCtx);
    const m3 = o2.send[0]!.statement;
    expect(m3.type).toBe(EXCHANGE_TYPES.deliver);
    const badNonce = await resign(keys.o, m3, { body: { ...m3.body, nonce: 'A'.repeat(43) } });
    expect(rejectedCode(await deliver(r1.state, badNonce, rCtx))).toBe('ERR_NONCE_MISMATCH');
    const unbound = await resign(keys.o, m3, { body: { ...m3.body, peerCommitment: 'B'.repeat(43) } });
    expect(rejectedCode(await deliver(r1.state, unbound, rCtx))).toBe('ERR_NONCE_MISMATCH');
    const r2 = await deliver(r1.state, m3, rCtx);
    expect(r2.state.outcome?.status).toBe('completed');
    const o3 = await deliver(o2.state, r2.send[0]!.statement, oCtx);
    expect(o3.state.outcome).toEqual({ status: 'completed', received: contract.R.item });
    // R missed nothing, but O repeats m3: R answers with the same m4
    const again = await deliver(r2.state, m3, rCtx);
    expect(again.send.map((x) => x.statement)).toEqual(r2.send.map((x) => x.statement));
  });

  it('after asking for an abort the originator never sends m3, even if m2 turns up', async () => {
    const { o, r, oCtx, rCtx } = await start(contract, 13);
    let s = o.state;
    for (let i = 0; i < 5 && s.ttpRequest === null; i++) s = (await stepExchange(roundTrip(s), { type: 'timeout', now: wakeAt(s)! }, oCtx)).state;
    expect(s.ttpRequest).toBe('abort');
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx);
    const late = await deliver(s, r1.send[0]!.statement, oCtx);
    expect(late.send).toEqual([]);
    expect(rejectedCode(late)).toBe('ERR_PROTOCOL_STATE');
  });
});

describe('a party that has given its item never gives up on the TTP (issue 8, item 3)', () => {
  /** Let the TTP be unreachable for `outageMs` (every request times out or is refused), then answer. */
  async function outage(state: ExchangeState, ctx: ExchangeContext, sc: Scenario, from: number, outageMs: number) {
    let s = state;
    const waits: number[] = [];
    let now = from;
    let refused = false;
    while (now < from + outageMs) {
      const wake = wakeAt(s);
      expect(wake, `phase ${s.phase}`).not.toBeNull();
      expect(s.phase).toBe('awaiting-ttp');
      waits.push(wake! - now);
      now = wake!;
      // Alternate: the request is lost (the timer fires), or the TTP refuses it (HTTP 503).
      const step = refused
        ? await stepExchange(roundTrip(s), { type: 'ttp-error', error: { code: 'ERR_INTERNAL', message: 'HTTP 503' }, now }, ctx)
        : await stepExchange(roundTrip(s), { type: 'timeout', now }, ctx);
      refused = !refused;
      expect(step.state.outcome, `after ${now - from} ms of outage`).toBeNull();
      expect(step.effects.filter((e) => e.kind === 'finished')).toEqual([]);
      s = step.state;
    }
    // The TTP comes back and answers the request the party keeps sending.
    const request = pendingSends(s).find((o) => o.to === 'ttp')!.statement;
    const answer = await memoryTtp().request(request, sc.ttpContext(), now);
    const back = await stepExchange(roundTrip(s), { type: 'message', message: answer.answer, now, from: 'ttp' }, ctx);
    return { state: back.state, waits };
  }

  it('contract signing: after m3 the originator waits out 60 s of TTP outage, then ends resolved', async () => {
    const { o, r, oCtx, rCtx } = await start(contract, 21);
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx);
    const o2 = await deliver(o.state, r1.send[0]!.statement, oCtx); // m3 sent, m4 never comes
    expect(o2.state.delivered).not.toBeNull();
    let s = o2.state;
    let askedAt = T0;
    while (s.phase !== 'awaiting-ttp') {
      askedAt = wakeAt(s)!;
      s = (await stepExchange(roundTrip(s), { type: 'timeout', now: askedAt }, oCtx)).state;
    }
    expect(s.ttpRequest).toBe('resolve');
    const { state, waits } = await outage(s, oCtx, contract, askedAt, 60_000);
    expect(state.outcome?.status).toBe('resolved');
    // Back-off: the waits grow (never shrink) from ttpRetry.
    expect(waits[0]).toBe(SIM_TIMEOUTS.ttpRetry);
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1]!);
    expect(waits.at(-1)).toBeGreaterThan(SIM_TIMEOUTS.ttpRetry);
  });

  it('certified mail: the responder that gave the document in m2 complains and waits out an outage past the deadline, then ends resolved', async () => {
    const { o, r, rCtx } = await start(mail, 23);
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx); // m2 (the document) sent, m3 never comes
    let s = r1.state;
    let askedAt = T0;
    while (s.phase !== 'awaiting-ttp') {
      askedAt = wakeAt(s)!;
      s = (await stepExchange(roundTrip(s), { type: 'timeout', now: askedAt }, rCtx)).state;
    }
    expect(s.ttpRequest).toBe('complaint');
    const { state } = await outage(s, rCtx, mail, askedAt, 40_000);
    // The complaint reaches the TTP only after the deadline; no abort was decided before it, so the TTP resolves.
    expect(state.outcome?.status).toBe('resolved');
  });
});

describe("revocable ↔ revocable: the TTP's decision reaches both parties (issue 8, item 4)", () => {
  /** Run a party's timers, letting the TTP (one shared record store) answer what it asks, until it is done. */
  async function untilDone(state: ExchangeState, ctx: ExchangeContext, ttp: ReturnType<typeof memoryTtp>, from: number) {
    let s = state;
    let now = from;
    for (let i = 0; i < 50 && s.phase !== 'done'; i++) {
      now = Math.max(now, wakeAt(s) ?? now);
      const step = await stepExchange(roundTrip(s), { type: 'timeout', now }, ctx);
      s = step.state;
      for (const o of step.send.filter((x) => x.to === 'ttp')) {
        try {
          const a = await ttp.request(o.statement, money.ttpContext(), now);
          s = (await stepExchange(roundTrip(s), { type: 'message', message: a.answer, now, from: 'ttp' }, ctx)).state;
        } catch (e) {
          s = (await stepExchange(roundTrip(s), { type: 'ttp-error', error: { code: (e as { code: string }).code, message: String(e) }, now }, ctx)).state;
        }
      }
    }
    return s;
  }

  it('m3 is lost: the responder complains, the TTP orders both transfers revoked, and the originator ends revoked, not completed', async () => {
    const ttp = memoryTtp();
    const { o, r, oCtx, rCtx } = await start(money, 31);
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx); // m2: R's payment
    const o2 = await deliver(o.state, r1.send[0]!.statement, oCtx); // O pays in m3, which is lost
    expect(o2.send.map((x) => x.statement.type)).toEqual([EXCHANGE_TYPES.deliver]);
    // R, without m3, complains before the deadline: the TTP orders both transfers revoked.
    const rDone = await untilDone(r1.state, rCtx, ttp, T0);
    expect(rDone.outcome?.status).toBe('revoked');
    // O must learn it: it does not report completion before the TTP had its word.
    const oDone = await untilDone(o2.state, oCtx, ttp, T0);
    expect(oDone.outcome?.status).toBe('revoked');
    const order = oDone.outcome?.status === 'revoked' ? oDone.outcome : null;
    expect(order?.order.type).toBe('semper.ttp.revocation-order');
    expect(order?.revoked.map((x) => x.giver)).toEqual([keys.o.keyId, keys.r.keyId]);
  });

  it('no complaint: after the deadline both ask the TTP for the final word and end completed, holding it', async () => {
    const ttp = memoryTtp();
    const { o, r, oCtx, rCtx } = await start(money, 33);
    const r1 = await deliver(r.state, o.send[0]!.statement, rCtx);
    const o2 = await deliver(o.state, r1.send[0]!.statement, oCtx);
    const r2 = await deliver(r1.state, o2.send[0]!.statement, rCtx);
    expect(o2.state.outcome).toBeNull(); // not before the final word
    expect(r2.state.outcome).toBeNull();
    for (const [s, ctx] of [
      [o2.state, oCtx],
      [r2.state, rCtx],
    ] as const) {
      const done = await untilDone(s, ctx, ttp, T0);
      expect(done.outcome?.status).toBe('completed');
      const final = done.outcome?.status === 'completed' ? done.outcome.final : undefined;
      expect(final?.type).toBe('semper.ttp.resolution');
      expect(final?.body).toMatchObject({ final: true });
    }
  });
});
