/**
 * The mutation table's attack tests (test/mutation/exchange.ts, docs/mutation-exchange.md): for each
 * security check of the fair exchange that no other test failed without, an attacker who holds
 * valid keys, signs his own messages and picks every field, and the specific refusal the check
 * gives him.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkTtpRequest,
  EXCHANGE_TYPES,
  judgeContractSigning,
  startOriginator,
  stepExchange,
  TTP_TYPES,
  ttpMachine,
  ttpRequestKey,
  type ContractEvidence,
  type ExchangeContext,
  type ExchangeState,
  type StepResult,
  wakeAt,
} from '../../../core/exchange/index.js';
import { exchangeIdOf } from '../../../core/exchange/common.js';
import { assertFair } from '../../../core/exchange/negotiate.js';
import { signFixedStatement } from '../../../core/commerce/exchange-deal.js';
import { DEFAULT_ATTRIBUTES } from '../../../core/transfer/index.js';
import { seededRandom } from '../../../core/machine.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import {
  allScenarios,
  honestPair,
  makeKeys,
  originatorParams as originatorParamsOf,
  roundTrip,
  SIM_TIMEOUTS,
  T0,
  type Keys,
  type Scenario,
} from '../../protocols/fixtures.js';
import { memoryTtp } from '../../protocols/ttp-host.js';

let keys: Keys;
let mail: Scenario, contract: Scenario, money: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  [mail, contract, money] = (await allScenarios(keys)) as [Scenario, Scenario, Scenario];
});

const rt = roundTrip;
const rejected = (res: StepResult) => (res.effects.find((e) => e.kind === 'rejected-message') as { error: { code: string } } | undefined)?.error.code ?? null;
const signed = async (signer: Signer, type: string, dealId: string, body: Record<string, unknown>) =>
  (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;

const originatorParams = (sc: Scenario, over: Record<string, unknown> = {}) => originatorParamsOf(keys, sc, over);
const pair = (sc: Scenario, seed: number) => honestPair(keys, sc, seed);

describe('the TTP: who signed m1', () => {
  it('an m1 signed by the responder (or a stranger) naming the honest originator is refused in an abort or resolve request: ERR_SIGNATURE_INVALID', async () => {
    // The responder forges "the originator's" proposal: it names O as originator but R signs it. Had
    // the TTP taken it, R could have the exchange resolved (or aborted) in O's name without O ever proposing it.
    const honest = await pair(contract, 101);
    const forgedBody = honest.m1.body as Record<string, unknown>;
    for (const forger of [keys.r, keys.mallory]) {
      const m1 = await signed(forger, EXCHANGE_TYPES.propose, contract.dealId, forgedBody);
      const exchangeId = await exchangeIdOf(m1);
      const m2 = await signed(keys.r, EXCHANGE_TYPES.accept, contract.dealId, { exchangeId, commitment: 'M'.repeat(43) });
      const resolve = await signed(keys.r, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId, m1, m2 });
      await expect(checkTtpRequest(resolve, contract.ttpContext(), T0)).rejects.toMatchObject({
        code: 'ERR_SIGNATURE_INVALID',
        message: expect.stringMatching(/not signed by the originator it names/),
      });
      await expect(memoryTtp().request(resolve, contract.ttpContext(), T0)).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
      // The forger asks for the abort "as the originator" it named: refused for the same reason.
      const abort = await signed(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1 });
      await expect(checkTtpRequest(abort, contract.ttpContext(), T0)).rejects.toMatchObject({
        code: 'ERR_SIGNATURE_INVALID',
        message: expect.stringMatching(/not signed by the originator it names/),
      });
    }
  });
});

describe('the TTP: what a request is', () => {
  it('a statement of another type carrying {exchangeId, m1} is no request: ERR_STATEMENT_TYPE (else a contract-signing exchange resolves without m2)', async () => {
    // The originator holds m1 and nothing else; it signs a "request" of a type the TTP has no rule for.
    const { m1, exchangeId } = await pair(contract, 111);
    for (const type of [EXCHANGE_TYPES.deliver, EXCHANGE_TYPES.propose, 'semper.exchange.resolve']) {
      const fake = await signed(keys.o, type, contract.dealId, { exchangeId, m1 });
      await expect(checkTtpRequest(fake, contract.ttpContext(), T0)).rejects.toMatchObject({ code: 'ERR_STATEMENT_TYPE' });
      await expect(memoryTtp().request(fake, contract.ttpContext(), T0)).rejects.toMatchObject({ code: 'ERR_STATEMENT_TYPE' });
    }
  });

  it("m1 in a request is a proposal: the originator's statement of another type with a proposal's body is refused, ERR_STATEMENT_TYPE", async () => {
    const { m1 } = await pair(contract, 113);
    for (const type of [EXCHANGE_TYPES.accept, EXCHANGE_TYPES.deliver, 'semper.contract.signature']) {
      const relabelled = await signed(keys.o, type, contract.dealId, m1.body as Record<string, unknown>);
      const exchangeId = await exchangeIdOf(relabelled);
      const abort = await signed(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1: relabelled });
      await expect(checkTtpRequest(abort, contract.ttpContext(), T0)).rejects.toMatchObject({ code: 'ERR_STATEMENT_TYPE' });
    }
  });

  it('the checker refuses a request that names another exchange than h(m1), whatever state a host steps it on: ERR_REPLAY', async () => {
    const a = await pair(contract, 115);
    const b = await pair(contract, 117);
    const lying = await signed(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId: b.exchangeId, m1: a.m1 });
    await expect(checkTtpRequest(lying, contract.ttpContext(), T0)).rejects.toMatchObject({
      code: 'ERR_REPLAY',
      message: expect.stringMatching(/another exchange than h\(m1\)/),
    });
    // Stepped on the state of the exchange it names, or on that of its m1: refused either way.
    await expect(
      ttpMachine.step({ exchangeId: b.exchangeId, record: null }, { type: 'request', request: lying, now: T0 }, contract.ttpContext()),
    ).rejects.toMatchObject({
      code: 'ERR_REPLAY',
    });
    await expect(
      ttpMachine.step({ exchangeId: a.exchangeId, record: null }, { type: 'request', request: lying, now: T0 }, contract.ttpContext()),
    ).rejects.toMatchObject({
      code: 'ERR_REPLAY',
    });
  });

  it('a request whose exchange id is no digest names no record: ERR_SCHEMA', () => {
    for (const request of [null, {}, { body: {} }, { body: { exchangeId: 'not a digest' } }, { body: { exchangeId: 'A'.repeat(44) } }]) {
      expect(() => ttpRequestKey(request)).toThrow(expect.objectContaining({ code: 'ERR_SCHEMA' }));
    }
    expect(ttpRequestKey({ body: { exchangeId: 'A'.repeat(43) } })).toBe('A'.repeat(43));
  });
});

describe('the TTP: which request each protocol allows', () => {
  it('contract signing takes no complaint: the originator holding only m1 cannot have it resolved by complaining, ERR_TTP', async () => {
    const { m1, m2, exchangeId } = await pair(contract, 121);
    for (const body of [
      { exchangeId, m1 },
      { exchangeId, m1, m2 },
    ]) {
      for (const by of [keys.o, keys.r]) {
        const complaint = await signed(by, EXCHANGE_TYPES.complaint, contract.dealId, body);
        await expect(memoryTtp().request(complaint, contract.ttpContext(), T0)).rejects.toMatchObject({
          code: 'ERR_TTP',
          message: expect.stringMatching(/use abort or resolve requests/),
        });
      }
    }
  });

  it('generatable↔verifiable takes no resolve request, from either side, before or after the deadline: ERR_TTP', async () => {
    const { m1, m2, exchangeId } = await pair(mail, 123);
    for (const by of [keys.o, keys.r]) {
      const resolve = await signed(by, EXCHANGE_TYPES.resolveRequest, mail.dealId, { exchangeId, m1, m2 });
      for (const now of [T0, mail.deadline + 1]) {
        await expect(memoryTtp().request(resolve, mail.ttpContext(), now)).rejects.toMatchObject({
          code: 'ERR_TTP',
          message: expect.stringMatching(/the responder complains/),
        });
      }
    }
  });
});

/** A statement the TTP's own key signs (as a buggy or subverted TTP host could). */
const byTtp = async (type: string, dealId: string, body: Record<string, unknown>) =>
  (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, keys.ttp, { signerRef: { kind: 'x509', chain: keys.ttpChain } })) as Statement;
const msg = (s: ExchangeState, message: unknown, ctx: ExchangeContext, now = T0) => stepExchange(rt(s), { type: 'message', message, now, from: 'peer' }, ctx);
/** Deliver timeouts at each wakeAt until `until` holds; returns the state and every send with its time. */
async function runTimers(s: ExchangeState, ctx: ExchangeContext, until: (s: ExchangeState) => boolean) {
  const sent: { at: number; to: string; type: string }[] = [];
  for (let i = 0; i < 20 && !until(s); i++) {
    const now = wakeAt(s)!;
    const step = await stepExchange(rt(s), { type: 'timeout', now }, ctx);
    sent.push(...step.send.map((o) => ({ at: now, to: o.to, type: o.statement.type })));
    s = step.state;
  }
  return { s, sent };
}

describe('the TTP: which party may ask what', () => {
  it('generatable↔verifiable: the responder cannot have the exchange aborted, not even after the deadline (ERR_TTP)', async () => {
    const { m1, exchangeId } = await pair(mail, 125);
    const abort = await signed(keys.r, EXCHANGE_TYPES.abortRequest, mail.dealId, { exchangeId, m1 });
    for (const now of [T0, mail.deadline + 1]) {
      await expect(memoryTtp().request(abort, mail.ttpContext(), now)).rejects.toMatchObject({
        code: 'ERR_TTP',
        message: expect.stringMatching(/only the originator asks for the final abort/),
      });
    }
  });
});

describe('the roles: messages reflected to their sender, or sent in a phase that takes none', () => {
  it("the originator's own m1 reflected back to it is refused as a proposal to an originator (ERR_PROTOCOL_STATE), before and after m2, and sends nothing", async () => {
    const c = await pair(contract, 131);
    const before = await msg(c.o.state, c.m1, c.oCtx);
    expect(rejected(before)).toBe('ERR_PROTOCOL_STATE');
    const o2 = await msg(c.o.state, c.m2, c.oCtx);
    const after = await msg(o2.state, c.m1, c.oCtx);
    expect(rejected(after)).toBe('ERR_PROTOCOL_STATE');
    expect(after.send).toEqual([]);
  });

  it('a responder that complained takes no acceptance: neither its own m2 reflected nor one the originator signs with its receipt (ERR_PROTOCOL_STATE)', async () => {
    const c = await pair(mail, 133);
    const { s } = await runTimers(c.r1.state, c.rCtx, (x) => x.phase === 'awaiting-ttp');
    expect(s.ttpRequest).toBe('complaint');
    const reflected = await msg(s, c.m2, c.rCtx);
    expect(reflected.effects).toContainEqual({
      kind: 'rejected-message',
      error: expect.objectContaining({ code: 'ERR_PROTOCOL_STATE', message: expect.stringMatching(/does not take acceptances/) }),
    });
    const byO = await signed(keys.o, EXCHANGE_TYPES.accept, mail.dealId, { exchangeId: c.exchangeId, item: mail.O.item });
    const res = await msg(s, byO, c.rCtx);
    expect(rejected(res)).toBe('ERR_PROTOCOL_STATE');
    expect(res.send).toEqual([]);
    expect(res.state).toEqual(rt(s));
  });

  it('a certified-mail originator takes no delivery from the responder (it gets the document in m2 only, after its own checks): ERR_PROTOCOL_STATE', async () => {
    const c = await pair(mail, 135);
    const m4 = await signed(keys.r, EXCHANGE_TYPES.deliver, mail.dealId, { exchangeId: c.exchangeId, role: 'responder', item: mail.R.item });
    const res = await msg(c.o.state, m4, c.oCtx);
    expect(rejected(res)).toBe('ERR_PROTOCOL_STATE');
    expect(res.state.outcome).toBeNull();
  });

  it('revocable↔revocable: an originator asking the TTP for its final word takes no delivery (it has the responder item from m2): ERR_PROTOCOL_STATE', async () => {
    const c = await pair(money, 187);
    const o2 = await msg(c.o.state, c.m2, c.oCtx);
    expect(o2.state.phase).toBe('awaiting-final');
    const { s } = await runTimers(o2.state, c.oCtx, (x) => x.phase === 'awaiting-ttp');
    expect(s.ttpRequest).toBe('resolve');
    const m4 = await signed(keys.r, EXCHANGE_TYPES.deliver, money.dealId, { exchangeId: c.exchangeId, role: 'responder', item: money.R.item });
    const res = await msg(s, m4, c.oCtx);
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: expect.objectContaining({ code: 'ERR_PROTOCOL_STATE', message: expect.stringMatching(/delivery not expected/) }),
    });
    expect(res.effects.filter((e) => e.kind === 'archive')).toEqual([]);
  });

  it('a contract-signing originator that asked for the abort takes no m4: ERR_PROTOCOL_STATE (it never sent m3)', async () => {
    const c = await pair(contract, 137);
    const { s } = await runTimers(c.o.state, c.oCtx, (x) => x.phase === 'awaiting-ttp');
    expect(s.ttpRequest).toBe('abort');
    const commitment = (c.m1.body as { commitment: string }).commitment;
    const m4 = await signed(keys.r, EXCHANGE_TYPES.deliver, contract.dealId, {
      exchangeId: c.exchangeId,
      role: 'responder',
      item: contract.R.item,
      nonce: 'N'.repeat(43),
      peerCommitment: commitment,
    });
    const res = await msg(s, m4, c.oCtx);
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: expect.objectContaining({ code: 'ERR_PROTOCOL_STATE', message: expect.stringMatching(/delivery not expected/) }),
    });
  });

  it('revocable↔revocable: a responder waiting for the TTP takes the delivery once; the same m3 again is refused (ERR_PROTOCOL_STATE)', async () => {
    const c = await pair(money, 139);
    const { s } = await runTimers(c.r1.state, c.rCtx, (x) => x.phase === 'awaiting-ttp');
    const o2 = await msg(c.o.state, c.m2, c.oCtx);
    const m3 = o2.send[0]!.statement;
    const first = await msg(s, m3, c.rCtx);
    expect(rejected(first)).toBeNull();
    expect(first.state.received).toEqual(money.O.item);
    const again = await msg(first.state, m3, c.rCtx);
    expect(rejected(again)).toBe('ERR_PROTOCOL_STATE');
    expect(again.effects.filter((e) => e.kind === 'archive')).toEqual([]);
  });
});

describe('the responder: m1', () => {
  it('once an exchange is under way, a second proposal of the same originator (a fresh exchange nonce) is a replay: ERR_REPLAY, no second m2', async () => {
    const c = await pair(mail, 161);
    const again = await signed(keys.o, EXCHANGE_TYPES.propose, mail.dealId, { ...(c.m1.body as object), exchangeNonce: 'Q'.repeat(43) });
    const res = await msg(c.r1.state, again, c.rCtx);
    expect(rejected(res)).toBe('ERR_REPLAY');
    expect(res.send).toEqual([]);
    expect(res.state).toEqual(rt(c.r1.state));
  });

  it('certified mail: an m1 that proposes contract signing (whose rules would let the originator abort after taking the document) is refused, ERR_PROTOCOL_STATE', async () => {
    const c = await pair(mail, 163);
    for (const protocol of ['contract-signing', 'revocable-revocable']) {
      const m1 = await signed(keys.o, EXCHANGE_TYPES.propose, mail.dealId, { ...(c.m1.body as object), protocol });
      const res = await msg(c.r.state, m1, c.rCtx);
      expect(res.effects, protocol).toContainEqual({
        kind: 'rejected-message',
        error: expect.objectContaining({ code: 'ERR_PROTOCOL_STATE', message: expect.stringMatching(/agreed was generatable-verifiable/) }),
      });
      expect(res.send).toEqual([]);
    }
  });
});

describe('the responder: every field of m1 the TTP will act on is the agreed one', () => {
  it("an m1 describing the originator's receipt otherwise (still one the originator signs) is refused: ERR_ITEM_MISMATCH, no m2 (the TTP's affidavit would stand for that receipt)", async () => {
    const c = await pair(mail, 165);
    const gives = mail.O.gives as Extract<typeof mail.O.gives, { kind: 'statement' }>;
    const weaker = { ...gives, content: { body: { ...(gives.content!.body as object), received: 'nothing' } } };
    const m1 = await signed(keys.o, EXCHANGE_TYPES.propose, mail.dealId, { ...(c.m1.body as object), originatorGives: weaker });
    const res = await msg(c.r.state, m1, c.rCtx);
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: expect.objectContaining({ code: 'ERR_ITEM_MISMATCH', message: expect.stringMatching(/originator's item description/) }),
    });
    expect(res.send).toEqual([]);
  });

  it("an m1 giving the responder's transfer end-to-end confidentiality (so the TTP could not check it, and would refuse the complaint) is refused: ERR_PROTOCOL_STATE", async () => {
    const c = await pair(mail, 167);
    const attributes = { ...((c.m1.body as { responderAttributes: object }).responderAttributes as object), confidentiality: 'end-to-end' };
    const m1 = await signed(keys.o, EXCHANGE_TYPES.propose, mail.dealId, { ...(c.m1.body as object), responderAttributes: attributes });
    const res = await msg(c.r.state, m1, c.rCtx);
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: expect.objectContaining({ code: 'ERR_PROTOCOL_STATE', message: expect.stringMatching(/responder's security attributes/) }),
    });
    expect(res.send).toEqual([]);
  });

  it('a commitment exactly for contract signing: a contract-signing m1 without one (no evidence could name it) or a certified-mail m1 with one is refused, ERR_PROTOCOL_STATE', async () => {
    const cs = await pair(contract, 169);
    const { commitment: _c, ...noCommitment } = cs.m1.body as Record<string, unknown>;
    void _c;
    const bare = await signed(keys.o, EXCHANGE_TYPES.propose, contract.dealId, noCommitment);
    const m = await pair(mail, 171);
    const committed = await signed(keys.o, EXCHANGE_TYPES.propose, mail.dealId, { ...(m.m1.body as object), commitment: 'C'.repeat(43) });
    for (const [state, m1, ctx] of [
      [cs.r.state, bare, cs.rCtx],
      [m.r.state, committed, m.rCtx],
    ] as const) {
      const res = await msg(state, m1, ctx);
      expect(res.effects).toContainEqual({
        kind: 'rejected-message',
        error: expect.objectContaining({ code: 'ERR_PROTOCOL_STATE', message: expect.stringMatching(/commitment is required exactly for contract signing/) }),
      });
      expect(res.send).toEqual([]);
    }
  });
});

describe('the originator: m2', () => {
  it('an m2 for this exchange signed by anyone but the responder gets no m3: ERR_SIGNATURE_INVALID (else the originator gives its signature, and the TTP would refuse that m2)', async () => {
    for (const [sc, seed] of [
      [contract, 173],
      [mail, 175],
    ] as const) {
      const c = await pair(sc, seed);
      for (const forger of [keys.mallory, keys.o]) {
        const m2 = await signed(forger, EXCHANGE_TYPES.accept, sc.dealId, c.m2.body as Record<string, unknown>);
        const res = await msg(c.o.state, m2, c.oCtx);
        expect(rejected(res), sc.name).toBe('ERR_SIGNATURE_INVALID');
        expect(res.send).toEqual([]);
      }
    }
  });
});

describe('the responder: m3', () => {
  it("a delivery signed by a stranger, naming another exchange, or claiming the responder's role gets no m4 and no completion", async () => {
    const c = await pair(contract, 177);
    const o2 = await msg(c.o.state, c.m2, c.oCtx);
    const m3 = o2.send[0]!.statement;
    const body = m3.body as Record<string, unknown>;
    const cases: [string, string, Statement][] = [
      ['a stranger', 'ERR_SIGNATURE_INVALID', await signed(keys.mallory, EXCHANGE_TYPES.deliver, contract.dealId, body)],
      ['another exchange', 'ERR_REPLAY', await signed(keys.o, EXCHANGE_TYPES.deliver, contract.dealId, { ...body, exchangeId: 'W'.repeat(43) })],
      ["the responder's role", 'ERR_PROTOCOL_STATE', await signed(keys.o, EXCHANGE_TYPES.deliver, contract.dealId, { ...body, role: 'responder' })],
    ];
    for (const [what, code, message] of cases) {
      const res = await msg(c.r1.state, message, c.rCtx);
      expect(rejected(res), what).toBe(code);
      expect(res.send, what).toEqual([]);
      expect(res.state.outcome, what).toBeNull();
    }
    expect((await msg(c.r1.state, m3, c.rCtx)).state.outcome?.status).toBe('completed');
  });
});

describe('the responder: the item in m3', () => {
  it('a delivery carrying another item than m1 describes (a signature on an amended contract, a receipt for nothing) gets no m4: ERR_ITEM_MISMATCH', async () => {
    for (const [sc, seed] of [
      [contract, 179],
      [mail, 181],
    ] as const) {
      const c = await pair(sc, seed);
      const o2 = await msg(c.o.state, c.m2, c.oCtx);
      const m3 = o2.send[0]!.statement;
      const wrong = await signed(keys.o, EXCHANGE_TYPES.deliver, sc.dealId, { ...(m3.body as object), item: sc.O.wrongItem });
      const res = await msg(c.r1.state, wrong, c.rCtx);
      expect(rejected(res), sc.name).toBe('ERR_ITEM_MISMATCH');
      expect(res.send).toEqual([]);
      expect(res.state.outcome).toBeNull();
    }
  });
});

describe("the roles: the TTP's answers", () => {
  it('a finished exchange keeps its outcome: an abort token for it arriving afterwards changes nothing', async () => {
    const c = await pair(contract, 141);
    const o2 = await msg(c.o.state, c.m2, c.oCtx);
    const r2 = await msg(c.r1.state, o2.send[0]!.statement, c.rCtx);
    const o3 = await msg(o2.state, r2.send[0]!.statement, c.oCtx);
    expect(o3.state.outcome?.status).toBe('completed');
    const token = await byTtp(TTP_TYPES.abortToken, contract.dealId, {
      exchangeId: c.exchangeId,
      protocol: 'contract-signing',
      reason: 'abort-request',
      requestedBy: keys.o.keyId,
    });
    for (const [s, ctx] of [
      [o3.state, c.oCtx],
      [r2.state, c.rCtx],
    ] as const) {
      const res = await stepExchange(rt(s), { type: 'message', message: token, now: T0 + 1, from: 'ttp' }, ctx);
      expect(res.state.outcome?.status).toBe('completed');
      expect(res.effects).toEqual([]);
    }
  });

  it('an abort token of the same protocol but for another exchange ends nothing: ERR_REPLAY', async () => {
    const c = await pair(contract, 183);
    const { s } = await runTimers(c.o.state, c.oCtx, (x) => x.phase === 'awaiting-ttp');
    const other = await pair(contract, 185);
    const token = await byTtp(TTP_TYPES.abortToken, contract.dealId, {
      exchangeId: other.exchangeId,
      protocol: 'contract-signing',
      reason: 'abort-request',
      requestedBy: keys.o.keyId,
    });
    const res = await stepExchange(rt(s), { type: 'message', message: token, now: T0 + 1, from: 'ttp' }, c.oCtx);
    expect(rejected(res)).toBe('ERR_REPLAY');
    expect(res.state.outcome).toBeNull();
  });

  it('a responder still waiting for m1 takes no TTP answer: ERR_PROTOCOL_STATE', async () => {
    const c = await pair(contract, 143);
    const token = await byTtp(TTP_TYPES.abortToken, contract.dealId, {
      exchangeId: c.exchangeId,
      protocol: 'contract-signing',
      reason: 'abort-request',
      requestedBy: keys.o.keyId,
    });
    const res = await stepExchange(rt(c.r.state), { type: 'message', message: token, now: T0, from: 'ttp' }, c.rCtx);
    expect(res.effects).toContainEqual({
      kind: 'rejected-message',
      error: expect.objectContaining({ code: 'ERR_PROTOCOL_STATE', message: expect.stringMatching(/before the exchange began/) }),
    });
    expect(res.state.phase).toBe('awaiting-m1');
  });
});

describe('the roles: deadlines and timers', () => {
  it('certified mail: the responder does not give its item in m2 once deadline−margin has come (ERR_OFFER_EXPIRED), only before', async () => {
    const c = await pair(mail, 145);
    const lastCall = mail.deadline - SIM_TIMEOUTS.ttpMargin;
    expect(rejected(await msg(c.r.state, c.m1, c.rCtx, lastCall))).toBe('ERR_OFFER_EXPIRED');
    expect(rejected(await msg(c.r.state, c.m1, c.rCtx, lastCall - 1))).toBeNull();
  });

  it('revocable↔revocable: an originator with a long peer wait first wakes at deadline−margin and complains then, never retransmits past it', async () => {
    const t = { ...SIM_TIMEOUTS, peer: 5_000, peerRetries: 3 };
    const oCtx: ExchangeContext = { ...money.O.ctx, random: seededRandom(147) };
    const o = await startOriginator(originatorParams(money, { timeouts: t }), oCtx);
    const lastCall = money.deadline - t.ttpMargin;
    const { s, sent } = await runTimers(o.state, oCtx, (x) => x.phase === 'awaiting-ttp');
    expect(s.ttpRequest).toBe('complaint');
    expect(sent.map((x) => x.to)).toEqual(['ttp']);
    expect(sent[0]!.at).toBeLessThanOrEqual(lastCall);
    const slow = await startOriginator(originatorParams(money, { timeouts: { ...t, peer: 60_000 } }), oCtx);
    expect(wakeAt(slow.state)).toBe(lastCall);
  });

  it('certified mail: an originator without m2 asks the TTP for the abort only from deadline+margin, after its retransmissions', async () => {
    const c = await pair(mail, 149);
    const { s, sent } = await runTimers(c.o.state, c.oCtx, (x) => x.phase === 'awaiting-ttp');
    expect(s.ttpRequest).toBe('abort');
    const ask = sent.find((x) => x.to === 'ttp')!;
    expect(ask.at).toBeGreaterThanOrEqual(mail.deadline + SIM_TIMEOUTS.ttpMargin);
    expect(sent.filter((x) => x.to === 'peer').length).toBe(SIM_TIMEOUTS.peerRetries);
  });
});

describe('evidence: what binds a transcript, a resolution and an abort token to this m1', () => {
  /** A whole contract-signing run: m1..m4, all honest. */
  async function transcript(seed: number) {
    const c = await pair(contract, seed);
    const o2 = await msg(c.o.state, c.m2, c.oCtx);
    const m3 = o2.send[0]!.statement;
    const r2 = await msg(c.r1.state, m3, c.rCtx);
    return { ...c, m3, m4: r2.send[0]!.statement };
  }
  const judge = (e: ContractEvidence) => judgeContractSigning(e, { roots: [keys.root], now: T0 + 1_000 });

  it('a transcript lacking m3 or m4, or whose m2 carries no commitment or is signed by a stranger, proves nothing, and the verdict says why', async () => {
    const t = await transcript(151);
    expect(await judge({ m1: t.m1, m2: t.m2, m3: t.m3, m4: t.m4 })).toMatchObject({ signed: true, basis: 'main-protocol' });
    const lacking = await judge({ m1: t.m1, m2: t.m2, m3: t.m3 });
    expect(lacking).toMatchObject({
      signed: false,
      basis: 'incomplete',
      why: [expect.stringMatching(/^main protocol: ERR_PROTOCOL_STATE: the transcript lacks m2, m3 or m4/)],
    });
    const noCommitment = await signed(keys.r, EXCHANGE_TYPES.accept, contract.dealId, { exchangeId: t.exchangeId });
    expect(await judge({ m1: t.m1, m2: noCommitment, m3: t.m3, m4: t.m4 })).toMatchObject({
      signed: false,
      why: [expect.stringMatching(/m2 carries no commitment/)],
    });
    const byStranger = await signed(keys.mallory, EXCHANGE_TYPES.accept, contract.dealId, t.m2.body as Record<string, unknown>);
    expect(await judge({ m1: t.m1, m2: byStranger, m3: t.m3, m4: t.m4 })).toMatchObject({
      signed: false,
      why: [expect.stringMatching(/^main protocol: ERR_SIGNATURE_INVALID/)],
    });
  });

  it("an originator's m3 naming another exchange does not complete the transcript", async () => {
    const t = await transcript(153);
    const m3 = await signed(keys.o, EXCHANGE_TYPES.deliver, contract.dealId, { ...(t.m3.body as object), exchangeId: 'X'.repeat(43) });
    expect(await judge({ m1: t.m1, m2: t.m2, m3, m4: t.m4 })).toMatchObject({ signed: false, why: [expect.stringMatching(/m3 names another exchange/)] });
  });

  it("a resolution signed by m1's TTP proves the contract only if it names h(m1), is of contract signing and carries this very m1", async () => {
    const t = await transcript(155);
    const other = await transcript(157);
    const resolution = (over: Record<string, unknown>) =>
      byTtp(TTP_TYPES.resolution, contract.dealId, {
        exchangeId: t.exchangeId,
        protocol: 'contract-signing',
        m1: t.m1,
        m2: t.m2,
        affidavits: [],
        requestedBy: keys.r.keyId,
        ...over,
      });
    expect(await judge({ m1: t.m1, resolution: await resolution({}) })).toMatchObject({ signed: true, basis: 'resolution' });
    for (const [what, over] of [
      ['another exchange id', { exchangeId: other.exchangeId }],
      ['another protocol', { protocol: 'generatable-verifiable' }],
      ['another m1', { m1: other.m1 }],
    ] as const) {
      expect(await judge({ m1: t.m1, resolution: await resolution(over) }), what).toMatchObject({
        signed: false,
        basis: 'incomplete',
        why: [expect.anything(), expect.stringMatching(/^resolution: ERR_SIGNATURE_INVALID/)],
      });
    }
  });

  it("an abort token signed by m1's TTP counts only if it names h(m1) and is of contract signing", async () => {
    const t = await transcript(159);
    const token = (over: Record<string, unknown>) =>
      byTtp(TTP_TYPES.abortToken, contract.dealId, {
        exchangeId: t.exchangeId,
        protocol: 'contract-signing',
        reason: 'abort-request',
        requestedBy: keys.o.keyId,
        ...over,
      });
    expect(await judge({ m1: t.m1, abortToken: await token({}) })).toMatchObject({ signed: false, basis: 'abort-token' });
    for (const over of [{ exchangeId: 'Y'.repeat(43) }, { protocol: 'generatable-verifiable' }]) {
      expect(await judge({ m1: t.m1, abortToken: await token(over) })).toMatchObject({
        signed: false,
        basis: 'incomplete',
        why: [expect.anything(), expect.stringMatching(/^abort token: ERR_SIGNATURE_INVALID: the abort token is for another exchange/)],
      });
    }
  });
});

describe('fairness: the rule a refusal names', () => {
  it('revocable↔revocable for items that are not revocable at all is refused for that reason, not for a revocation window', () => {
    const o = { giver: keys.o.keyId, gives: mail.O.gives, attributes: DEFAULT_ATTRIBUTES };
    const r = { giver: keys.r.keyId, gives: mail.R.gives, attributes: DEFAULT_ATTRIBUTES };
    expect(() => assertFair('revocable-revocable', o, r, mail.deadline)).toThrow(
      expect.objectContaining({ code: 'ERR_EXCHANGE_UNFAIR', message: expect.stringMatching(/needs both items revocable/) }),
    );
    const money0 = { giver: keys.o.keyId, gives: money.O.gives, attributes: DEFAULT_ATTRIBUTES };
    expect(() => assertFair('revocable-revocable', money0, r, money.deadline)).toThrow(
      expect.objectContaining({ code: 'ERR_EXCHANGE_UNFAIR', message: expect.stringMatching(/needs both items revocable/) }),
    );
  });
});

describe('exchange deals: only fixed content is signed in advance', () => {
  it('a statement description without fixed content is not signed: ERR_ITEM_MISMATCH', async () => {
    const { content: _c, ...open } = contract.O.gives as Extract<typeof contract.O.gives, { kind: 'statement' }>;
    void _c;
    await expect(signFixedStatement(open, contract.dealId, keys.o, T0)).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
  });
});

void rejected;
