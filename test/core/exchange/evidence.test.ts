/**
 * Contract signing: what the evidence proves (core/exchange/evidence.ts), and the Shmatikov–Mitchell
 * attack on ASW (inconsistent versions): a cheating originator asks the TTP to abort as soon as it
 * has m2, gets the abort token, and still completes the main protocol (m3, m4). It then holds both
 * the responder's signature and an abort token. The rule: a valid main-protocol transcript m1..m4
 * (or the TTP's resolution) proves the contract; an abort token proves only that the TTP issued no
 * resolution and never will, so it cannot void a contract the transcript proves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGE_TYPES, judgeContractSigning, stepExchange, TTP_TYPES, type ContractEvidence, type ExchangeState } from '../../../core/exchange/index.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { honestPair, makeKeys, contract as contractScenario, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';
import { memoryTtp } from '../../protocols/ttp-host.js';

let keys: Keys;
let sc: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  sc = await contractScenario(keys);
});

const rt = (s: ExchangeState): ExchangeState => JSON.parse(JSON.stringify(s)) as ExchangeState;
const trust = () => ({ roots: [keys.root], now: T0 + 1_000 });

async function signed(signer: typeof keys.o, type: string, body: Record<string, unknown>): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId: sc.dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

/** The attack, run through the real machines: O aborts at the TTP after m2, then completes anyway. */
async function abortThenComplete() {
  const { o, r1, oCtx, rCtx, m1, m2 } = await honestPair(keys, sc, 71);
  // The cheat: an abort request with m2 already in hand.
  const abort = await signed(keys.o, EXCHANGE_TYPES.abortRequest, { exchangeId: o.state.exchangeId, m1 });
  const token = (await memoryTtp().request(abort, sc.ttpContext(), T0)).answer;
  expect(token.type).toBe(TTP_TYPES.abortToken);
  // ...and the main protocol anyway.
  const o2 = await stepExchange(rt(o.state), { type: 'message', message: m2, now: T0, from: 'peer' }, oCtx);
  const m3 = o2.send[0]!.statement;
  const r2 = await stepExchange(rt(r1.state), { type: 'message', message: m3, now: T0, from: 'peer' }, rCtx);
  const m4 = r2.send[0]!.statement;
  const o3 = await stepExchange(rt(o2.state), { type: 'message', message: m4, now: T0, from: 'peer' }, oCtx);
  return { m1, m2, m3, m4, token, o: o3.state, r: r2.state };
}

describe('contract signing evidence (issue 8, item 5: Shmatikov–Mitchell)', () => {
  it('the attack: the cheating originator holds an abort token and the contract; the transcript overrules the token', async () => {
    const a = await abortThenComplete();
    // Both machines completed the main protocol; the honest responder holds the originator's signature.
    expect(a.r.outcome?.status).toBe('completed');
    expect(a.o.outcome?.status).toBe('completed');
    // What each piece of evidence proves.
    expect(await judgeContractSigning({ m1: a.m1, abortToken: a.token }, trust())).toMatchObject({ signed: false, basis: 'abort-token' });
    const transcript: ContractEvidence = { m1: a.m1, m2: a.m2, m3: a.m3, m4: a.m4 };
    expect(await judgeContractSigning(transcript, trust())).toMatchObject({ signed: true, basis: 'main-protocol' });
    // The originator shows its abort token beside everything the responder shows: the contract stands.
    expect(await judgeContractSigning({ ...transcript, abortToken: a.token }, trust())).toMatchObject({ signed: true, basis: 'main-protocol' });
    // The responder's own state is such a transcript: it kept the originator's delivery (m3) as evidence.
    expect(a.r.peerDelivery).toEqual(a.m3);
    expect(await judgeContractSigning({ m1: a.r.m1!, m2: a.r.m2!, m3: a.r.peerDelivery!, m4: a.r.delivered!, abortToken: a.token }, trust())).toMatchObject({
      signed: true,
    });
  });

  it('a transcript proves the contract only if every message verifies and binds to the others', async () => {
    const a = await abortThenComplete();
    const base: ContractEvidence = { m1: a.m1, m2: a.m2, m3: a.m3, m4: a.m4, abortToken: a.token };
    const m3b = a.m3.body as Record<string, unknown>;
    const m4b = a.m4.body as Record<string, unknown>;
    const cases: [string, ContractEvidence][] = [
      ['m4 without its nonce', { ...base, m4: await signed(keys.r, EXCHANGE_TYPES.deliver, { ...m4b, nonce: 'A'.repeat(43) }) }],
      ['m3 without its nonce', { ...base, m3: await signed(keys.o, EXCHANGE_TYPES.deliver, { ...m3b, nonce: 'A'.repeat(43) }) }],
      ['m4 signed by a stranger', { ...base, m4: await signed(keys.mallory, EXCHANGE_TYPES.deliver, m4b) }],
      ['m3 signed by the responder', { ...base, m3: await signed(keys.r, EXCHANGE_TYPES.deliver, m3b) }],
      ['m2 of another exchange', { ...base, m2: await signed(keys.r, EXCHANGE_TYPES.accept, { ...(a.m2.body as object), exchangeId: 'B'.repeat(43) }) }],
      ['m4 carrying another item', { ...base, m4: await signed(keys.r, EXCHANGE_TYPES.deliver, { ...m4b, item: sc.R.wrongItem }) }],
      ['m3 claiming the responder role', { ...base, m3: await signed(keys.o, EXCHANGE_TYPES.deliver, { ...m3b, role: 'responder' }) }],
      ['m4 bound to another commitment', { ...base, m4: await signed(keys.r, EXCHANGE_TYPES.deliver, { ...m4b, peerCommitment: 'C'.repeat(43) }) }],
    ];
    for (const [what, evidence] of cases) {
      expect(await judgeContractSigning(evidence, trust()), what).toMatchObject({ signed: false, basis: 'abort-token' });
    }
    // An abort token of another TTP, or for another exchange, proves nothing about this one.
    const foreign = await signed(keys.mallory, TTP_TYPES.abortToken, a.token.body as Record<string, unknown>);
    expect(await judgeContractSigning({ m1: a.m1, abortToken: foreign }, trust())).toMatchObject({ signed: false, basis: 'incomplete' });
  });
});

describe('contract signing evidence: the TTP resolution', () => {
  it("a resolution of this m1 by m1's TTP proves the contract; one of another TTP or another m1 does not", async () => {
    const a = await abortThenComplete();
    const ttp = memoryTtp();
    const resolve = await signed(keys.r, EXCHANGE_TYPES.resolveRequest, { exchangeId: (a.m2.body as { exchangeId: string }).exchangeId, m1: a.m1, m2: a.m2 });
    const resolution = (await ttp.request(resolve, sc.ttpContext(), T0)).answer;
    expect(resolution.type).toBe(TTP_TYPES.resolution);
    expect(await judgeContractSigning({ m1: a.m1, resolution }, trust())).toMatchObject({ signed: true, basis: 'resolution' });
    const byStranger = await signed(keys.mallory, TTP_TYPES.resolution, resolution.body as Record<string, unknown>);
    expect(await judgeContractSigning({ m1: a.m1, resolution: byStranger }, trust())).toMatchObject({ signed: false, basis: 'incomplete' });
    const other = await abortThenComplete();
    expect(await judgeContractSigning({ m1: other.m1, resolution, abortToken: other.token }, trust())).toMatchObject({ signed: false, basis: 'abort-token' });
  });
});

describe('contract signing evidence: what is not contract signing', () => {
  it('an m1 of another protocol, or not signed by the originator it names, is no evidence of a contract at all', async () => {
    const a = await abortThenComplete();
    const gv = await signed(keys.o, EXCHANGE_TYPES.propose, { ...(a.m1.body as object), protocol: 'generatable-verifiable' });
    await expect(judgeContractSigning({ m1: gv }, trust())).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    const { commitment: _c, ...noCommitment } = a.m1.body as Record<string, unknown>;
    void _c;
    await expect(judgeContractSigning({ m1: await signed(keys.o, EXCHANGE_TYPES.propose, noCommitment) }, trust())).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
    await expect(
      judgeContractSigning({ m1: await signed(keys.mallory, EXCHANGE_TYPES.propose, a.m1.body as Record<string, unknown>) }, trust()),
    ).rejects.toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
    });
  });
});
