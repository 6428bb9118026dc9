/** Contract-signing exchanges ready to be aborted or resolved at the TTP (for the server tests). */
import { EXCHANGE_TYPES, startOriginator, startResponder, stepExchange } from '../../core/exchange/index.js';
import { nowIso, signStatement, type Statement } from '../../core/statements/index.js';
import type { Signer } from '../../core/crypto/index.js';
import { contract, makeKeys, nonceSource, SIM_TIMEOUTS, T0, type Keys, type Scenario } from '../protocols/fixtures.js';

export interface PreparedExchange {
  exchangeId: string;
  m1: Statement;
  m2: Statement;
  /** O asks to abort */
  abort: Statement;
  /** R asks to resolve with (m1, m2) */
  resolve: Statement;
}

export async function request(signer: Signer, type: string, dealId: string, body: Record<string, unknown>): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

export async function prepareExchanges(sc: Scenario, n: number, seed = 1): Promise<PreparedExchange[]> {
  const out: PreparedExchange[] = [];
  for (let i = 0; i < n; i++) {
    const oCtx = { ...sc.O.ctx, randomNonce: nonceSource(seed * 100_000 + i * 2) };
    const rCtx = { ...sc.R.ctx, randomNonce: nonceSource(seed * 100_000 + i * 2 + 1) };
    const common = { protocol: sc.protocol, dealId: sc.dealId, now: T0, timeouts: SIM_TIMEOUTS };
    const o = await startOriginator(
      {
        ...common,
        gives: sc.O.gives,
        item: sc.O.item,
        expects: sc.R.gives,
        responder: { keyId: sc.keys.r.keyId },
        ttp: { keyId: sc.keys.ttp.keyId },
        deadline: sc.deadline,
      },
      oCtx,
    );
    const r0 = await startResponder(
      { ...common, gives: sc.R.gives, item: sc.R.item, expects: sc.O.gives, originator: { keyId: sc.keys.o.keyId }, ttp: { keyId: sc.keys.ttp.keyId } },
      rCtx,
    );
    const r1 = await stepExchange(r0.state, { type: 'message', message: o.send[0]!.statement, now: T0 }, rCtx);
    const m1 = o.state.m1!;
    const m2 = r1.state.m2!;
    const exchangeId = o.state.exchangeId!;
    out.push({
      exchangeId,
      m1,
      m2,
      abort: await request(sc.keys.o, EXCHANGE_TYPES.abortRequest, sc.dealId, { exchangeId, m1 }),
      resolve: await request(sc.keys.r, EXCHANGE_TYPES.resolveRequest, sc.dealId, { exchangeId, m1, m2 }),
    });
  }
  return out;
}

export async function contractSetup(): Promise<{ keys: Keys; sc: Scenario }> {
  const keys = await makeKeys();
  return { keys, sc: await contract(keys) };
}
