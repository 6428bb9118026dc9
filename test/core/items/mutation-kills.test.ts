/**
 * Tests written for the mutation table (docs/mutation-purchase.md, test/mutation/purchase.ts): each
 * attacks one check of core/items that no other test failed without. The giver is the attacker: he
 * holds valid keys (and a bank's proof of some payment), signs his own statements and picks every
 * field of the item he hands over.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { itemProperties, matchItem, parseDescription, PAYMENT_PROOF_TYPE, type Description, type Item } from '../../../core/items/index.js';
import { encodeBase64url, utf8 } from '../../../core/encoding/index.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import type { Signer } from '../../../core/crypto/index.js';
import { currencyExchange, makeKeys, T0, type Keys, type Scenario } from '../../protocols/fixtures.js';

let keys: Keys;
let money: Scenario;
const ctx = () => ({ roots: [keys.root], now: T0 });

beforeAll(async () => {
  keys = await makeKeys();
  money = await currencyExchange(keys);
});

const DEAL = 'deal-items-000001';
const sign = async (signer: Signer, type: string, body: Record<string, unknown>, signerRef?: { kind: 'x509'; chain: string[] }): Promise<Statement> =>
  (await signStatement({ type, version: 1, dealId: DEAL, issuedAt: nowIso(T0), body }, signer, signerRef ? { signerRef } : {})) as Statement;
const byTtp = (body: Record<string, unknown> = {}) => sign(keys.ttp, 'semper.note', body, { kind: 'x509', chain: keys.ttpChain });
const revokedAll = async () => true;

describe('descriptions and statement items', () => {
  it('a description nesting packages deeper than 4 is refused (ERR_SCHEMA)', () => {
    let deep: Description = { kind: 'information', digest: 'A'.repeat(43) };
    for (let i = 0; i < 5; i++) deep = { kind: 'package', items: [deep] };
    expect(() => parseDescription(deep)).toThrow(expect.objectContaining({ code: 'ERR_SCHEMA', message: expect.stringMatching(/deeper than 4/) }));
    let four: Description = { kind: 'information', digest: 'A'.repeat(43) };
    for (let i = 0; i < 4; i++) four = { kind: 'package', items: [four] };
    expect(parseDescription(four)).toEqual(four);
  });

  it("a constraint reads the body's own fields: a body without the field does not meet it, even for a name every object inherits", async () => {
    const d: Description = { kind: 'statement', type: 'semper.note', signer: { keyId: keys.o.keyId }, constraints: [{ path: '__proto__', equals: {} }] };
    const without: Item = { kind: 'statement', statement: await sign(keys.o, 'semper.note', { other: 1 }) };
    expect(await matchItem(without, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/body\.__proto__ does not equal/) });
    const nested: Description = { ...d, constraints: [{ path: 'order.constructor', equals: {} }] };
    const plain: Item = { kind: 'statement', statement: await sign(keys.o, 'semper.note', { order: {} }) };
    expect(await matchItem(plain, nested, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/body\.order\.constructor/) });
  });

  it('a statement that must be signed by a certified key is not met by a bare key, whatever role or name it claims', async () => {
    const d: Description = { kind: 'statement', type: 'semper.note', signer: { certified: {} } };
    expect((await matchItem({ kind: 'statement', statement: await byTtp() }, d, ctx())).ok).toBe(true);
    const bare: Item = { kind: 'statement', statement: await sign(keys.mallory, 'semper.note', {}) };
    expect(await matchItem(bare, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/must be signed by a certified key/) });
  });

  it("a certified signer must bear the description's name, not only its role", async () => {
    const item: Item = { kind: 'statement', statement: await byTtp() };
    const d = (commonName: string): Description => ({ kind: 'statement', type: 'semper.note', signer: { certified: { role: 'ttp', commonName } } });
    expect((await matchItem(item, d('Semper Test TTP'), ctx())).ok).toBe(true);
    expect(await matchItem(item, d('Another TTP'), ctx())).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/signer is "Semper Test TTP", expected "Another TTP"/),
    });
  });

  it("a statement item's certified signer is checked for revocation (ERR_CERT_REVOKED)", async () => {
    const item: Item = { kind: 'statement', statement: await byTtp() };
    const d: Description = { kind: 'statement', type: 'semper.note', signer: { certified: { role: 'ttp' } } };
    expect((await matchItem(item, d, ctx())).ok).toBe(true);
    expect(await matchItem(item, d, { ...ctx(), isRevoked: revokedAll })).toMatchObject({ ok: false, reason: expect.stringMatching(/ERR_CERT_REVOKED/) });
  });
});

describe('statement types', () => {
  it('a statement of another type, with the agreed body and signer, does not fit (ERR_STATEMENT_TYPE); nor does a payment proof of another type', async () => {
    const d: Description = { kind: 'statement', type: 'semper.receipt', signer: { keyId: keys.o.keyId }, content: { body: { received: 'x' } } };
    expect((await matchItem({ kind: 'statement', statement: await sign(keys.o, 'semper.receipt', { received: 'x' }) }, d, ctx())).ok).toBe(true);
    const note: Item = { kind: 'statement', statement: await sign(keys.o, 'semper.note', { received: 'x' }) };
    expect(await matchItem(note, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/ERR_STATEMENT_TYPE/) });
    const m = money.O.gives as Extract<Description, { kind: 'money' }>;
    const proof = await sign(keys.bank, 'semper.note', { method: m.method, value: m.value, payee: m.payee, reference: m.reference });
    expect(await matchItem({ ...(money.O.item as Extract<Item, { kind: 'money' }>), proof }, m, ctx())).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/payment proof: ERR_STATEMENT_TYPE/),
    });
  });
});

describe('credentials', () => {
  it('a revoked credential does not fit (ERR_CERT_REVOKED)', async () => {
    const cred: Item = { kind: 'credential', chain: keys.ttpChain };
    expect((await matchItem(cred, { kind: 'credential', role: 'ttp' }, ctx())).ok).toBe(true);
    expect(await matchItem(cred, { kind: 'credential', role: 'ttp' }, { ...ctx(), isRevoked: revokedAll })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/ERR_CERT_REVOKED/),
    });
  });

  it('a credential naming someone else does not fit', async () => {
    const cred: Item = { kind: 'credential', chain: keys.ttpChain };
    expect((await matchItem(cred, { kind: 'credential', commonName: 'Semper Test TTP' }, ctx())).ok).toBe(true);
    expect(await matchItem(cred, { kind: 'credential', commonName: 'Semper Other TTP' }, ctx())).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/credential names "Semper Test TTP"/),
    });
  });
});

describe('money: the item, its proof and the description agree', () => {
  const desc = () => money.O.gives as Extract<Description, { kind: 'money' }>;
  const item = () => money.O.item as Extract<Item, { kind: 'money' }>;
  const bankProof = (body: Record<string, unknown>) => sign(keys.bank, PAYMENT_PROOF_TYPE, body);

  it('an item claiming another method than it was paid by does not fit, even with a right proof', async () => {
    const cheque: Item = { ...item(), method: 'cheque' };
    expect(await matchItem(cheque, desc(), ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/cheque payment, expected account/) });
  });

  it('an item claiming another amount than the description does not fit, even with a right proof', async () => {
    const less: Item = { ...item(), value: { amount: 1, currency: 'EUR' } };
    expect(await matchItem(less, desc(), ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/1 EUR, expected 10000 EUR/) });
  });

  it('a proof whose signature does not verify does not fit', async () => {
    const proof = item().proof;
    const forged: Item = { ...item(), proof: { ...proof, body: { ...(proof.body as Record<string, unknown>), payee: keys.mallory.keyId } } };
    expect(await matchItem(forged, desc(), ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/payment proof: ERR_SIGNATURE_INVALID/) });
  });

  it('a bank-signed statement that is not a payment proof body does not fit', async () => {
    const d = desc();
    const proof = await bankProof({ method: d.method, value: d.value, payee: d.payee, reference: d.reference, refunded: true });
    expect(await matchItem({ ...item(), proof }, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/payment proof body is malformed/) });
  });

  it("a bank's proof of a payment by another method, or of another amount, does not fit", async () => {
    const d = desc();
    const cash = await bankProof({ method: 'cash', value: d.value, payee: d.payee, reference: d.reference });
    expect(await matchItem({ ...item(), proof: cash }, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/another amount or method/) });
    const cent = await bankProof({ method: d.method, value: { amount: 1, currency: 'EUR' }, payee: d.payee, reference: d.reference });
    expect(await matchItem({ ...item(), proof: cent }, d, ctx())).toMatchObject({ ok: false, reason: expect.stringMatching(/another amount or method/) });
  });
});

describe('exchange-enabling properties', () => {
  it('an account transfer without a revocation window is not revocable', () => {
    const { revocableUntil: _r, ...open } = money.O.gives as Extract<Description, { kind: 'money' }>;
    expect(itemProperties(open, keys.o.keyId)).toEqual({ verifiable: true, generatable: false, revocable: false });
  });

  it('a package is revocable only if every item is', () => {
    const info: Description = { kind: 'information', digest: encodeBase64url(utf8('x'.repeat(32))).slice(0, 43) };
    expect(itemProperties(money.O.gives, keys.o.keyId).revocable).toBe(true);
    expect(itemProperties({ kind: 'package', items: [money.O.gives, info] }, keys.o.keyId)).toEqual({ verifiable: true, generatable: false, revocable: false });
  });
});
