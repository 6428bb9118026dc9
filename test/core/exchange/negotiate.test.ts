import { beforeAll, describe, expect, it } from 'vitest';
import { negotiateExchange, startOriginator, type NegotiationInput } from '../../../core/exchange/index.js';
import { DEFAULT_ATTRIBUTES, type Transfer } from '../../../core/transfer/index.js';
import type { Description } from '../../../core/items/index.js';
import { allScenarios, makeKeys, SIM_TIMEOUTS, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';

let keys: Keys;
let mail: Scenario, contract: Scenario, money: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  [mail, contract, money] = (await allScenarios(keys)) as [Scenario, Scenario, Scenario];
});

const side = (sc: Scenario, who: 'O' | 'R', attributes = DEFAULT_ATTRIBUTES): Transfer => ({
  giver: who === 'O' ? sc.keys.o.keyId : sc.keys.r.keyId,
  gives: sc[who].gives,
  attributes,
});

describe('negotiateExchange', () => {
  it('generatable ↔ verifiable: the generatable side originates, whichever asked', () => {
    expect(negotiateExchange({ a: side(mail, 'O'), b: side(mail, 'R') })).toMatchObject({ protocol: 'generatable-verifiable', originator: 'a' });
    expect(negotiateExchange({ a: side(mail, 'R'), b: side(mail, 'O') })).toMatchObject({ protocol: 'generatable-verifiable', originator: 'b' });
  });

  it('both generatable → contract signing; both revocable → revocable↔revocable', () => {
    expect(negotiateExchange({ a: side(contract, 'O'), b: side(contract, 'R') }).protocol).toBe('contract-signing');
    expect(negotiateExchange({ a: side(money, 'O'), b: side(money, 'R'), deadline: T0 + 1000 }).protocol).toBe('revocable-revocable');
  });

  it('refuses pairs no protocol makes fair, naming why', () => {
    // information for an account payment: neither side generatable, information not revocable
    const unfair: NegotiationInput = { a: side(mail, 'R'), b: side(money, 'O') };
    expect(() => negotiateExchange(unfair)).toThrow(
      expect.objectContaining({
        code: 'ERR_EXCHANGE_UNFAIR',
        message: expect.stringMatching(/a gives information \(verifiable\), b gives money \(verifiable\+revocable\)/),
      }),
    );
    // revocation windows that close before the deadline
    expect(() => negotiateExchange({ a: side(money, 'O'), b: side(money, 'R'), deadline: T0 + 10 * 3_600_000 })).toThrow(
      expect.objectContaining({ code: 'ERR_EXCHANGE_UNFAIR' }),
    );
    // end-to-end confidential information cannot be checked by the TTP
    expect(() => negotiateExchange({ a: side(mail, 'O'), b: side(mail, 'R', { ...DEFAULT_ATTRIBUTES, confidentiality: 'end-to-end' }) })).toThrow(
      expect.objectContaining({ code: 'ERR_EXCHANGE_UNFAIR' }),
    );
    // only a protocol that does not fit is allowed
    expect(() => negotiateExchange({ a: side(mail, 'O'), b: side(mail, 'R'), allowed: ['revocable-revocable'] })).toThrow(
      /among the allowed protocols revocable-revocable/,
    );
    // two pieces of information: nothing generatable, nothing revocable
    const infoDesc: Description = { kind: 'information', digest: 'B'.repeat(43) };
    expect(() => negotiateExchange({ a: side(mail, 'R'), b: { giver: keys.o.keyId, gives: infoDesc, attributes: DEFAULT_ATTRIBUTES } })).toThrow(
      expect.objectContaining({ code: 'ERR_EXCHANGE_UNFAIR' }),
    );
  });

  it('an originator refuses an unfair protocol before anything is sent', async () => {
    const p = {
      protocol: 'generatable-verifiable' as const,
      dealId: mail.dealId,
      responder: { keyId: keys.o.keyId },
      ttp: { keyId: keys.ttp.keyId },
      gives: mail.R.gives,
      item: mail.R.item,
      expects: mail.O.gives,
      now: T0,
      timeouts: SIM_TIMEOUTS,
    };
    // R (information) cannot originate generatable↔verifiable: its item is not generatable.
    await expect(startOriginator(p, mail.R.ctx)).rejects.toMatchObject({ code: 'ERR_EXCHANGE_UNFAIR' });
    await expect(startOriginator({ ...p, protocol: 'contract-signing' }, mail.R.ctx)).rejects.toMatchObject({ code: 'ERR_EXCHANGE_UNFAIR' });
    // and an item that does not fit its own description is refused too
    await expect(
      startOriginator({ ...p, responder: { keyId: keys.r.keyId }, gives: mail.O.gives, item: mail.O.wrongItem, expects: mail.R.gives }, mail.O.ctx),
    ).rejects.toMatchObject({ code: 'ERR_ITEM_MISMATCH' });
    // an untrusted TTP
    await expect(
      startOriginator(
        { ...p, responder: { keyId: keys.r.keyId }, gives: mail.O.gives, item: mail.O.item, expects: mail.R.gives, ttp: { keyId: keys.mallory.keyId } },
        mail.O.ctx,
      ),
    ).rejects.toMatchObject({ code: 'ERR_TTP' });
  });
});
