import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkTransfer,
  DEFAULT_ATTRIBUTES,
  openTransfer,
  receiptDescription,
  signTransfer,
  transferProperties,
  type Transfer,
} from '../../../core/transfer/index.js';
import { itemProperties, type Description } from '../../../core/items/index.js';
import { certifiedMail, currencyExchange, makeKeys, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';

let keys: Keys;
let mail: Scenario;
let money: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  mail = await certifiedMail(keys);
  money = await currencyExchange(keys);
});

describe('transfers', () => {
  it('end-to-end confidentiality: the TTP may not see the items, so it can neither check nor generate them', () => {
    const t: Transfer = { giver: keys.r.keyId, gives: mail.R.gives, attributes: DEFAULT_ATTRIBUTES };
    expect(transferProperties(t).verifiable).toBe(true);
    const secret = transferProperties({ ...t, attributes: { ...DEFAULT_ATTRIBUTES, confidentiality: 'end-to-end' } });
    expect(secret).toMatchObject({ verifiable: false, generatable: false });
    expect(
      transferProperties({ giver: keys.o.keyId, gives: mail.O.gives, attributes: { ...DEFAULT_ATTRIBUTES, confidentiality: 'end-to-end' } }).generatable,
    ).toBe(false);
  });

  it('anonymity refuses what identifies the sender', () => {
    const anon = { ...DEFAULT_ATTRIBUTES, anonymity: true };
    const certified: Description = { kind: 'statement', type: 'semper.note', signer: { certified: { role: 'shopper' } } };
    expect(() => checkTransfer({ giver: keys.o.keyId, gives: certified, attributes: anon })).toThrow(/anonymity: a statement signed by a certified key/);
    expect(() => checkTransfer({ giver: keys.o.keyId, gives: { kind: 'credential' }, attributes: anon })).toThrow(/credential identifies/);
    expect(() => checkTransfer({ giver: keys.o.keyId, gives: money.O.gives, attributes: anon })).toThrow(/only cash is anonymous/);
    const cash = { ...(money.O.gives as Extract<Description, { kind: 'money' }>), method: 'cash' as const };
    expect(() => checkTransfer({ giver: keys.o.keyId, gives: { kind: 'package', items: [cash, mail.O.gives] }, attributes: anon })).not.toThrow();
  });

  it('non-repudiation of receipt: the receipt description is generatable by the receiver', () => {
    const d = receiptDescription({ receiver: keys.o.keyId, sender: keys.r.keyId, dealId: 'deal-receipt-0001', received: mail.R.gives });
    expect(itemProperties(d, keys.o.keyId).generatable).toBe(true);
    expect(d).toMatchObject({ kind: 'statement', type: 'semper.receipt', signer: { keyId: keys.o.keyId } });
  });

  it('plain signed transfers: sender, addressee, item', async () => {
    const st = await signTransfer({ dealId: 'deal-transfer-0001', to: keys.r.keyId, item: mail.R.item, now: T0 }, keys.o);
    const opened = await openTransfer(st, keys.r.keyId);
    expect(opened.from).toBe(keys.o.keyId);
    expect(opened.item).toEqual(mail.R.item);
    await expect(openTransfer(st, keys.o.keyId)).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    const forged = await signTransfer({ dealId: 'deal-transfer-0001', to: keys.r.keyId, item: mail.R.item, now: T0 }, keys.mallory);
    const claimed = { ...forged, body: { ...forged.body, from: keys.o.keyId } };
    await expect(openTransfer(claimed, keys.r.keyId)).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    await expect(signTransfer({ dealId: 'deal-transfer-0001', to: keys.r.keyId, item: { kind: 'nope' } as never, now: T0 }, keys.o)).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
    });
  });
});
