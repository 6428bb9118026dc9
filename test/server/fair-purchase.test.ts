/**
 * Fair purchase in the marketplace `npm start` runs, over HTTP on loopback: the shop's kit sells a
 * guide (goods key sealed to the TTP's persisted sealing key), the shopper's machine is driven the
 * way the extension's worker drives it (a POST per send, a timer per wakeAt), and pays at the real
 * bank over HTTP — e-cash withdrawn and deposited for the shop, or an account transfer. When the
 * shop withholds the key (test fault), the real TTP reveals it. Money is conserved throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FairShopperState, fairPurchaseShopper, type FairShopperOutbound, type PaymentRequest } from '../../core/commerce/index.js';
import { decodeBase64url, randomId } from '../../core/encoding/index.js';
import type { Item } from '../../core/items/schema.js';
import { cryptoRandom, type TransportReply } from '../../core/machine.js';
import { accountMoneyItem, type TransferAnswer } from '../../core/payment/account/index.js';
import { type IssueAnswer, prepareCoin, signSpend, verifyDenominationList } from '../../core/payment/cash/index.js';
import { readCertificate } from '../../core/pki/index.js';
import type { Statement } from '../../core/statements/index.js';
import type { FairPurchaseFaults } from '../../server/merchant/kit.js';
import { type Marketplace, startMarketplace } from '../../server/marketplace.js';
import { FAIR_GOODS } from '../../server/shop/fair-goods.js';
import { order } from '../core/payment/orders.js';
import { type Customer, denominationOf, finalizeAll, poolKeys, signer, withdrawalRequest } from '../core/payment/helpers.js';
import { FAST_TIMING } from '../helpers/exchange.js';
import { tempDataDir } from './helpers.js';

const tmp = tempDataDir('fair-purchase');
const fairFaults: FairPurchaseFaults = {};
let m: Marketplace;
let shopper: Customer;
const GUIDE = FAIR_GOODS[0]!;

beforeAll(async () => {
  m = await startMarketplace({
    dataDir: tmp.dir,
    caPort: 0,
    shopPort: 0,
    ttpPort: 0,
    bankPort: 0,
    bank: { keyFactory: poolKeys(0), rotation: { values: [50, 100, 200] } },
    exchange: { timing: FAST_TIMING, fairFaults },
  });
  const s = await signer();
  const account = await m.bank.openAccount(s.publicJwk);
  await m.bank.fund(account, 5_000);
  shopper = { signer: s, account, keyId: s.keyId };
});

afterAll(async () => {
  await m.bank.checkInvariants();
  await m.close();
  tmp.remove();
});

async function post(url: string, body: unknown): Promise<TransportReply> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: { code: string; message: string } };
  return res.ok
    ? { kind: 'response', body: json }
    : { kind: 'error', error: json.error ?? { code: 'ERR_INTERNAL', message: `HTTP ${res.status}` }, status: res.status };
}

/** The shopper's payment service over the bank's HTTP API. */
async function pay(req: PaymentRequest): Promise<Item> {
  if (req.method === 'account') {
    const answer = await post(`${req.bank.url}/bank/transfer`, {
      request: await order(shopper, req.payee, req.amount.amount, { reference: req.reference, now: Date.now(), amount: req.amount }),
    });
    if (answer.kind !== 'response') throw new Error(JSON.stringify(answer));
    return accountMoneyItem(answer.body as TransferAnswer);
  }
  const { certifiedList } = (await (await fetch(`${req.bank.url}/bank/denominations`)).json()) as { certifiedList: unknown };
  const set = await verifyDenominationList(certifiedList, { trust: { roots: [m.rootCertificate], now: new Date() } });
  const values = [200, 200, 50];
  expect(values.reduce((a, b) => a + b, 0)).toBe(req.amount.amount);
  const secrets = await Promise.all(values.map((v) => prepareCoin(denominationOf(set, v, Date.now()))));
  const issued = await post(`${req.bank.url}/bank/withdraw`, { request: await withdrawalRequest(shopper, secrets, randomId(16), Date.now()) });
  if (issued.kind !== 'response') throw new Error(JSON.stringify(issued));
  const coins = await finalizeAll(set, secrets, issued.body as IssueAnswer);
  const spends = await Promise.all(
    coins.map((c, i) => signSpend(c, { amount: values[i]!, currency: 'EUR' }, { payee: req.payee, reference: req.reference, now: Date.now() })),
  );
  const deposited = await post(`${req.bank.url}/bank/deposit`, { spends });
  if (deposited.kind !== 'response') throw new Error(JSON.stringify(deposited));
  return { kind: 'money', method: 'cash', value: req.amount, proof: (deposited.body as { proof: Statement }).proof };
}

/** Run the shopper's machine to its end: sends over HTTP, payments at the bank, timers by sleeping until wakeAt. */
async function buy(method: 'cash' | 'account'): Promise<FairShopperState> {
  const ttpFingerprint = (await readCertificate(m.ttpCertificate)).fingerprint;
  const ctx = {
    random: cryptoRandom,
    signer: shopper.signer,
    roots: [m.rootCertificate],
    ttps: [{ fingerprint: ttpFingerprint, keyId: m.ttpKeyId, url: m.ttpUrl }],
  };
  let r = await fairPurchaseShopper.start({ origin: m.shopUrl, sku: GUIDE.sku, now: Date.now() }, ctx);
  let state = r.state;
  const queue: FairShopperOutbound[] = [...r.send];
  for (let guard = 0; guard < 40 && !fairPurchaseShopper.isTerminal(state); guard++) {
    const sent = queue.shift();
    if (sent === undefined) {
      if (state.phase === 'awaiting-confirmation') {
        r = await fairPurchaseShopper.step(state, { type: 'user-confirmed', method, now: Date.now() }, ctx);
      } else {
        const at = fairPurchaseShopper.wakeAt(state);
        if (at === null) throw new Error(`stuck in ${state.phase}`);
        await new Promise((done) => setTimeout(done, Math.max(0, at - Date.now()) + 5));
        r = await fairPurchaseShopper.step(state, { type: 'timeout', now: Date.now() }, ctx);
      }
    } else if (sent.kind === 'pay') {
      r = await fairPurchaseShopper.step(state, { type: 'paid', item: await pay(sent.request), now: Date.now() }, ctx);
    } else {
      const url = sent.to === 'ttp' ? `${sent.url}${sent.path}` : `${m.shopUrl}${sent.path}`;
      r = await fairPurchaseShopper.step(state, { type: 'reply', sent, reply: await post(url, sent.body), now: Date.now() }, ctx);
    }
    state = r.state;
    queue.push(...r.send);
  }
  return state;
}

describe('fair purchase in the marketplace', () => {
  it('the guides page offers the good; the TTP announces a sealing key signed under its certificate', async () => {
    const page = await (await fetch(`${m.shopUrl}/fair`)).text();
    expect(page).toContain(`data-semper-fair="${GUIDE.sku}"`);
    const { sealingKey } = (await (await fetch(`${m.ttpUrl}/ttp/sealing-key`)).json()) as { sealingKey: Statement };
    expect(sealingKey.type).toBe('semper.ttp.sealing-key');
    expect(sealingKey.signature.signer).toMatchObject({ kind: 'x509', chain: [m.ttpCertificate] });
  });

  for (const method of ['cash', 'account'] as const) {
    it(`${method}: paid at the bank over HTTP, the guide delivered, the shop credited`, async () => {
      const before = await m.bank.balance(m.merchantAccount);
      const state = await buy(method);
      if (state.phase !== 'completed') throw new Error(`ended ${state.phase}: ${JSON.stringify('error' in state ? state.error : null)}`);
      expect(new TextDecoder().decode(decodeBase64url(state.goods))).toBe(GUIDE.content);
      expect(state.outcome.status).toBe('completed');
      expect((await m.bank.balance(m.merchantAccount)) - before).toBe(GUIDE.price);
    });
  }

  it('a shop that takes the payment and withholds the key: the real TTP reveals it, the guide is delivered', async () => {
    fairFaults.withholdKey = true;
    try {
      const before = await m.bank.balance(m.merchantAccount);
      const state = await buy('account');
      if (state.phase !== 'completed') throw new Error(`ended ${state.phase}: ${JSON.stringify('error' in state ? state.error : null)}`);
      expect(state.outcome.status).toBe('resolved');
      expect(new TextDecoder().decode(decodeBase64url(state.goods))).toBe(GUIDE.content);
      expect((await m.bank.balance(m.merchantAccount)) - before).toBe(GUIDE.price);
    } finally {
      fairFaults.withholdKey = false;
    }
  }, 30_000);
});
