/** The TTP's decision function (core/exchange/ttp.ts) over an in-memory record map. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXCHANGE_TYPES,
  processTtpRequest,
  startOriginator,
  startResponder,
  stepExchange,
  TTP_TYPES,
  type TtpRecord,
  type TtpRecordStore,
} from '../../../core/exchange/index.js';
import { canonicalJson } from '../../../core/encoding/index.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import { allScenarios, DEADLINE, makeKeys, nonceSource, SIM_TIMEOUTS, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';

let keys: Keys;
let mail: Scenario, contract: Scenario, money: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  [mail, contract, money] = (await allScenarios(keys)) as [Scenario, Scenario, Scenario];
});

function memoryStore(): TtpRecordStore & { size(): number } {
  const m = new Map<string, string>();
  return {
    get: (id) => (m.has(id) ? (JSON.parse(m.get(id)!) as TtpRecord) : null),
    insertIfAbsent: (r) => {
      if (m.has(r.exchangeId)) return { record: JSON.parse(m.get(r.exchangeId)!) as TtpRecord, inserted: false };
      m.set(r.exchangeId, JSON.stringify(r));
      return { record: r, inserted: true };
    },
    size: () => m.size,
  };
}

/** Run the machines to the point where m1 and m2 exist; `wrongM2` lets R put a wrong item in m2. */
async function exchange(sc: Scenario, seed: number, wrongM2 = false) {
  const oCtx = { ...sc.O.ctx, randomNonce: nonceSource(seed) };
  const rCtx = { ...sc.R.ctx, randomNonce: nonceSource(seed + 1) };
  const common = { protocol: sc.protocol, dealId: sc.dealId, now: T0, timeouts: SIM_TIMEOUTS };
  const o = await startOriginator({ ...common, gives: sc.O.gives, item: sc.O.item, expects: sc.R.gives, responder: { keyId: keys.r.keyId }, ttp: { keyId: keys.ttp.keyId }, deadline: sc.deadline }, oCtx);
  const r0 = await startResponder({ ...common, gives: sc.R.gives, item: sc.R.item, expects: sc.O.gives }, rCtx);
  const r1 = await stepExchange(r0.state, { type: 'message', message: o.state.m1, now: T0 }, rCtx);
  const exchangeId = o.state.exchangeId!;
  let m2 = r1.state.m2!;
  if (wrongM2) m2 = await req(keys.r, EXCHANGE_TYPES.accept, sc.dealId, { exchangeId, item: sc.R.wrongItem });
  return { m1: o.state.m1!, m2, exchangeId };
}

async function req(signer: Signer, type: string, dealId: string, body: Record<string, unknown>): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

const at = (sc: Scenario, now: number) => sc.ttpContext(now);

describe('TTP: contract signing', () => {
  it('abort first: every later request, abort or resolve, gets the same abort token', async () => {
    const store = memoryStore();
    const { m1, m2, exchangeId } = await exchange(contract, 10);
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1 });
    const resolve = await req(keys.r, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId, m1, m2 });
    const first = await processTtpRequest(abort, store, at(contract, T0));
    expect(first).toMatchObject({ decided: true, record: { decision: 'aborted' } });
    expect(first.answer.type).toBe(TTP_TYPES.abortToken);
    const second = await processTtpRequest(resolve, store, at(contract, T0 + 5));
    expect(second.decided).toBe(false);
    expect(canonicalJson(second.answer)).toBe(canonicalJson(first.answer));
    expect(canonicalJson((await processTtpRequest(abort, store, at(contract, T0 + 9))).answer)).toBe(canonicalJson(first.answer));
    expect(store.size()).toBe(1);
  });

  it('resolve first: the resolution carries m1, m2 and affidavits for both items; a later abort gets it', async () => {
    const store = memoryStore();
    const { m1, m2, exchangeId } = await exchange(contract, 20);
    const resolve = await req(keys.o, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId, m1, m2 });
    const r = await processTtpRequest(resolve, store, at(contract, T0));
    expect(r.record.decision).toBe('resolved');
    const body = r.answer.body as { m1: Statement; m2: Statement; affidavits: Statement[] };
    expect(body.m1).toEqual(m1);
    expect(body.m2).toEqual(m2);
    expect(body.affidavits.map((a) => (a.body as { onBehalfOf: string }).onBehalfOf)).toEqual([keys.o.keyId, keys.r.keyId]);
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1 });
    expect((await processTtpRequest(abort, store, at(contract, T0))).answer.type).toBe(TTP_TYPES.resolution);
  });

  it('refuses requests that would let one exchange be turned into another (Shmatikov–Mitchell)', async () => {
    const store = memoryStore();
    const a = await exchange(contract, 30);
    const b = await exchange(contract, 40);
    const ctx = at(contract, T0);
    // the responder cannot abort
    await expect(processTtpRequest(await req(keys.r, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1 }), store, ctx)).rejects.toMatchObject({ code: 'ERR_TTP' });
    // a request naming exchange b but carrying m1 of a
    await expect(processTtpRequest(await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId: b.exchangeId, m1: a.m1 }), store, ctx)).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    // m2 of exchange b replayed into a resolve of exchange a
    await expect(processTtpRequest(await req(keys.r, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1, m2: b.m2 }), store, ctx)).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    // a signed abort request relabelled as a resolve request no longer verifies
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1 });
    const relabelled = { ...abort, type: EXCHANGE_TYPES.resolveRequest, body: { ...abort.body, m2: a.m2 } };
    await expect(processTtpRequest(relabelled, store, ctx)).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    // a stranger
    await expect(processTtpRequest(await req(keys.mallory, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1, m2: a.m2 }), store, ctx)).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    // an exchange that names another TTP
    const otherTtp = { ...ctx, signer: keys.mallory };
    await expect(processTtpRequest(abort, store, otherTtp)).rejects.toMatchObject({ code: 'ERR_TTP' });
    expect(store.size()).toBe(0);
  });
});

describe('TTP: generatable ↔ verifiable', () => {
  it('resolves a complaint iff the verifiable item matches, before the deadline', async () => {
    const store = memoryStore();
    const good = await exchange(mail, 50);
    const complaint = await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: good.exchangeId, m1: good.m1, m2: good.m2 });
    const r = await processTtpRequest(complaint, store, at(mail, DEADLINE));
    expect(r.record.decision).toBe('resolved');
    const body = r.answer.body as { m2: Statement; affidavits: Statement[] };
    expect(body.m2).toEqual(good.m2);
    expect(body.affidavits).toHaveLength(1);
    expect(body.affidavits[0]!.body).toMatchObject({ onBehalfOf: keys.o.keyId, description: mail.O.gives, exchangeId: good.exchangeId });

    const bad = await exchange(mail, 60, true);
    const badComplaint = await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: bad.exchangeId, m1: bad.m1, m2: bad.m2 });
    await expect(processTtpRequest(badComplaint, store, at(mail, T0))).rejects.toMatchObject({ code: 'ERR_TTP', message: expect.stringMatching(/verifiable transfer did not happen/) });
    expect(store.get(bad.exchangeId)).toBeNull();
  });

  it("the originator's abort is too early before the deadline, final after it", async () => {
    const store = memoryStore();
    const ex = await exchange(mail, 70);
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1 });
    await expect(processTtpRequest(abort, store, at(mail, DEADLINE))).rejects.toMatchObject({ code: 'ERR_TTP', message: expect.stringMatching(/too early/) });
    const r = await processTtpRequest(abort, store, at(mail, DEADLINE + 1));
    expect(r.answer.type).toBe(TTP_TYPES.abortToken);
    expect(r.answer.body).toMatchObject({ reason: 'deadline-passed' });
    // The responder's complaint after that gets the same token.
    const late = await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1, m2: ex.m2 });
    expect(canonicalJson((await processTtpRequest(late, store, at(mail, DEADLINE + 2))).answer)).toBe(canonicalJson(r.answer));
  });

  it('only the responder complains, with m2', async () => {
    const store = memoryStore();
    const ex = await exchange(mail, 80);
    await expect(processTtpRequest(await req(keys.o, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1, m2: ex.m2 }), store, at(mail, T0))).rejects.toMatchObject({ code: 'ERR_TTP' });
    await expect(processTtpRequest(await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1 }), store, at(mail, T0))).rejects.toMatchObject({ code: 'ERR_TTP' });
  });
});

describe('TTP: revocable ↔ revocable', () => {
  it('a complaint before the deadline revokes both transfers; after it the exchange is final', async () => {
    const store = memoryStore();
    const ex = await exchange(money, 90);
    const complaint = await req(keys.o, EXCHANGE_TYPES.complaint, money.dealId, { exchangeId: ex.exchangeId, m1: ex.m1 });
    const r = await processTtpRequest(complaint, store, at(money, T0));
    expect(r.answer.type).toBe(TTP_TYPES.revocationOrder);
    expect((r.answer.body as { revoke: { giver: string }[] }).revoke.map((x) => x.giver)).toEqual([keys.o.keyId, keys.r.keyId]);

    const ex2 = await exchange(money, 100);
    const late = await req(keys.r, EXCHANGE_TYPES.complaint, money.dealId, { exchangeId: ex2.exchangeId, m1: ex2.m1, m2: ex2.m2 });
    const f = await processTtpRequest(late, store, at(money, DEADLINE + 1));
    expect(f.answer.type).toBe(TTP_TYPES.resolution);
    expect(f.answer.body).toMatchObject({ final: true });
  });
});
