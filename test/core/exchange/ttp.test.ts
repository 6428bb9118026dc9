/** The TTP's decisions (core/exchange/ttp.ts, ttpMachine) through an in-memory host: one state per exchange, compare-and-set on absent. */
import { beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGE_TYPES, TTP_TYPES, type TtpContext } from '../../../core/exchange/index.js';
import { canonicalJson } from '../../../core/encoding/index.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import { allScenarios, DEADLINE, honestPair, makeKeys, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';
import { memoryTtp, type MemoryTtp } from '../../protocols/ttp-host.js';

let keys: Keys;
let mail: Scenario, contract: Scenario, money: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  [mail, contract, money] = (await allScenarios(keys)) as [Scenario, Scenario, Scenario];
});

/** Run the machines to the point where m1 and m2 exist; `wrongM2` lets R put a wrong item in m2. */
async function exchange(sc: Scenario, seed: number, wrongM2 = false) {
  const { o, r1, exchangeId } = await honestPair(keys, sc, seed);
  let m2 = r1.state.m2!;
  if (wrongM2) m2 = await req(keys.r, EXCHANGE_TYPES.accept, sc.dealId, { exchangeId, item: sc.R.wrongItem });
  return { m1: o.state.m1!, m2, exchangeId };
}

async function req(signer: Signer, type: string, dealId: string, body: Record<string, unknown>): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

/** The TTP's context at `now` (the clock travels with the request event). */
const at = (sc: Scenario, now: number) => ({ ctx: sc.ttpContext(), now });
const askTtp = (request: unknown, store: MemoryTtp, at: { ctx: TtpContext; now: number }) => store.request(request, at.ctx, at.now);

describe('TTP: contract signing', () => {
  it('abort first: every later request, abort or resolve, gets the same abort token', async () => {
    const store = memoryTtp();
    const { m1, m2, exchangeId } = await exchange(contract, 10);
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1 });
    const resolve = await req(keys.r, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId, m1, m2 });
    const first = await askTtp(abort, store, at(contract, T0));
    expect(first).toMatchObject({ decided: true, record: { decision: 'aborted' } });
    expect(first.answer.type).toBe(TTP_TYPES.abortToken);
    const second = await askTtp(resolve, store, at(contract, T0 + 5));
    expect(second.decided).toBe(false);
    expect(canonicalJson(second.answer)).toBe(canonicalJson(first.answer));
    expect(canonicalJson((await askTtp(abort, store, at(contract, T0 + 9))).answer)).toBe(canonicalJson(first.answer));
    expect(store.size()).toBe(1);
  });

  it('resolve first: the resolution carries m1, m2 and affidavits for both items; a later abort gets it', async () => {
    const store = memoryTtp();
    const { m1, m2, exchangeId } = await exchange(contract, 20);
    const resolve = await req(keys.o, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId, m1, m2 });
    const r = await askTtp(resolve, store, at(contract, T0));
    expect(r.record.decision).toBe('resolved');
    const body = r.answer.body as { m1: Statement; m2: Statement; affidavits: Statement[] };
    expect(body.m1).toEqual(m1);
    expect(body.m2).toEqual(m2);
    expect(body.affidavits.map((a) => (a.body as { onBehalfOf: string }).onBehalfOf)).toEqual([keys.o.keyId, keys.r.keyId]);
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1 });
    expect((await askTtp(abort, store, at(contract, T0))).answer.type).toBe(TTP_TYPES.resolution);
  });

  it('an abort and a resolve racing on an undecided exchange: one decision is stored, the loser answers with it', async () => {
    const store = memoryTtp();
    const { m1, m2, exchangeId } = await exchange(contract, 25);
    const ctx = contract.ttpContext();
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId, m1 });
    const resolve = await req(keys.r, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId, m1, m2 });
    // Both hosts read "absent" and step; both decide, differently.
    const start = await store.load(exchangeId, ctx);
    const a = await store.step(start, abort, ctx, T0);
    const r = await store.step(start, resolve, ctx, T0);
    expect([a.decided, r.decided]).toEqual([true, true]);
    expect(a.state.record?.decision).toBe('aborted');
    expect(r.state.record?.decision).toBe('resolved');
    // The resolve is stored first; the abort loses the compare-and-set and steps again on the winner's state.
    expect(store.insertIfAbsent(r.state)).toBe(true);
    expect(store.insertIfAbsent(a.state)).toBe(false);
    const again = await store.step(await store.load(exchangeId, ctx), abort, ctx, T0);
    expect(again.decided).toBe(false);
    expect(canonicalJson(again.answer)).toBe(canonicalJson(r.answer));
    expect(store.get(exchangeId)?.decision).toBe('resolved');
    // The same race through the host: both answers are the one stored decision.
    const store2 = memoryTtp();
    const [x, y] = await Promise.all([store2.request(abort, ctx, T0), store2.request(resolve, ctx, T0)]);
    expect(canonicalJson(x.answer)).toBe(canonicalJson(y.answer));
    expect([x.decided, y.decided].filter(Boolean)).toHaveLength(1);
    expect(store2.size()).toBe(1);
  });

  it('refuses requests that would let one exchange be turned into another (Shmatikov–Mitchell)', async () => {
    const store = memoryTtp();
    const a = await exchange(contract, 30);
    const b = await exchange(contract, 40);
    const ctx = at(contract, T0);
    // the responder cannot abort
    await expect(
      askTtp(await req(keys.r, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1 }), store, ctx),
    ).rejects.toMatchObject({ code: 'ERR_TTP' });
    // a request naming exchange b but carrying m1 of a
    await expect(
      askTtp(await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId: b.exchangeId, m1: a.m1 }), store, ctx),
    ).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    // m2 of exchange b replayed into a resolve of exchange a
    await expect(
      askTtp(await req(keys.r, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1, m2: b.m2 }), store, ctx),
    ).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    // a signed abort request relabelled as a resolve request no longer verifies
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1 });
    const relabelled = { ...abort, type: EXCHANGE_TYPES.resolveRequest, body: { ...abort.body, m2: a.m2 } };
    await expect(askTtp(relabelled, store, ctx)).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    // a stranger
    await expect(
      askTtp(await req(keys.mallory, EXCHANGE_TYPES.resolveRequest, contract.dealId, { exchangeId: a.exchangeId, m1: a.m1, m2: a.m2 }), store, ctx),
    ).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    // an exchange that names another TTP
    const otherTtp = { ...ctx, ctx: { ...ctx.ctx, signer: keys.mallory } };
    await expect(askTtp(abort, store, otherTtp)).rejects.toMatchObject({ code: 'ERR_TTP' });
    expect(store.size()).toBe(0);
  });
});

describe('TTP: generatable ↔ verifiable', () => {
  it('resolves a complaint iff the verifiable item matches, before the deadline', async () => {
    const store = memoryTtp();
    const good = await exchange(mail, 50);
    const complaint = await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: good.exchangeId, m1: good.m1, m2: good.m2 });
    const r = await askTtp(complaint, store, at(mail, DEADLINE));
    expect(r.record.decision).toBe('resolved');
    const body = r.answer.body as { m2: Statement; affidavits: Statement[] };
    expect(body.m2).toEqual(good.m2);
    expect(body.affidavits).toHaveLength(1);
    expect(body.affidavits[0]!.body).toMatchObject({ onBehalfOf: keys.o.keyId, description: mail.O.gives, exchangeId: good.exchangeId });

    const bad = await exchange(mail, 60, true);
    const badComplaint = await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: bad.exchangeId, m1: bad.m1, m2: bad.m2 });
    await expect(askTtp(badComplaint, store, at(mail, T0))).rejects.toMatchObject({
      code: 'ERR_TTP',
      message: expect.stringMatching(/verifiable transfer did not happen/),
    });
    expect(store.get(bad.exchangeId)).toBeNull();
  });

  it("the originator's abort is too early before the deadline, final after it", async () => {
    const store = memoryTtp();
    const ex = await exchange(mail, 70);
    const abort = await req(keys.o, EXCHANGE_TYPES.abortRequest, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1 });
    await expect(askTtp(abort, store, at(mail, DEADLINE))).rejects.toMatchObject({ code: 'ERR_TTP', message: expect.stringMatching(/too early/) });
    const r = await askTtp(abort, store, at(mail, DEADLINE + 1));
    expect(r.answer.type).toBe(TTP_TYPES.abortToken);
    expect(r.answer.body).toMatchObject({ reason: 'deadline-passed' });
    // The responder's complaint after that gets the same token.
    const late = await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1, m2: ex.m2 });
    expect(canonicalJson((await askTtp(late, store, at(mail, DEADLINE + 2))).answer)).toBe(canonicalJson(r.answer));
  });

  it('only the responder complains, with m2', async () => {
    const store = memoryTtp();
    const ex = await exchange(mail, 80);
    await expect(
      askTtp(await req(keys.o, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1, m2: ex.m2 }), store, at(mail, T0)),
    ).rejects.toMatchObject({ code: 'ERR_TTP' });
    await expect(
      askTtp(await req(keys.r, EXCHANGE_TYPES.complaint, mail.dealId, { exchangeId: ex.exchangeId, m1: ex.m1 }), store, at(mail, T0)),
    ).rejects.toMatchObject({ code: 'ERR_TTP' });
  });
});

describe('TTP: revocable ↔ revocable', () => {
  it('a complaint before the deadline revokes both transfers; after it the exchange is final', async () => {
    const store = memoryTtp();
    const ex = await exchange(money, 90);
    const complaint = await req(keys.o, EXCHANGE_TYPES.complaint, money.dealId, { exchangeId: ex.exchangeId, m1: ex.m1 });
    const r = await askTtp(complaint, store, at(money, T0));
    expect(r.answer.type).toBe(TTP_TYPES.revocationOrder);
    expect((r.answer.body as { revoke: { giver: string }[] }).revoke.map((x) => x.giver)).toEqual([keys.o.keyId, keys.r.keyId]);

    const ex2 = await exchange(money, 100);
    const late = await req(keys.r, EXCHANGE_TYPES.complaint, money.dealId, { exchangeId: ex2.exchangeId, m1: ex2.m1, m2: ex2.m2 });
    const f = await askTtp(late, store, at(money, DEADLINE + 1));
    expect(f.answer.type).toBe(TTP_TYPES.resolution);
    expect(f.answer.body).toMatchObject({ final: true });
  });

  it('the final word (a resolve request, with m2): too early before the deadline; after it the revocation order if one was issued, else final', async () => {
    const store = memoryTtp();
    const ex = await exchange(money, 110);
    const ask = (signer: Signer) => req(signer, EXCHANGE_TYPES.resolveRequest, money.dealId, { exchangeId: ex.exchangeId, m1: ex.m1, m2: ex.m2 });
    await expect(askTtp(await ask(keys.o), store, at(money, DEADLINE))).rejects.toMatchObject({ code: 'ERR_TTP', message: expect.stringMatching(/too early/) });
    expect(store.get(ex.exchangeId)).toBeNull();
    const f = await askTtp(await ask(keys.r), store, at(money, DEADLINE + 1));
    expect(f.answer.body).toMatchObject({ final: true });
    // Once revoked, the final word is the revocation order.
    const ex2 = await exchange(money, 120);
    await askTtp(await req(keys.r, EXCHANGE_TYPES.complaint, money.dealId, { exchangeId: ex2.exchangeId, m1: ex2.m1, m2: ex2.m2 }), store, at(money, T0));
    const word = await askTtp(
      await req(keys.o, EXCHANGE_TYPES.resolveRequest, money.dealId, { exchangeId: ex2.exchangeId, m1: ex2.m1, m2: ex2.m2 }),
      store,
      at(money, DEADLINE + 5),
    );
    expect(word.answer.type).toBe(TTP_TYPES.revocationOrder);
    // Without m2 there is no final word to ask for.
    await expect(
      askTtp(await req(keys.o, EXCHANGE_TYPES.resolveRequest, money.dealId, { exchangeId: ex.exchangeId, m1: ex.m1 }), store, at(money, DEADLINE + 5)),
    ).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
  });
});
