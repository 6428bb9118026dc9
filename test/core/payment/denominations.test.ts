/** The wallet's check of the bank's signed key list: it is accepted as signed, and every refusal names its rule. */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64url } from '../../../core/encoding/index.js';
import { isSemperError } from '../../../core/errors.js';
import { signerFromKeyPair } from '../../../core/crypto/index.js';
import { createRootCertificate, issueCertificate } from '../../../core/pki/index.js';
import { nowIso, signStatement } from '../../../core/statements/index.js';
import { type Denomination, DENOMINATIONS_TYPE, denominationId, requireDenomination, verifyDenominationList } from '../../../core/payment/cash/index.js';
import { DAY, fixtureDenomination, signer, signKeyList, T0, refusalCode } from './helpers.js';

const code = refusalCode;

let d1: Denomination;
let d2: Denomination;

beforeAll(async () => {
  d1 = (await fixtureDenomination(0, 100)).denomination;
  d2 = (await fixtureDenomination(1, 500)).denomination;
});

describe('verifyDenominationList', () => {
  it('accepts the list the pinned bank signed, with each key imported', async () => {
    const bank = await signer();
    const set = await verifyDenominationList(await signKeyList(bank, [d1, d2]), { bankKeyId: bank.keyId });
    expect(set.bankKeyId).toBe(bank.keyId);
    expect(set.byId.get(d1.id)?.publicKey.algorithm).toMatchObject({ name: 'RSA-PSS', modulusLength: 2048 });
    expect(requireDenomination(set, d1.id, 'withdraw', T0).value.amount).toBe(100);
  });

  it('refuses a list signed by another key, or naming another bank than its signer', async () => {
    const bank = await signer();
    const mallory = await signer();
    expect(await code(verifyDenominationList(await signKeyList(mallory, [d1]), { bankKeyId: bank.keyId }))).toBe('ERR_CERT_UNTRUSTED');
    expect(await code(verifyDenominationList(await signKeyList(mallory, [d1], bank.keyId), { bankKeyId: mallory.keyId }))).toBe('ERR_DENOMINATION');
  });

  it('refuses a tampered list (signature), another statement type, a malformed body', async () => {
    const bank = await signer();
    const list = await signKeyList(bank, [d1]);
    const tampered = structuredClone(list) as typeof list & { body: { denominations: Denomination[] } };
    tampered.body.denominations[0]!.depositUntil += DAY;
    expect(await code(verifyDenominationList(tampered, { bankKeyId: bank.keyId }))).toBe('ERR_SIGNATURE_INVALID');
    expect(await code(verifyDenominationList({ ...list, type: 'semper.bank.other' }, { bankKeyId: bank.keyId }))).toBe('ERR_STATEMENT_TYPE');
    expect(await code(verifyDenominationList(await signKeyList(bank, [{ ...d1, extra: 1 }]), { bankKeyId: bank.keyId }))).toBe('ERR_SCHEMA');
    expect(await code(verifyDenominationList(await signKeyList(bank, []), { bankKeyId: bank.keyId }))).toBe('ERR_SCHEMA');
  });

  it('refuses an id that is not the digest of its key, a key listed twice, times out of order, a value of nothing', async () => {
    const bank = await signer();
    const check = async (ds: unknown[]) => code(verifyDenominationList(await signKeyList(bank, ds), { bankKeyId: bank.keyId }));
    expect(await check([{ ...d1, id: d2.id }])).toBe('ERR_DENOMINATION');
    expect(await check([d1, { ...d1, value: { amount: 200, currency: 'CHF' } }])).toBe('ERR_DENOMINATION');
    expect(await check([{ ...d1, withdrawUntil: d1.validFrom }])).toBe('ERR_DENOMINATION');
    expect(await check([{ ...d1, spendUntil: d1.withdrawUntil - 1 }])).toBe('ERR_DENOMINATION');
    expect(await check([{ ...d1, depositUntil: d1.spendUntil - 1 }])).toBe('ERR_DENOMINATION');
    expect(await check([{ ...d1, value: { amount: 0, currency: 'CHF' } }])).toBe('ERR_DENOMINATION');
  });

  it('refuses a key that is not RSA-2048 with e = 65537', async () => {
    const bank = await signer();
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    const weak = { ...d1, rsaPublicKey: encodeBase64url(small), id: await denominationId(small) };
    expect(await code(verifyDenominationList(await signKeyList(bank, [weak]), { bankKeyId: bank.keyId }))).toBe('ERR_KEY');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' });
    const notRsa = { ...d1, rsaPublicKey: encodeBase64url(ec), id: await denominationId(ec) };
    expect(await code(verifyDenominationList(await signKeyList(bank, [notRsa]), { bankKeyId: bank.keyId }))).toBe('ERR_KEY');
  });

  it('with certificates: a list signed by a certified bank is accepted; a bare key, or another role, is not', async () => {
    const caKeys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const notBefore = new Date(T0 - DAY);
    const notAfter = new Date(T0 + 365 * DAY);
    const root = await createRootCertificate({ commonName: 'Test CA', keys: caKeys, notBefore, notAfter });
    const trust = { trust: { roots: [root], now: new Date(T0) } };
    const certified = async (role: 'bank' | 'merchant') => {
      const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
      const s = await signerFromKeyPair('ES256', keys);
      const leaf = await issueCertificate({
        issuerCertificate: root,
        issuerPrivateKey: caKeys.privateKey,
        subjectPublicKey: keys.publicKey,
        commonName: `Test ${role}`,
        role,
        ...(role === 'merchant' ? { origins: ['https://shop.example'] } : {}),
        notBefore,
        notAfter,
      });
      return { signer: s, chain: [leaf, root] };
    };
    const bank = await certified('bank');
    const list = await signStatement(
      { type: DENOMINATIONS_TYPE, version: 1, dealId: 'denominations', issuedAt: nowIso(T0), body: { bankKeyId: bank.signer.keyId, denominations: [d1] } },
      bank.signer,
      { signerRef: { kind: 'x509', chain: bank.chain } },
    );
    expect((await verifyDenominationList(list, trust)).bankKeyId).toBe(bank.signer.keyId);
    const shop = await certified('merchant');
    const byShop = await signStatement(
      { type: DENOMINATIONS_TYPE, version: 1, dealId: 'denominations', issuedAt: nowIso(T0), body: { bankKeyId: shop.signer.keyId, denominations: [d1] } },
      shop.signer,
      { signerRef: { kind: 'x509', chain: shop.chain } },
    );
    expect(await code(verifyDenominationList(byShop, trust))).toBe('ERR_CERT_UNTRUSTED');
    expect(await code(verifyDenominationList(await signKeyList(await signer(), [d1]), trust))).toBe('ERR_CERT_UNTRUSTED');
  });

  it('requireDenomination: unknown, not yet, no longer issuing, spending, depositing', async () => {
    const bank = await signer();
    const set = await verifyDenominationList(await signKeyList(bank, [d1]), { bankKeyId: bank.keyId });
    const use = (id: string, u: 'withdraw' | 'spend' | 'deposit', now: number) => {
      try {
        requireDenomination(set, id, u, now);
        return 'ok';
      } catch (e) {
        return isSemperError(e) ? e.code : 'thrown';
      }
    };
    expect(use('X'.repeat(43), 'spend', T0)).toBe('ERR_DENOMINATION');
    expect(use(d1.id, 'withdraw', d1.validFrom - 1)).toBe('ERR_DENOMINATION');
    expect(use(d1.id, 'withdraw', d1.withdrawUntil)).toBe('ERR_DENOMINATION');
    expect(use(d1.id, 'spend', d1.withdrawUntil)).toBe('ok');
    expect(use(d1.id, 'spend', d1.spendUntil + 1)).toBe('ERR_DENOMINATION');
    expect(use(d1.id, 'deposit', d1.spendUntil + 1)).toBe('ok');
    expect(use(d1.id, 'deposit', d1.depositUntil + 1)).toBe('ERR_DENOMINATION');
  });
});
