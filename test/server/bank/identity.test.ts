/**
 * The bank's certified identity (server/bank/open.ts): a key in bank-identity.sqlite with a role-bank
 * certificate from the CA, served by GET /bank; the key list signed under that certificate verifies
 * against the CA root; a restart keeps key, certificate and balances; a ledger file holding another
 * key, or a certificate for another key or role, is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../../core/crypto/index.js';
import { verifyDenominationList } from '../../../core/payment/cash/index.js';
import { validateChain } from '../../../core/pki/index.js';
import { CaService } from '../../../server/ca/index.js';
import { BankService, createBankApp, openMarketplaceBank } from '../../../server/bank/index.js';
import { poolKeys, signer, T0 } from '../../core/payment/helpers.js';

let dir: string;
let ca: CaService;
const clock = { now: T0 };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'semper-bank-identity-'));
  clock.now = T0;
  ca = await CaService.open({ dataDir: join(dir, 'ca'), now: () => clock.now });
});

afterEach(async () => {
  await ca.close();
  rmSync(dir, { recursive: true, force: true });
});

const open = (keyStart = 0) =>
  openMarketplaceBank({ dataDir: dir, ca, currency: 'EUR', now: () => clock.now, keyFactory: poolKeys(keyStart), rotation: { values: [100, 500] } });

describe('the marketplace bank identity', () => {
  it('is certified by the CA (role bank); GET /bank serves the chain and the certified key list verifies against the root', async () => {
    const bank = await open();
    try {
      const app = createBankApp(bank);
      const info = (await (await app.request('/bank')).json()) as { keyId: string; certificateChain: string[]; currency: string };
      expect(info.keyId).toBe(bank.keyId);
      expect(info.currency).toBe('EUR');
      const chain = await validateChain(info.certificateChain, { roots: [ca.rootCertificate], now: new Date(clock.now) });
      expect(chain.leaf.role).toBe('bank');
      expect(chain.leaf.publicJwk).toMatchObject({ x: bank.info().publicJwk.x, y: (bank.info().publicJwk as { y: string }).y });
      const { list, certifiedList } = (await (await app.request('/bank/denominations')).json()) as { list: unknown; certifiedList: unknown };
      const byRoot = await verifyDenominationList(certifiedList, { trust: { roots: [ca.rootCertificate], now: new Date(clock.now) } });
      expect(byRoot.bankKeyId).toBe(bank.keyId);
      expect(byRoot.byId.size).toBe(2);
      // The bare-key list still serves wallets that pin the key id, and is refused where a certificate is required.
      expect((await verifyDenominationList(list, { bankKeyId: bank.keyId })).byId.size).toBe(2);
      await expect(verifyDenominationList(list, { trust: { roots: [ca.rootCertificate], now: new Date(clock.now) } })).rejects.toThrow();
      // Another CA's root does not accept it.
      const other = await CaService.open({ dataDir: join(dir, 'other-ca'), now: () => clock.now });
      try {
        await expect(verifyDenominationList(certifiedList, { trust: { roots: [other.rootCertificate], now: new Date(clock.now) } })).rejects.toThrow();
      } finally {
        other.close();
      }
    } finally {
      bank.close();
    }
  });

  it('keeps its key, certificate and balances across a restart', async () => {
    const first = await open();
    const { keyId, certificateChain } = first.info();
    const account = await first.openAccount((await signer()).publicJwk);
    await first.fund(account, 1234);
    first.close();
    clock.now = T0 + 60_000;
    const second = await open(10);
    try {
      expect(second.keyId).toBe(keyId);
      expect(second.info().certificateChain).toEqual(certificateChain);
      expect(await second.balance(account)).toBe(1234);
      await second.checkInvariants();
    } finally {
      second.close();
    }
  });

  it('refuses a ledger holding another key, and a certificate of another key or role', async () => {
    // A bank file that made its own key.
    const own = await BankService.open({
      dataDir: join(dir, 'own'),
      currency: 'EUR',
      clock: () => clock.now,
      keyFactory: poolKeys(0),
      rotation: { values: [100] },
    });
    own.close();
    const stranger = await generateKeyPair('ES256');
    await expect(
      BankService.open({
        dataDir: join(dir, 'own'),
        currency: 'EUR',
        clock: () => clock.now,
        keyFactory: poolKeys(2),
        rotation: { values: [100] },
        signingKey: stranger,
      }),
    ).rejects.toMatchObject({ code: 'ERR_KEY' });

    const bankCert = (await ca.issueBankCertificate({ commonName: 'Some Bank', publicKey: (await generateKeyPair('ES256')).publicKey })).certificate;
    await expect(
      BankService.open({
        dataDir: join(dir, 'fresh'),
        currency: 'EUR',
        clock: () => clock.now,
        keyFactory: poolKeys(3),
        rotation: { values: [100] },
        signingKey: stranger,
        certificateChain: [bankCert],
      }),
    ).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
    const ttpCert = (await ca.issueTtpCertificate({ commonName: 'Some TTP', publicKey: stranger.publicKey })).certificate;
    await expect(
      BankService.open({
        dataDir: join(dir, 'fresh2'),
        currency: 'EUR',
        clock: () => clock.now,
        keyFactory: poolKeys(4),
        rotation: { values: [100] },
        signingKey: stranger,
        certificateChain: [ttpCert],
      }),
    ).rejects.toMatchObject({ code: 'ERR_CERT_CHAIN' });
  });
});
