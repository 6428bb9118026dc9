/**
 * Tests written for the mutation table (docs/mutation-purchase.md, test/mutation/purchase.ts): each
 * attacks one check of core/transfer that no other test failed without.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ATTRIBUTES, openTransfer, signTransfer, TRANSFER_TYPE, transferProperties } from '../../../core/transfer/index.js';
import type { Description } from '../../../core/items/index.js';
import { nowIso, signStatement } from '../../../core/statements/index.js';
import { certifiedMail, makeKeys, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';

let keys: Keys;
let mail: Scenario;
beforeAll(async () => {
  keys = await makeKeys();
  mail = await certifiedMail(keys);
});

const anon = { ...DEFAULT_ATTRIBUTES, anonymity: true };

describe('anonymous transfers', () => {
  it('refuse a credential hidden in a package (ERR_SCHEMA)', () => {
    const hidden: Description = { kind: 'package', items: [mail.R.gives, { kind: 'package', items: [{ kind: 'credential' }] }] };
    expect(() => transferProperties({ giver: keys.o.keyId, gives: hidden, attributes: anon })).toThrow(
      expect.objectContaining({ code: 'ERR_SCHEMA', message: expect.stringMatching(/credential identifies/) }),
    );
  });

  it('have no properties computed for what cannot be anonymous: transferProperties refuses it (ERR_SCHEMA)', () => {
    expect(() => transferProperties({ giver: keys.o.keyId, gives: { kind: 'credential' }, attributes: anon })).toThrow(
      expect.objectContaining({ code: 'ERR_SCHEMA' }),
    );
    expect(transferProperties({ giver: keys.o.keyId, gives: mail.R.gives, attributes: anon })).toMatchObject({ verifiable: true });
  });
});

describe('opening a transfer', () => {
  const signed = (body: Record<string, unknown>) =>
    signStatement({ type: TRANSFER_TYPE, version: 1, dealId: 'deal-transfer-0001', issuedAt: nowIso(T0), body }, keys.o);

  it('a signed statement of the transfer type whose body is not a transfer body is refused (ERR_SCHEMA)', async () => {
    const st = await signed({ from: keys.o.keyId, to: keys.r.keyId, item: mail.R.item });
    await expect(openTransfer(st, keys.r.keyId)).rejects.toMatchObject({ code: 'ERR_SCHEMA', message: expect.stringMatching(/malformed body/) });
  });

  it('a transfer another key signed, naming the sender it impersonates, is refused (ERR_SIGNATURE_INVALID)', async () => {
    const body = { from: keys.o.keyId, to: keys.r.keyId, attributes: DEFAULT_ATTRIBUTES, item: mail.R.item };
    const byMallory = await signStatement({ type: TRANSFER_TYPE, version: 1, dealId: 'deal-transfer-0001', issuedAt: nowIso(T0), body }, keys.mallory);
    await expect(openTransfer(byMallory, keys.r.keyId)).rejects.toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
      message: expect.stringMatching(/signed by a key other than the one it names as sender/),
    });
    const byO = await signStatement({ type: TRANSFER_TYPE, version: 1, dealId: 'deal-transfer-0001', issuedAt: nowIso(T0), body }, keys.o);
    expect((await openTransfer(byO, keys.r.keyId)).from).toBe(keys.o.keyId);
  });

  it('a statement of another type carrying a transfer body is not a transfer (ERR_STATEMENT_TYPE)', async () => {
    const body = { from: keys.o.keyId, to: keys.r.keyId, attributes: DEFAULT_ATTRIBUTES, item: mail.R.item };
    const receipt = await signStatement({ type: 'semper.receipt', version: 1, dealId: 'deal-transfer-0001', issuedAt: nowIso(T0), body }, keys.o);
    await expect(openTransfer(receipt, keys.r.keyId)).rejects.toMatchObject({ code: 'ERR_STATEMENT_TYPE' });
  });

  it('a transfer whose item is not an item is refused (ERR_SCHEMA)', async () => {
    const good = await signTransfer({ dealId: 'deal-transfer-0001', to: keys.r.keyId, item: mail.R.item, now: T0 }, keys.o);
    expect((await openTransfer(good, keys.r.keyId)).item).toEqual(mail.R.item);
    const st = await signed({
      from: keys.o.keyId,
      to: keys.r.keyId,
      attributes: DEFAULT_ATTRIBUTES,
      item: { kind: 'information', mediaType: 'text/plain', data: '!!' },
    });
    await expect(openTransfer(st, keys.r.keyId)).rejects.toMatchObject({ code: 'ERR_SCHEMA', message: expect.stringMatching(/item/) });
  });
});
