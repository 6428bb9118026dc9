/**
 * ECDSA malleability against the exchange id. (r, n − s) verifies wherever (r, s) does, so anyone
 * holding m1 can make an equally valid twin with other bytes. If the exchange id were the digest of
 * m1 as sent, the twin would be a second exchange: the originator aborts the one, and a cheating
 * responder has the TTP resolve the twin — the originator holds an abort token while the responder
 * holds a resolution for the same signed proposal. exchangeIdOf names both by one id.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EXCHANGE_TYPES, exchangeIdOf, startOriginator, TTP_TYPES } from '../../../core/exchange/index.js';
import { seededRandom } from '../../../core/machine.js';
import { decodeBase64url, encodeBase64url } from '../../../core/encoding/index.js';
import { canonicalStatementDigest, lowS, nowIso, signStatement, statementDigest, verifyStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import { allScenarios, makeKeys, originatorParams, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';
import { memoryTtp } from '../../protocols/ttp-host.js';
import { otherS } from '../../helpers/arbitraries.js';

/** The other valid encoding of an ES256 statement's signature: s → n − s. */
function twin<B>(statement: Statement<B>): Statement<B> {
  const out = otherS(decodeBase64url(statement.signature.value));
  return { ...statement, signature: { ...statement.signature, value: encodeBase64url(out) } } as Statement<B>;
}

let keys: Keys;
let contract: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  contract = (await allScenarios(keys))[1] as Scenario;
});

async function signed(signer: Signer, type: string, body: Record<string, unknown>): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId: contract.dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

async function proposal(seed: number): Promise<Statement> {
  const o = await startOriginator(originatorParams(keys, contract), { ...contract.O.ctx, random: seededRandom(seed) });
  return o.state.m1!;
}

describe('one exchange id however m1 is encoded', () => {
  it('the twin of an ES256 statement verifies, has another statementDigest, and the same canonical digest', async () => {
    const m1 = await proposal(1);
    const other = twin(m1);
    expect(other.signature.value).not.toBe(m1.signature.value);
    await expect(verifyStatement(other)).resolves.toBeTruthy();
    expect(await statementDigest(other)).not.toBe(await statementDigest(m1));
    expect(await canonicalStatementDigest(other)).toBe(await canonicalStatementDigest(m1));
    expect(await exchangeIdOf(other)).toBe(await exchangeIdOf(m1));
    // Exactly one of the two is low-S (lowS leaves it as it is), and it keeps its plain digest as its id.
    const isLow = (m: Statement) => {
      const raw = decodeBase64url(m.signature.value);
      return encodeBase64url(lowS(raw)) === encodeBase64url(raw);
    };
    const low = [m1, other].filter(isLow);
    expect(low).toHaveLength(1);
    expect(await exchangeIdOf(low[0]!)).toBe(await statementDigest(low[0]!));
  });

  it('the originator aborted; a resolve request carrying the twin of m1 gets the same abort token, never a resolution', async () => {
    const ttp = memoryTtp();
    const m1 = await proposal(2);
    const exchangeId = await exchangeIdOf(m1);
    const abort = await signed(keys.o, EXCHANGE_TYPES.abortRequest, { exchangeId, m1 });
    const first = await ttp.request(abort, contract.ttpContext(), T0);
    expect(first.answer.type).toBe(TTP_TYPES.abortToken);

    // The cheating responder re-encodes m1 and accepts the twin under the id it would have had.
    const m1Twin = twin(m1);
    const twinId = await exchangeIdOf(m1Twin);
    expect(twinId).toBe(exchangeId);
    const m2 = await signed(keys.r, EXCHANGE_TYPES.accept, { exchangeId: twinId, item: contract.R.item });
    const resolve = await signed(keys.r, EXCHANGE_TYPES.resolveRequest, { exchangeId: twinId, m1: m1Twin, m2 });
    const second = await ttp.request(resolve, contract.ttpContext(), T0 + 5);
    expect(second.decided).toBe(false);
    expect(second.answer.type).toBe(TTP_TYPES.abortToken);
    expect(ttp.size()).toBe(1);

    // The id as sent would have been another exchange: that is what the canonical form prevents.
    expect(await statementDigest(m1Twin)).not.toBe(await statementDigest(m1));
  });
});
