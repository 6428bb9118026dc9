/**
 * The bank in the marketplace `npm start` runs: on its own port, certified by the marketplace CA
 * (role bank), the demo shop's account opened, the pre-funded Demo Shopper account opened once with
 * the one-time code; a transfer and a withdrawal with deposit over HTTP with core/payment; a restart
 * on the same data directory keeps the bank's key, certificate and balances.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../core/crypto/index.js';
import { seededRandom } from '../../core/machine.js';
import { type AccountState, accountPayment, settleTransfer } from '../../core/payment/account/index.js';
import { type IssueAnswer, prepareCoin, signSpend, verifyDenominationList } from '../../core/payment/cash/index.js';
import { deviceKeySigner } from '../../core/payment/signing.js';
import { readCertificate, validateChain } from '../../core/pki/index.js';
import { type AccountOpeningAnswer, signAccountOpening } from '../../server/bank/index.js';
import { BANK_ACCOUNT_CODE_FILE, DEMO_ACCOUNT_FUNDING, type Marketplace, startMarketplace } from '../../server/marketplace.js';
import { type Customer, denominationOf, finalizeAll, poolKeys, signer, withdrawalRequest } from '../core/payment/helpers.js';
import { tempDataDir } from './helpers.js';

const tmp = tempDataDir('marketplace-bank');
let market: Marketplace | undefined;

const start = () =>
  startMarketplace({
    dataDir: tmp.dir,
    caPort: 0,
    shopPort: 0,
    ttpPort: 0,
    bankPort: 0,
    bank: { keyFactory: poolKeys(0), rotation: { values: [100, 500, 1000] } },
  });

beforeAll(async () => {
  market = await start();
});

afterAll(async () => {
  await market?.close();
  tmp.remove();
});

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const errorCode = (r: { body: Record<string, unknown> }) => (r.body.error as { code: string }).code;
const eur = (amount: number) => ({ amount, currency: 'EUR' });

describe('the bank in the marketplace', () => {
  let shopper: Customer;
  let merchantKeyId: string;
  const before: { keyId?: string; certificate?: string; shopper?: number; merchant?: number } = {};

  it('serves its key, a certificate chain rooted at the marketplace CA, and a key list verified against that root', async () => {
    const m = market!;
    const info = (await (await fetch(`${m.bankUrl}/bank`)).json()) as { keyId: string; currency: string; certificateChain: string[] };
    expect(info).toMatchObject({ keyId: m.bankKeyId, currency: 'EUR' });
    expect(info.certificateChain).toEqual([m.bankCertificate]);
    const chain = await validateChain(info.certificateChain, { roots: [m.rootCertificate], now: new Date() });
    expect(chain.leaf.role).toBe('bank');
    expect(await jwkThumbprint(chain.leaf.publicJwk)).toBe(m.bankKeyId);
    expect(readFileSync(join(m.dataDir, 'bank.pem'), 'utf8')).toBe(m.bankPem);
    const { certifiedList } = (await (await fetch(`${m.bankUrl}/bank/denominations`)).json()) as { certifiedList: unknown };
    const set = await verifyDenominationList(certifiedList, { trust: { roots: [m.rootCertificate], now: new Date() } });
    expect(set.bankKeyId).toBe(m.bankKeyId);
    expect([...set.byId.values()].map((d) => d.value.amount).sort((a, b) => a - b)).toEqual([100, 500, 1000]);
    // The demo shop has its account, bound to its merchant key.
    merchantKeyId = await jwkThumbprint((await readCertificate(m.merchantCertificate)).publicJwk);
    expect(await m.bank.accountOfKey(merchantKeyId)).toBe(m.merchantAccount);
    expect(await m.bank.balance(m.merchantAccount)).toBe(0);
  });

  it('a restart before anyone opened the demo account withdraws the old code and makes a new one', async () => {
    const first = market!.demoAccountCode!;
    const path = join(tmp.dir, BANK_ACCOUNT_CODE_FILE);
    expect(readFileSync(path, 'utf8').trim()).toBe(first);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await market!.close();
    market = await start();
    const second = market.demoAccountCode!;
    expect(second).not.toBe(first);
    expect(readFileSync(path, 'utf8').trim()).toBe(second);
    const old = await post(`${market.bankUrl}/bank/accounts/open`, {
      request: await signAccountOpening(await signer(), { code: first, bank: market.bankKeyId, now: Date.now() }),
    });
    expect(old.status).toBe(403);
    expect(errorCode(old)).toBe('ERR_REGISTRATION_CODE');
  });

  it('the code opens the funded Demo Shopper account once, bound to the presenting key', async () => {
    const m = market!;
    const key = await signer();
    const opened = await post(`${m.bankUrl}/bank/accounts/open`, {
      request: await signAccountOpening(key, { code: m.demoAccountCode!, bank: m.bankKeyId, now: Date.now() }),
    });
    expect(opened.status).toBe(200);
    const { account } = opened.body as unknown as AccountOpeningAnswer;
    shopper = { signer: key, account, keyId: key.keyId };
    expect(await m.bank.accountOfKey(key.keyId)).toBe(account);
    expect(await m.bank.balance(account)).toBe(DEMO_ACCOUNT_FUNDING);
    const again = await post(`${m.bankUrl}/bank/accounts/open`, {
      request: await signAccountOpening(await signer(), { code: m.demoAccountCode!, bank: m.bankKeyId, now: Date.now() }),
    });
    expect(again.status).toBe(403);
    expect(errorCode(again)).toBe('ERR_REGISTRATION_CODE');
  });

  it('pays the shop from that account over HTTP: a transfer, and e-cash withdrawn and deposited', async () => {
    const m = market!;
    // A transfer with the account module's driver.
    const api = accountPayment({ bankKeyId: m.bankKeyId, sign: deviceKeySigner(shopper.signer), random: seededRandom(1) });
    const request = { amount: eur(1_200), payee: merchantKeyId, reference: 'deal-marketplace-bank-1', now: Date.now() };
    const paid = await api.pay({ account: shopper.account, transfers: {} } satisfies AccountState, request);
    const sent = await post(`${m.bankUrl}${paid.payment.path}`, paid.payment.body);
    expect(sent.status).toBe(200);
    const state = await settleTransfer(paid.wallet, request.reference, { answer: sent.body }, m.bankKeyId);
    expect(api.status(state, request.reference)).toMatchObject({ phase: 'settled' });
    expect((await api.receive(sent.body, request)).proof).toMatchObject({ method: 'account', payee: merchantKeyId });
    expect(await m.bank.balance(shopper.account)).toBe(DEMO_ACCOUNT_FUNDING - 1_200);
    expect(await m.bank.balance(m.merchantAccount)).toBe(1_200);

    // Cash: withdraw a coin against the certified key list, spend it to the shop, the shop deposits it.
    const { certifiedList } = (await (await fetch(`${m.bankUrl}/bank/denominations`)).json()) as { certifiedList: unknown };
    const set = await verifyDenominationList(certifiedList, { trust: { roots: [m.rootCertificate], now: new Date() } });
    const now = Date.now();
    const secret = await prepareCoin(denominationOf(set, 500, now));
    const withdrawn = await post(`${m.bankUrl}/bank/withdraw`, { request: await withdrawalRequest(shopper, [secret], undefined, now) });
    expect(withdrawn.status).toBe(200);
    const [coin] = await finalizeAll(set, [secret], withdrawn.body as unknown as IssueAnswer);
    const spend = await signSpend(coin!, eur(500), { payee: merchantKeyId, reference: 'deal-marketplace-bank-2', now });
    const deposited = await post(`${m.bankUrl}/bank/deposit`, { spends: [spend] });
    expect(deposited.status).toBe(200);
    expect(await m.bank.balance(shopper.account)).toBe(DEMO_ACCOUNT_FUNDING - 1_700);
    expect(await m.bank.balance(m.merchantAccount)).toBe(1_700);
    await m.bank.checkInvariants();
    Object.assign(before, {
      keyId: m.bankKeyId,
      certificate: m.bankCertificate,
      shopper: await m.bank.balance(shopper.account),
      merchant: await m.bank.balance(m.merchantAccount),
    });
  });

  it('a restart on the same data directory keeps the bank key, certificate, accounts and balances; no new code', async () => {
    const merchantAccount = market!.merchantAccount;
    await market!.close();
    market = await start();
    expect(market.bankKeyId).toBe(before.keyId);
    expect(market.bankCertificate).toBe(before.certificate);
    expect(market.merchantAccount).toBe(merchantAccount);
    expect(await market.bank.accountOfKey(shopper.keyId)).toBe(shopper.account);
    expect(await market.bank.balance(shopper.account)).toBe(before.shopper);
    expect(await market.bank.balance(market.merchantAccount)).toBe(before.merchant);
    expect(market.demoAccountCode).toBeUndefined();
    expect(existsSync(join(tmp.dir, BANK_ACCOUNT_CODE_FILE))).toBe(false);
    const info = (await (await fetch(`${market.bankUrl}/bank`)).json()) as { keyId: string };
    expect(info.keyId).toBe(before.keyId);
    await market.bank.checkInvariants();
  });
});
