/**
 * The fair-purchase world for Node tests: a test CA (at the bank tests' T0), a certified merchant
 * with an account at a real bank (SQLite, fixture RSA keys), a certified TTP with its sealing key,
 * a funded shopper, and a driver that runs both machines and the TTP in-process the way the hosts
 * do (persisting nothing: every state is plain JSON and stays in memory).
 */
import { generateSealingKeyPair, sealingPublicJwk } from '../../../core/crypto/seal.js';
import type { Signer } from '../../../core/crypto/index.js';
import {
  type FairCatalog,
  type FairMerchantContext,
  type FairMerchantEvent,
  type FairMerchantOutbound,
  type FairMerchantState,
  type FairShopperContext,
  type FairShopperEvent,
  type FairShopperOutbound,
  type FairShopperState,
  type PaymentRequest,
  fairPurchaseMerchant,
  fairPurchaseShopper,
  prepareFairOffer,
} from '../../../core/commerce/index.js';
import { FAST_TIMING } from '../../helpers/exchange.js';
import { encodeBase64url, utf8 } from '../../../core/encoding/index.js';
import { signSealingKey } from '../../../core/exchange/sealing.js';
import { checkTtpRequest, decideTtp, type TtpContext, type TtpRecord } from '../../../core/exchange/ttp.js';
import { ttpRequestKey } from '../../../core/exchange/ttp.js';
import type { Item } from '../../../core/items/schema.js';
import { cryptoRandom, type TransportReply } from '../../../core/machine.js';
import { accountMoneyItem } from '../../../core/payment/account/index.js';
import { signSpend } from '../../../core/payment/cash/index.js';
import { type AcquirerIntent, cardMoneyItem, signCardAnswer } from '../../../core/payment/card/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import type { Statement } from '../../../core/statements/index.js';
import { readCertificate } from '../../../core/pki/index.js';
import { makeTestCa, type TestCa } from '../../helpers/pki.js';
import { chf, order } from '../payment/orders.js';
import { type Customer, customer, openTestBank, T0, type TestBank, withdraw } from '../payment/helpers.js';

export const FAIR_ORIGIN = 'http://127.0.0.1:8451';
export const SONG = { sku: 'field-recording', title: 'Field recording: Lake Zurich at dawn', content: 'RIFF…the whole recording…' };
export const PRICE = 300;

export interface FairWorld {
  ca: TestCa;
  bank: TestBank;
  clock: { now: number };
  merchant: FairMerchantContext;
  merchantAccount: Customer;
  shopper: Customer;
  ttp: TtpContext;
  ttpRecords: Map<string, TtpRecord>;
  shopperContext: FairShopperContext;
  /** The card adapter's operator (signs card proofs; named in the offer with method card). */
  cardOperator: Signer;
  close(): void;
}

export const CARD_ADAPTER_URL = 'http://127.0.0.1:8457';

export async function makeFairWorld(o: { catalog?: FairCatalog } = {}): Promise<FairWorld> {
  const ca = await makeTestCa('Semper Test CA', T0);
  const bank = await openTestBank();
  const m = await ca.issue({ commonName: 'Klangarchiv Zürich AG', role: 'merchant', origins: [FAIR_ORIGIN] });
  const t = await ca.issue({ commonName: 'Semper TTP', role: 'ttp' });
  const sealingKeys = await generateSealingKeyPair();
  const sealing = await sealingPublicJwk(sealingKeys.publicKey);
  const sealingStatement = (await signSealingKey(sealing.jwk, t.signer, t.chain, T0)) as Statement;
  const merchantAccount = await customer(bank.bank);
  const cardOperator = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
  const shopper = await customer(bank.bank, 10_000);
  const catalog: FairCatalog = o.catalog ?? {
    good: (sku) => (sku === SONG.sku ? { title: SONG.title, mediaType: 'audio/wav', data: encodeBase64url(utf8(SONG.content)), price: chf(PRICE) } : undefined),
  };
  const ttpUrl = 'http://127.0.0.1:8452';
  const merchant: FairMerchantContext = {
    identity: { signer: m.signer, chain: m.chain, origin: FAIR_ORIGIN },
    ttp: { keyId: t.signer.keyId, certificateChain: t.chain, url: ttpUrl, sealingKey: sealingStatement, sealingKeyId: sealing.keyId },
    catalog,
    payment: {
      methods: ['cash', 'account', 'card'],
      payee: merchantAccount.keyId,
      bank: { keyId: bank.bank.keyId, url: 'http://127.0.0.1:8453' },
      card: { keyId: cardOperator.keyId, url: CARD_ADAPTER_URL },
    },
    offerTtlMs: 600_000,
    timing: FAST_TIMING,
    trustRoots: [ca.root],
    random: cryptoRandom,
  };
  const ttp: TtpContext = {
    signer: t.signer,
    signerRef: { kind: 'x509', chain: t.chain },
    trust: { roots: [ca.root] },
    sealing: { keyId: sealing.keyId, keys: sealingKeys },
  };
  const fingerprint = (await readCertificate(t.chain[0]!)).fingerprint;
  return {
    ca,
    bank,
    clock: bank.clock,
    merchant,
    merchantAccount,
    shopper,
    ttp,
    ttpRecords: new Map(),
    cardOperator,
    shopperContext: { random: cryptoRandom, signer: shopper.signer, roots: [ca.root], ttps: [{ fingerprint, keyId: t.signer.keyId, url: ttpUrl }] },
    close: () => bank.close(),
  };
}

/** The host's payment service, done straight at the bank: cash (withdraw exact coins, deposit their spends for the payee) or an account transfer. */
export async function payAtBank(
  w: FairWorld,
  payer: Customer,
  req: PaymentRequest,
  tamper?: Partial<{ reference: string; payee: string; amount: number; operator: Signer }>,
): Promise<Item> {
  const reference = tamper?.reference ?? req.reference;
  const payee = tamper?.payee ?? req.payee;
  const amount = tamper?.amount ?? req.amount.amount;
  if (req.method === 'card') {
    // The adapter's operator signs what the acquirer confirmed (the acquirer itself is in test/server/acquirer).
    const request = { requestId: `req-${reference}`.slice(0, 64), payee, amount: chf(amount), reference, cardToken: 'tok_visa' };
    const intent: AcquirerIntent = { id: 'pi_test0001', status: 'succeeded', amount, currency: 'chf', merchant_reference: reference, amount_captured: amount };
    const answer = await signCardAnswer(request, intent, {
      acquirer: 'test-acquirer',
      now: w.clock.now,
      refundableUntil: w.clock.now + 86_400_000,
      sign: deviceKeySigner(tamper?.operator ?? w.cardOperator),
    });
    return cardMoneyItem(answer);
  }
  if (req.method === 'cash') {
    const values = amount === 300 ? [100, 200] : [100];
    const { coins } = await withdraw(w.bank, payer, values);
    const spends = await Promise.all(coins.map((c, i) => signSpend(c, chf(values[i]!), { payee, reference, now: w.clock.now })));
    const answer = await w.bank.bank.deposit({ spends });
    return { kind: 'money', method: 'cash', value: chf(values.reduce((a, b) => a + b, 0)), proof: answer.proof as Statement };
  }
  const answer = await w.bank.bank.transfer(await order(payer, payee, amount, { reference, now: w.clock.now }));
  return accountMoneyItem(answer);
}

/** One shopper and the merchant, stepped by hand: `send` delivers the shopper's outbound to the merchant (or the TTP) and steps the reply back. */
export class FairRun {
  shopper!: FairShopperState;
  merchant: FairMerchantState | null = null;
  /** What the shopper's host has to do next (sends it could not deliver by itself). */
  outbox: FairShopperOutbound[] = [];
  effects: { kind: string }[] = [];
  /** Messages the merchant sent to the TTP (its own requests). */
  merchantToTtp: Statement[] = [];
  /** Drop the merchant's replies of these message types (a merchant that withholds m3, …). */
  withhold = new Set<string>();
  /** Rewrite a merchant reply before the shopper sees it. */
  rewrite?: (m: Statement) => Promise<Statement> | Statement;
  constructor(readonly w: FairWorld) {}

  async start(sku = SONG.sku): Promise<void> {
    const r = await fairPurchaseShopper.start({ origin: FAIR_ORIGIN, sku, now: this.w.clock.now }, this.w.shopperContext);
    this.shopper = r.state;
    this.outbox = r.send;
  }

  async shopperStep(event: FairShopperEvent): Promise<void> {
    const r = await fairPurchaseShopper.step(this.shopper, event, this.w.shopperContext);
    this.shopper = r.state;
    this.outbox.push(...r.send);
    this.effects.push(...r.effects);
  }

  async merchantStep(event: FairMerchantEvent): Promise<FairMerchantOutbound[]> {
    const state = this.merchant ?? (await fairPurchaseMerchant.start({ dealId: this.shopper.dealId }, this.w.merchant)).state;
    const r = await fairPurchaseMerchant.step(state, event, this.w.merchant);
    this.merchant = r.state;
    for (const o of r.send) if (o.to === 'ttp') this.merchantToTtp.push(o.statement);
    return r.send;
  }

  /** The TTP, in-process: check, decide once per exchange, answer. */
  async ttpAnswer(request: unknown): Promise<TransportReply> {
    try {
      const key = ttpRequestKey(request);
      const checked = await checkTtpRequest(request, this.w.ttp, this.w.clock.now);
      const d = await decideTtp(this.w.ttpRecords.get(key) ?? null, checked, this.w.ttp, this.w.clock.now);
      if (d.kind === 'decided') this.w.ttpRecords.set(key, d.record);
      return { kind: 'response', body: { answer: d.kind === 'decided' ? d.record.answer : d.answer } };
    } catch (e) {
      const err = e as { code?: string; message: string };
      return { kind: 'error', error: { code: err.code ?? 'ERR_INTERNAL', message: err.message }, status: 409 };
    }
  }

  /** Deliver every pending shopper send (not payments) until none is left or a payment is due. */
  async pump(payer?: (req: PaymentRequest) => Promise<Item>): Promise<void> {
    for (let guard = 0; guard < 50 && this.outbox.length > 0; guard++) {
      const sent = this.outbox.shift()!;
      const now = this.w.clock.now;
      if (sent.kind === 'pay') {
        if (!payer) {
          this.outbox.unshift(sent);
          return;
        }
        const item = await payer(sent.request);
        await this.shopperStep({ type: 'paid', item, now });
        continue;
      }
      if (sent.to === 'ttp') {
        await this.shopperStep({ type: 'reply', sent, reply: await this.ttpAnswer(sent.body.request), now });
        continue;
      }
      let reply: TransportReply;
      try {
        const out =
          sent.path === '/semper/fair/offer'
            ? await this.merchantStep({
                type: 'offer-requested',
                request: sent.body,
                prepared: await prepareFairOffer(sent.body.dealId, this.sealingJwk(), this.w.merchant.identity.signer.keyId),
                now,
              })
            : await this.merchantStep({ type: 'message', message: sent.body.message, now, from: 'peer' });
        const toShopper = out.find((o) => o.to === 'shopper');
        let body = (toShopper?.body ?? { replies: [] }) as { replies?: Statement[] };
        if (body.replies) {
          const kept = body.replies.filter((m) => !this.withhold.has(m.type));
          body = { replies: await Promise.all(kept.map(async (m) => (this.rewrite ? this.rewrite(m) : m))) };
        }
        reply = { kind: 'response', body };
      } catch (e) {
        const err = e as { code?: string; message: string };
        reply = { kind: 'error', error: { code: err.code ?? 'ERR_INTERNAL', message: err.message }, status: 409 };
      }
      await this.shopperStep({ type: 'reply', sent, reply, now });
    }
  }

  sealingJwk() {
    const statement = this.w.merchant.ttp.sealingKey as Statement<{ sealingKey: { jwk: Parameters<typeof prepareFairOffer>[1] } }>;
    return statement.body.sealingKey.jwk;
  }

  /** Advance the clock to the shopper's next timer and step it. */
  async shopperTimeout(): Promise<void> {
    const at = fairPurchaseShopper.wakeAt(this.shopper);
    if (at === null) throw new Error(`no shopper timer in phase ${this.shopper.phase}`);
    this.w.clock.now = Math.max(this.w.clock.now, at);
    await this.shopperStep({ type: 'timeout', now: this.w.clock.now });
  }

  /** Advance to the merchant's next timer, step it, and hand its TTP requests to the TTP. */
  async merchantTimeout(): Promise<void> {
    const at = this.merchant ? fairPurchaseMerchant.wakeAt(this.merchant) : null;
    if (at === null) throw new Error('no merchant timer');
    this.w.clock.now = Math.max(this.w.clock.now, at);
    const out = await this.merchantStep({ type: 'timeout', now: this.w.clock.now });
    for (const o of out) {
      if (o.to !== 'ttp') continue;
      const reply = await this.ttpAnswer(o.statement);
      if (reply.kind === 'response')
        await this.merchantStep({ type: 'message', message: (reply.body as { answer: unknown }).answer, now: this.w.clock.now, from: 'ttp' });
    }
  }
}

export type { Signer };
