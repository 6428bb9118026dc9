import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../../core/encoding/index.js';
import { jwkThumbprint } from '../../../core/crypto/index.js';
import { fingerprintOf } from '../../../core/pki/index.js';
import { newMerchantDeal, startPurchase, stepMerchant, stepShopper, type MerchantContext, type ShopperStep } from '../../../core/commerce/index.js';
import { cryptoRandom } from '../../../core/machine.js';
import { signStatement, statementDigest, type Statement } from '../../../core/statements/index.js';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { timelineOf, statementLabel, type TimelineInput } from '../../../extension/history/timeline.js';
import { makePurchaseWorld, ORIGIN, type PurchaseWorld } from '../../core/commerce/fixtures.js';

let world: PurchaseWorld;
/** The archive of a real purchase, as the worker keeps it: each step's statements with the step's time. */
let archive: TimelineInput[];
let merchantChain: string[];

beforeAll(async () => {
  world = await makePurchaseWorld();
  const merchant: MerchantContext = world.merchant;
  merchantChain = merchant.identity.chain;
  const ctx = { roots: [world.ca.root], signer: world.shopperSigner, random: cryptoRandom };
  archive = [];
  let clock = Date.parse('2026-11-30T09:00:00.000Z');
  const keep = async (s: ShopperStep) => {
    clock += 1000;
    for (const e of s.effects) {
      if (e.kind === 'archive')
        archive.push({ direction: e.direction, type: e.statement.type, statement: e.statement, digest: await statementDigest(e.statement), archivedAt: clock });
    }
  };
  let s = startPurchase({ dealId: randomId(18), nonce: randomId(32), origin: ORIGIN, items: [{ sku: 'colour-report', quantity: 1 }], now: Date.now() });
  const offered = await stepMerchant(newMerchantDeal(s.state.dealId), { type: 'offer-requested', request: s.send[0]!.body, now: Date.now() }, merchant);
  s = await stepShopper(s.state, { type: 'offer-response', response: offered.send[0]!.body, now: Date.now() }, ctx);
  await keep(s);
  s = await stepShopper(s.state, { type: 'user-confirmed', now: Date.now() }, ctx);
  await keep(s);
  const order = (s.send[0]!.body as { order: unknown }).order;
  const replied = await stepMerchant(offered.state, { type: 'order-received', order, now: Date.now() }, merchant);
  s = await stepShopper(s.state, { type: 'order-response', response: replied.send[0]!.body, now: Date.now() }, ctx);
  await keep(s);
  expect(s.state.phase).toBe('completed');
});

describe('timeline of a real purchase', () => {
  it('one event per archived statement, in protocol order, from the signer to its receiver, verified against certificate or key', async () => {
    // Shuffled as IndexedDB might return them: the timeline orders them itself.
    const timeline = await timelineOf([...archive].reverse());
    expect(timeline.parties).toEqual(['shopper', 'merchant']);
    expect(timeline.events.map((e) => [e.type, e.from, e.to, e.label])).toEqual([
      ['semper.offer', 'merchant', 'shopper', 'offer'],
      ['semper.order', 'shopper', 'merchant', 'signed order'],
      ['semper.order-confirmation', 'merchant', 'shopper', 'order confirmation'],
      ['semper.delivery', 'merchant', 'shopper', 'delivery'],
    ]);
    const [offer, order] = timeline.events;
    expect(offer!.verifiedAgainst).toEqual({
      kind: 'certificate',
      commonName: 'Fogra Forschungsgesellschaft Druck e.V.',
      issuer: 'Semper Test CA',
      fingerprint: await fingerprintOf(merchantChain[0]!),
      role: 'merchant',
    });
    expect(order!.verifiedAgainst).toEqual({ kind: 'key', keyId: await jwkThumbprint(world.shopperSigner.publicJwk) });
    for (const [i, e] of timeline.events.entries()) {
      const source = archive.find((a) => a.digest === e.digest)!;
      expect(e.at).toBe(source.statement.issuedAt);
      expect(e.archivedAt).toBe(new Date(source.archivedAt).toISOString());
      expect(e.direction).toBe(source.direction);
      if (i > 0) expect(e.archivedAt >= timeline.events[i - 1]!.archivedAt).toBe(true);
    }
  });

  it('TTP and bank statements come from their parties (by certificate role, else by type); requests to the TTP go to it; security keys show the credential', async () => {
    const ttp = await world.ca.issue({ commonName: 'Semper Demo TTP', role: 'ttp' });
    const bankKey = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const base = { version: 1 as const, dealId: archive[0]!.statement.dealId, issuedAt: '2026-11-30T09:00:10.000Z' };
    const affidavit = await signStatement({ ...base, type: 'semper.ttp.affidavit', body: {} }, ttp.signer, { signerRef: { kind: 'x509', chain: ttp.chain } });
    const proof = await signStatement({ ...base, type: 'semper.payment.proof', body: {} }, bankKey);
    const resolve = await signStatement({ ...base, type: 'semper.exchange.resolve-request', body: {} }, world.shopperSigner);
    // A security-key signature block (what the timeline reads of it; the worker verified it on the way in).
    const tokenSigned = {
      ...(await signStatement({ ...base, type: 'semper.order', body: {} }, world.shopperSigner)),
    } as Statement;
    tokenSigned.signature = {
      alg: 'webauthn-ES256',
      signer: { kind: 'webauthn', jwk: world.shopperSigner.publicJwk, credentialId: 'Y3JlZGVudGlhbC0x', rpId: 'chrome-extension://x' },
      value: 'AA',
      authenticatorData: 'AA',
      clientDataJSON: 'AA',
    } as never;
    const at = (statement: Statement, direction: 'sent' | 'received', archivedAt: number): TimelineInput => ({
      statement,
      direction,
      type: statement.type,
      digest: `d-${archivedAt}`,
      archivedAt,
    });
    const timeline = await timelineOf([at(tokenSigned, 'sent', 1), at(resolve, 'sent', 2), at(affidavit, 'received', 3), at(proof, 'received', 4)]);
    expect(timeline.parties).toEqual(['shopper', 'merchant', 'ttp', 'bank']);
    expect(timeline.events.map((e) => [e.from, e.to, e.label])).toEqual([
      ['shopper', 'merchant', 'signed order'],
      ['shopper', 'ttp', 'resolve request'],
      ['ttp', 'shopper', 'affidavit'],
      ['bank', 'shopper', 'proof of payment'],
    ]);
    expect(timeline.events[0]!.verifiedAgainst).toEqual({
      kind: 'webauthn',
      credentialId: 'Y3JlZGVudGlhbC0x',
      rpId: 'chrome-extension://x',
      keyId: await jwkThumbprint(world.shopperSigner.publicJwk),
    });
    expect(timeline.events[2]!.verifiedAgainst).toMatchObject({ kind: 'certificate', commonName: 'Semper Demo TTP', issuer: 'Semper Test CA', role: 'ttp' });
    expect(timeline.events[3]!.verifiedAgainst).toEqual({ kind: 'key', keyId: await jwkThumbprint(bankKey.publicJwk) });
  });

  it('within one step, the protocol order decides; a type both ways (deliver) puts the shopper’s first', async () => {
    const merchantSigner = world.merchant.identity.signer;
    const base = { version: 1 as const, dealId: 'd', issuedAt: '2026-11-30T09:00:10.000Z' };
    const mine = await signStatement({ ...base, type: 'semper.exchange.deliver', body: {} }, world.shopperSigner);
    const theirs = await signStatement({ ...base, type: 'semper.exchange.deliver', body: {}, issuedAt: '2026-11-30T09:00:09.000Z' }, merchantSigner);
    const propose = await signStatement({ ...base, type: 'semper.exchange.propose', body: {} }, world.shopperSigner);
    const at = (statement: Statement, direction: 'sent' | 'received', digest: string): TimelineInput => ({
      statement,
      direction,
      type: statement.type,
      digest,
      archivedAt: 5,
    });
    const timeline = await timelineOf([at(theirs, 'received', 'a'), at(mine, 'sent', 'b'), at(propose, 'sent', 'c')]);
    expect(timeline.events.map((e) => e.digest)).toEqual(['c', 'b', 'a']);
    expect(timeline.events.map((e) => `${e.from}>${e.to}`)).toEqual(['shopper>merchant', 'shopper>merchant', 'merchant>shopper']);
  });

  it('unknown types get plain words from their last part', () => {
    expect(statementLabel('semper.bank.cheque-presentment')).toBe('cheque presentment');
    expect(statementLabel('semper.delivery')).toBe('delivery');
  });
});
