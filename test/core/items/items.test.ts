import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  describeInformation,
  itemProperties,
  matchItem,
  parseDescription,
  parseItem,
  PAYMENT_PROOF_TYPE,
  type Description,
  type Item,
} from '../../../core/items/index.js';
import { encodeBase64url, utf8 } from '../../../core/encoding/index.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import { certifiedMail, currencyExchange, makeKeys, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';

let keys: Keys;
let mail: Scenario;
let money: Scenario;
const ctx = () => ({ roots: [keys.root], now: T0 });

beforeAll(async () => {
  keys = await makeKeys();
  mail = await certifiedMail(keys);
  money = await currencyExchange(keys);
});

const info = (text: string): Item => ({ kind: 'information', mediaType: 'text/plain', data: encodeBase64url(utf8(text)) });
const sign = async (signer: Signer, type: string, body: Record<string, unknown>, dealId = 'deal-items-000001'): Promise<Statement> =>
  (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;

describe('item schemas', () => {
  it('accepts every kind and nested packages', () => {
    const pkg: Item = { kind: 'package', items: [info('a'), { kind: 'package', items: [info('b'), mail.O.item] }] };
    expect(parseItem(pkg)).toEqual(pkg);
    expect(parseItem(money.O.item).kind).toBe('money');
    expect(parseItem({ kind: 'credential', chain: keys.ttpChain }).kind).toBe('credential');
  });

  it('refuses malformed items, naming the field', () => {
    expect(() => parseItem({ kind: 'information', mediaType: 'text/plain', data: 'not base64url!' })).toThrow(/data/);
    expect(() => parseItem({ kind: 'coupon' })).toThrow(expect.objectContaining({ code: 'ERR_SCHEMA' }));
    expect(() => parseItem({ kind: 'money', method: 'account', value: { amount: 1.5, currency: 'EUR' }, proof: money.O.item })).toThrow(/amount/);
    let deep: Item = info('x');
    for (let i = 0; i < 5; i++) deep = { kind: 'package', items: [deep] };
    expect(() => parseItem(deep)).toThrow(/deeper than 4/);
    expect(() => parseDescription({ kind: 'information', digest: 'short' })).toThrow(expect.objectContaining({ code: 'ERR_SCHEMA' }));
  });
});

describe('matchItem', () => {
  it('information: digest, media type and size', async () => {
    const item = info('hello');
    const d = await describeInformation(item as Extract<Item, { kind: 'information' }>);
    expect(await matchItem(item, d, ctx())).toEqual({ ok: true });
    expect((await matchItem(info('hellO'), d, ctx())).ok).toBe(false);
    expect(await matchItem(item, { ...d, mediaType: 'text/html' }, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/media type/) });
    expect(await matchItem(item, { ...d, size: 6 }, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/bytes/) });
    expect(await matchItem(mail.O.item, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/expected a information item/) });
  });

  it('information: any byte change is caught (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), async (bytes, at) => {
        const item: Item = { kind: 'information', mediaType: 'application/octet-stream', data: encodeBase64url(bytes) };
        const d = await describeInformation(item as Extract<Item, { kind: 'information' }>);
        expect((await matchItem(item, d, ctx())).ok).toBe(true);
        const flipped = Uint8Array.from(bytes);
        flipped[at % flipped.length]! ^= 1;
        expect((await matchItem({ ...item, data: encodeBase64url(flipped) } as Item, d, ctx())).ok).toBe(false);
      }),
      { numRuns: 50, seed: 3 },
    );
  });

  it('statement: type, signer, deal, constraints, fixed content, signature', async () => {
    const d = mail.O.gives as Extract<Description, { kind: 'statement' }>;
    expect(await matchItem(mail.O.item, d, ctx())).toEqual({ ok: true });
    expect((await matchItem(mail.O.wrongItem, d, ctx())).ok).toBe(false);
    const byOther: Item = { kind: 'statement', statement: await sign(keys.r, d.type, d.content!.body, d.dealId) };
    expect(await matchItem(byOther, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/signed by key/) });
    const otherDeal: Item = { kind: 'statement', statement: await sign(keys.o, d.type, d.content!.body, 'deal-another-0001') };
    expect(await matchItem(otherDeal, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/deal/) });
    const st = (mail.O.item as Extract<Item, { kind: 'statement' }>).statement;
    const tampered: Item = { kind: 'statement', statement: { ...st, body: { ...st.body, sender: keys.o.keyId } } };
    expect(await matchItem(tampered, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/ERR_SIGNATURE_INVALID/) });
    const constrained: Description = {
      kind: 'statement',
      type: 'semper.note',
      signer: { keyId: keys.o.keyId },
      constraints: [{ path: 'order.total', equals: 5 }],
    };
    const good: Item = { kind: 'statement', statement: await sign(keys.o, 'semper.note', { order: { total: 5, x: 1 } }) };
    const bad: Item = { kind: 'statement', statement: await sign(keys.o, 'semper.note', { order: { total: '5' } }) };
    expect((await matchItem(good, constrained, ctx())).ok).toBe(true);
    expect(await matchItem(bad, constrained, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/order\.total/) });
  });

  it('statement signed by a certified key: role and name', async () => {
    const st = (await signStatement({ type: 'semper.note', version: 1, dealId: 'deal-items-000001', issuedAt: nowIso(T0), body: {} }, keys.ttp, {
      signerRef: { kind: 'x509', chain: keys.ttpChain },
    })) as Statement;
    const item: Item = { kind: 'statement', statement: st };
    expect((await matchItem(item, { kind: 'statement', type: 'semper.note', signer: { certified: { role: 'ttp' } } }, ctx())).ok).toBe(true);
    expect((await matchItem(item, { kind: 'statement', type: 'semper.note', signer: { certified: { role: 'bank' } } }, ctx())).ok).toBe(false);
    expect((await matchItem(item, { kind: 'statement', type: 'semper.note', signer: { certified: { role: 'ttp' } } }, { roots: [], now: T0 })).ok).toBe(false);
  });

  it('credential: chain to a trusted root, role, key', async () => {
    const cred: Item = { kind: 'credential', chain: keys.ttpChain };
    expect((await matchItem(cred, { kind: 'credential', role: 'ttp', subjectKeyId: keys.ttp.keyId }, ctx())).ok).toBe(true);
    expect((await matchItem(cred, { kind: 'credential', role: 'merchant' }, ctx())).ok).toBe(false);
    expect((await matchItem(cred, { kind: 'credential', subjectKeyId: keys.o.keyId }, ctx())).ok).toBe(false);
    expect(await matchItem(cred, { kind: 'credential' }, { roots: [], now: T0 })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/ERR_CERT_UNTRUSTED/),
    });
    expect(await matchItem(cred, { kind: 'credential' }, { roots: [keys.root], now: Date.UTC(2041, 0, 1) })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/ERR_CERT_EXPIRED/),
    });
  });

  it('money: bank-signed proof for this amount, payee and reference', async () => {
    const d = money.O.gives as Extract<Description, { kind: 'money' }>;
    expect(await matchItem(money.O.item, d, ctx())).toEqual({ ok: true });
    expect(await matchItem(money.O.wrongItem, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/signed by key/) });
    expect((await matchItem(money.O.item, { ...d, payee: keys.o.keyId }, ctx())).ok).toBe(false);
    expect((await matchItem(money.O.item, { ...d, reference: 'other-deal' }, ctx())).ok).toBe(false);
    expect((await matchItem(money.O.item, { ...d, value: { amount: 10_001, currency: 'EUR' } }, ctx())).ok).toBe(false);
    const proof = await sign(keys.bank, PAYMENT_PROOF_TYPE, { method: 'account', value: d.value, payee: d.payee, reference: 'other-deal' });
    const reused: Item = { kind: 'money', method: 'account', value: d.value, proof };
    expect(await matchItem(reused, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/references other-deal/) });
  });

  it('package: same shape, item by item, in order', async () => {
    const a = info('a');
    const b = info('b');
    const da = await describeInformation(a as Extract<Item, { kind: 'information' }>);
    const db = await describeInformation(b as Extract<Item, { kind: 'information' }>);
    const d: Description = { kind: 'package', items: [da, db] };
    expect((await matchItem({ kind: 'package', items: [a, b] }, d, ctx())).ok).toBe(true);
    expect(await matchItem({ kind: 'package', items: [b, a] }, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/^\$\[0\]/) });
    expect((await matchItem({ kind: 'package', items: [a] }, d, ctx())).ok).toBe(false);
  });
});

describe('exchange-enabling properties', () => {
  it('per kind', () => {
    const o = keys.o.keyId;
    expect(itemProperties({ kind: 'information', digest: 'A'.repeat(43) }, o)).toEqual({ verifiable: true, generatable: false, revocable: false });
    expect(itemProperties(mail.O.gives, o)).toMatchObject({ verifiable: true, generatable: true, revocable: false });
    // Fixed content but signed by someone else: the TTP cannot stand in for a third party.
    expect(itemProperties(mail.O.gives, keys.r.keyId).generatable).toBe(false);
    const open: Description = { kind: 'statement', type: 'semper.note', signer: { keyId: o } };
    expect(itemProperties(open, o).generatable).toBe(false);
    expect(itemProperties({ ...open, revocableUntil: T0 }, o)).toMatchObject({ revocable: true, revocableUntil: T0 });
    expect(itemProperties(money.O.gives, o)).toMatchObject({ verifiable: true, generatable: false, revocable: true });
    const cash = { ...(money.O.gives as Extract<Description, { kind: 'money' }>), method: 'cash' as const };
    expect(itemProperties(cash, o).revocable).toBe(false);
    expect(itemProperties({ kind: 'credential' }, o)).toEqual({ verifiable: true, generatable: false, revocable: false });
  });

  it('packages: a property holds if it holds for every item; an empty package has all', () => {
    const o = keys.o.keyId;
    expect(itemProperties({ kind: 'package', items: [] }, o)).toEqual({ verifiable: true, generatable: true, revocable: true });
    expect(itemProperties({ kind: 'package', items: [mail.O.gives, { kind: 'information', digest: 'A'.repeat(43) }] }, o)).toEqual({
      verifiable: true,
      generatable: false,
      revocable: false,
    });
    const r1 = { ...(money.O.gives as Extract<Description, { kind: 'money' }>), revocableUntil: T0 + 5 };
    const r2 = { ...r1, revocableUntil: T0 + 9 };
    expect(itemProperties({ kind: 'package', items: [r1, r2] }, o)).toMatchObject({ revocable: true, revocableUntil: T0 + 5 });
  });
});
