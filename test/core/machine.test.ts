/**
 * Deterministic steps (core/machine.ts): for every role — purchase shopper and merchant,
 * exchange-deal shopper and merchant, fair-purchase shopper and merchant, the cash wallet,
 * fair-exchange originator and responder, TTP — the same
 * state, event and context give byte-identical output: the canonical JSON (RFC 8785) of the whole
 * StepResult (state, send, effects). Randomness comes only from `ctx.random` (seededRandom here),
 * time only from the event, and signatures are Ed25519 (deterministic).
 *
 * The check is not vacuous: the same step with another seed gives other bytes wherever the step
 * draws randomness, and with ES256 (randomized ECDSA) signers two runs differ wherever it signs.
 *
 * What comes from the platform CSPRNG is made outside the step and passed in the event, fixed
 * here: the fair merchant's goods key and its box (`prepareFairOffer`), the wallet's blinded coins
 * (`prepareCoin`). The wallet's `pay` and `refresh` are not in the table: they sign with the coins'
 * own keys, which are ECDSA P-256 by design (core/payment/cash/coin.ts), so two runs differ in
 * those signatures whatever the world's algorithm (see the last test).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type KeyAlgorithm, type Signer } from '../../core/crypto/index.js';
import { canonicalJson, encodeBase64url, utf8 } from '../../core/encoding/index.js';
import { seededRandom, type Machine, type StepResult } from '../../core/machine.js';
import { fingerprintOf } from '../../core/pki/index.js';
import { nowIso, signStatement, type Statement } from '../../core/statements/index.js';
import {
  confirmedItems,
  fairPurchaseMerchant,
  fairPurchaseShopper,
  prepareFairOffer,
  type FairMerchantContext,
  type FairMerchantState,
  type FairShopperContext,
  type FairShopperOutbound,
  type FairShopperState,
  type PreparedFairOffer,
  exchangeMerchant,
  exchangeShopper,
  newMerchantDeal,
  purchaseMerchant,
  purchaseShopper,
  signFixedStatement,
  startPurchase,
  type CatalogItem,
  type ExchangeDealState,
  type ExchangeMerchantContext,
  type ExchangeMerchantState,
  type ExchangeShopperContext,
  type MerchantContext,
  type MerchantDealState,
  type ShopperContext,
  type ShopperState,
} from '../../core/commerce/index.js';
import {
  EXCHANGE_TYPES,
  exchangeOriginator,
  exchangeResponder,
  ttpMachine,
  type ExchangeContext,
  type ExchangeState,
  type OriginatorParams,
  type TtpContext,
} from '../../core/exchange/index.js';
import { generateSealingKeyPair, sealingPublicJwk } from '../../core/crypto/seal.js';
import { signSealingKey } from '../../core/exchange/sealing.js';
import { PAYMENT_PROOF_TYPE, type Item } from '../../core/items/schema.js';
import {
  CASH_TYPES,
  cashWallet,
  type CoinSecret,
  type DenominationSet,
  prepareCoin,
  unblindLocally,
  verifyDenominationList,
  type WalletContext,
  type WalletReply,
  type WalletSend,
  type WalletState,
} from '../../core/payment/cash/index.js';
import { makeTestCa, type TestCa } from '../helpers/pki.js';
import { assertPlainJson } from '../protocols/sim.js';
import { fixtureDenomination, signKeyList } from './payment/helpers.js';

const NOW = Date.UTC(2030, 0, 1, 12);
const ORIGIN = 'https://shop.example';
const TTP_URL = 'https://ttp.example';
const SEED = 7;

const catalog: CatalogItem[] = [
  {
    sku: 'report',
    title: 'Colour report',
    unitPrice: { amount: 1250, currency: 'EUR' },
    kind: 'digital',
    good: { mediaType: 'text/plain', content: 'ISO 12647 in practice.' },
  },
];

/** Everything one run needs: keys of one algorithm (EdDSA: deterministic; ES256: randomized). */
interface World {
  alg: KeyAlgorithm;
  ca: TestCa;
  merchant: { signer: Signer; chain: string[] };
  shopper: Signer;
  ttp: { signer: Signer; chain: string[]; fingerprint: string };
  shopperCtx(seed: number): ShopperContext;
  merchantCtx(seed: number): MerchantContext;
  exShopperCtx(seed: number): ExchangeShopperContext;
  exMerchantCtx(seed: number): ExchangeMerchantContext;
  originatorCtx(seed: number, roots: readonly string[]): ExchangeContext;
  ttpCtx(): TtpContext;
  fairShopperCtx(seed: number): FairShopperContext;
  fairMerchantCtx(seed: number): FairMerchantContext;
  /** The goods key and its box: prepared by the host outside the step (platform CSPRNG), fixed here. */
  prepared(dealId: string): Promise<PreparedFairOffer>;
  /** The bank that signs payment proofs (of the world's algorithm). */
  bank: Signer;
  /** A bank's key list of one denomination valid at NOW, and its blind signer (core/payment/cash). */
  denominations: DenominationSet;
  blindSign(blindedMsg: string): string;
  walletCtx(seed: number): WalletContext;
}

let ca: TestCa;

async function makeWorld(alg: KeyAlgorithm): Promise<World> {
  const keys = () => generateKeyPair(alg);
  const m = await ca.issue({ commonName: 'Fogra', role: 'merchant', origins: [ORIGIN], keys: await keys() });
  const t = await ca.issue({ commonName: 'Semper Test TTP', role: 'ttp', keys: await keys() });
  const shopper = await signerFromKeyPair(alg, await keys());
  const bank = await signerFromKeyPair(alg, await keys());
  const sealingPair = await generateSealingKeyPair();
  const sealing = await sealingPublicJwk(sealingPair.publicKey);
  const sealingKey = (await signSealingKey(sealing.jwk, t.signer, t.chain, NOW)) as Statement;
  const preparedByDeal = new Map<string, PreparedFairOffer>();
  const fixture = await fixtureDenomination(0, 500, {
    validFrom: NOW - 86_400_000,
    withdrawUntil: NOW + 30 * 86_400_000,
    spendUntil: NOW + 60 * 86_400_000,
    depositUntil: NOW + 90 * 86_400_000,
  });
  const denominations = await verifyDenominationList(await signKeyList(bank, [fixture.denomination]), { bankKeyId: bank.keyId });
  const fairTiming = { peerMs: 1_000, ttpRetryMs: 1_000, ttpMarginMs: 2_000, peerRetries: 1 };
  expect(m.signer.alg).toBe(alg);
  expect(t.signer.alg).toBe(alg);
  const ttp = { signer: t.signer, chain: t.chain, fingerprint: await fingerprintOf(t.chain[0]!) };
  return {
    alg,
    ca,
    merchant: m,
    shopper,
    ttp,
    shopperCtx: (seed) => ({ random: seededRandom(seed), roots: [ca.root], signer: shopper }),
    merchantCtx: (seed) => ({
      identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
      lookup: (sku) => catalog.find((c) => c.sku === sku),
      offerTtlMs: 600_000,
      terms: 'Digital goods, no returns.',
      random: seededRandom(seed),
    }),
    exShopperCtx: (seed) => ({
      random: seededRandom(seed),
      signer: shopper,
      roots: [ca.root],
      ttps: [{ fingerprint: ttp.fingerprint, keyId: ttp.signer.keyId, url: TTP_URL }],
    }),
    exMerchantCtx: (seed) => ({
      identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
      ttp: { keyId: ttp.signer.keyId, certificateChain: ttp.chain, url: TTP_URL },
      catalog: {
        document: (id) => (id === 'test-report' ? { title: 'Test report', mediaType: 'text/plain', content: 'Forty pages of findings.' } : undefined),
        contract: (id) => (id === 'subscription' ? { title: 'Subscription', text: 'The subscriber pays EUR 24.00 per term.' } : undefined),
      },
      descriptorTtlMs: 600_000,
      timing: { peerMs: 1_000, ttpRetryMs: 1_000, ttpMarginMs: 2_000, peerRetries: 1 },
      trustRoots: [ca.root],
      random: seededRandom(seed),
    }),
    originatorCtx: (seed, roots) => ({ signer: shopper, trust: { roots, ttps: [ttp.signer.keyId] }, random: seededRandom(seed) }),
    ttpCtx: () => ({ signer: ttp.signer, signerRef: { kind: 'x509', chain: ttp.chain }, trust: { roots: [ca.root] } }),
    fairShopperCtx: (seed) => ({
      random: seededRandom(seed),
      signer: shopper,
      roots: [ca.root],
      ttps: [{ fingerprint: ttp.fingerprint, keyId: ttp.signer.keyId, url: TTP_URL }],
    }),
    fairMerchantCtx: (seed) => ({
      identity: { signer: m.signer, chain: m.chain, origin: ORIGIN },
      ttp: { keyId: ttp.signer.keyId, certificateChain: ttp.chain, url: TTP_URL, sealingKey, sealingKeyId: sealing.keyId },
      catalog: {
        good: (sku) =>
          sku === 'song' ? { title: 'Song', mediaType: 'audio/wav', data: encodeBase64url(utf8('RIFF…')), price: { amount: 300, currency: 'EUR' } } : undefined,
      },
      payment: { methods: ['cash', 'account'], payee: m.signer.keyId, bank: { keyId: bank.keyId, url: 'https://bank.example' } },
      offerTtlMs: 600_000,
      timing: fairTiming,
      trustRoots: [ca.root],
      random: seededRandom(seed),
    }),
    prepared: async (dealId) => {
      let p = preparedByDeal.get(dealId);
      if (!p) {
        p = await prepareFairOffer(dealId, sealing.jwk, m.signer.keyId);
        preparedByDeal.set(dealId, p);
      }
      return p;
    },
    bank,
    denominations,
    blindSign: fixture.blindSign,
    walletCtx: (seed) => ({ random: seededRandom(seed), denominations, accountSigner: shopper }),
  };
}

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The states and messages of one purchase and one contract-signing exchange deal, run to where each checked step applies. */
interface Flows {
  shopperAwaiting: ShopperState;
  shopperOrdering: ShopperState;
  offerRequest: unknown;
  order: unknown;
  orderReply: unknown;
  merchantOffered: MerchantDealState;
  exAwaiting: ExchangeDealState;
  exExchanging: Extract<ExchangeDealState, { phase: 'exchanging' | 'awaiting-ttp' }>;
  descriptorRequest: unknown;
  exMerchantOffered: Extract<ExchangeMerchantState, { phase: 'offered' }>;
  /** The responder the merchant starts when m1 arrives (before it steps it with m1). */
  exResponderStart: ExchangeState;
  m1: Statement;
  m2: Statement;
  originatorParams: OriginatorParams;
  abortRequest: Statement;
  resolveRequest: Statement;
  fair: FairFlows;
  wallet: WalletFlows;
}

/** The states and messages of one fair purchase (cash), run to where each checked step applies. */
interface FairFlows {
  offerRequest: { dealId: string };
  offerSent: FairShopperOutbound;
  offerReply: unknown;
  awaiting: FairShopperState;
  starting: FairShopperState;
  m1Reply: unknown;
  paying: FairShopperState;
  money: Item;
  exchanging: FairShopperState;
  m3Reply: unknown;
  merchantOffered: FairMerchantState;
  start: Statement;
  merchantSelling: FairMerchantState;
  m2: Statement;
}

/** A cash wallet with a withdrawal under way (its blinding secrets fixed), and the bank's receipt for it. */
interface WalletFlows {
  empty: WalletState;
  prepared: CoinSecret[];
  withdrawing: WalletState;
  receipt: unknown;
  /** The receipt taken: the unblinding asked of the host, and the host's answer. */
  issued: WalletState;
  unblindSent: WalletSend;
  unblindReply: WalletReply;
}

async function runFairFlows(w: World): Promise<FairFlows> {
  const s0 = await fairPurchaseShopper.start({ origin: ORIGIN, sku: 'song', now: NOW }, w.fairShopperCtx(11));
  const offerSent = s0.send[0]!;
  if (offerSent.kind !== 'http' || offerSent.path !== '/semper/fair/offer') throw new Error('offer request');
  const offerRequest = offerSent.body;
  const m0 = (await fairPurchaseMerchant.start({ dealId: offerRequest.dealId }, w.fairMerchantCtx(12))).state;
  const m1 = await fairPurchaseMerchant.step(
    m0,
    { type: 'offer-requested', request: offerRequest, prepared: await w.prepared(offerRequest.dealId), now: NOW },
    w.fairMerchantCtx(12),
  );
  const offerReply = (m1.send[0] as { body: unknown }).body;
  const s1 = await fairPurchaseShopper.step(
    s0.state,
    { type: 'reply', sent: offerSent, reply: { kind: 'response', body: offerReply }, now: NOW + 1 },
    w.fairShopperCtx(11),
  );
  if (s1.state.phase !== 'awaiting-confirmation') throw new Error(`${s1.state.phase}: ${JSON.stringify(s1.state)}`);
  const s2 = await fairPurchaseShopper.step(s1.state, { type: 'user-confirmed', method: 'cash', now: NOW + 2 }, w.fairShopperCtx(11));
  expect(s2.state.phase).toBe('starting');
  const startSent = s2.send[0]!;
  const start = (startSent as { body: { message: Statement } }).body.message;
  const m2 = await fairPurchaseMerchant.step(m1.state, { type: 'message', message: start, now: NOW + 3, from: 'peer' }, w.fairMerchantCtx(13));
  expect(m2.state.phase).toBe('selling');
  const m1Reply = (m2.send[0] as { body: unknown }).body;
  const s3 = await fairPurchaseShopper.step(
    s2.state,
    { type: 'reply', sent: startSent, reply: { kind: 'response', body: m1Reply }, now: NOW + 4 },
    w.fairShopperCtx(11),
  );
  if (s3.state.phase !== 'paying') throw new Error(s3.state.phase);
  const p = s3.state.payment;
  const proof = (await signStatement(
    {
      type: PAYMENT_PROOF_TYPE,
      version: 1,
      dealId: p.reference,
      issuedAt: nowIso(NOW + 5),
      body: { method: p.method, value: p.amount, payee: p.payee, reference: p.reference },
    },
    w.bank,
  )) as Statement;
  const money: Item = { kind: 'money', method: 'cash', value: p.amount, proof };
  const s4 = await fairPurchaseShopper.step(s3.state, { type: 'paid', item: money, now: NOW + 5 }, w.fairShopperCtx(11));
  expect(s4.state.phase).toBe('exchanging');
  const m2Sent = s4.send[0]!;
  const m2Message = (m2Sent as { body: { message: Statement } }).body.message;
  expect(m2Message.type).toBe(EXCHANGE_TYPES.accept);
  const m3 = await fairPurchaseMerchant.step(m2.state, { type: 'message', message: m2Message, now: NOW + 6, from: 'peer' }, w.fairMerchantCtx(14));
  return {
    offerRequest,
    offerSent,
    offerReply,
    awaiting: s1.state,
    starting: s2.state,
    m1Reply,
    paying: s3.state,
    money,
    exchanging: s4.state,
    m3Reply: (m3.send[0] as { body: unknown }).body,
    merchantOffered: m1.state,
    start,
    merchantSelling: m2.state,
    m2: m2Message,
  };
}

async function runWalletFlows(w: World): Promise<WalletFlows> {
  const empty = (await cashWallet.start({ walletId: 'wallet-1' }, w.walletCtx(21))).state;
  const denomination = [...w.denominations.byId.values()][0]!;
  const prepared = [await prepareCoin(denomination)];
  const r = await cashWallet.step(empty, { type: 'withdraw', now: NOW, account: 'account-1', prepared }, w.walletCtx(21));
  const requestId = r.send[0]!.requestId;
  const receipt = await signStatement(
    {
      type: CASH_TYPES.issue,
      version: 1,
      dealId: requestId,
      issuedAt: nowIso(NOW + 1),
      body: {
        requestId,
        kind: 'withdrawal',
        account: 'account-1',
        value: denomination.value,
        request: encodeBase64url(new Uint8Array(32)),
        blindSignatures: prepared.map((c) => w.blindSign(c.blindedMsg)),
      },
    },
    w.bank,
  );
  const issued = await cashWallet.step(
    r.state,
    { type: 'reply', now: NOW + 1, sent: r.send[0]!, reply: { kind: 'response', body: { receipt } } },
    w.walletCtx(21),
  );
  const unblindSent = issued.send[0]!;
  if (unblindSent.kind !== 'unblind') throw new Error('the receipt should ask for the unblinding');
  return {
    empty,
    prepared,
    withdrawing: r.state,
    receipt: { receipt },
    issued: issued.state,
    unblindSent,
    unblindReply: await unblindLocally(unblindSent, w.denominations),
  };
}

async function runFlows(w: World): Promise<Flows> {
  // Purchase.
  const s0 = await purchaseShopper.start({ origin: ORIGIN, items: [{ sku: 'report', quantity: 2 }], now: NOW }, w.shopperCtx(1));
  const offerRequest = s0.send[0]!.body;
  const m1 = await purchaseMerchant.step(newMerchantDeal(s0.state.dealId), { type: 'offer-requested', request: offerRequest, now: NOW }, w.merchantCtx(2));
  const s1 = await purchaseShopper.step(
    s0.state,
    { type: 'reply', sent: s0.send[0]!, reply: { kind: 'response', body: m1.send[0]!.body }, now: NOW + 1 },
    w.shopperCtx(1),
  );
  expect(s1.state.phase).toBe('awaiting-confirmation');
  const s2 = await purchaseShopper.step(s1.state, { type: 'user-confirmed', now: NOW + 2 }, w.shopperCtx(1));
  expect(s2.state.phase).toBe('ordering');
  const order = (s2.send[0]!.body as { order: unknown }).order;
  const m2 = await purchaseMerchant.step(m1.state, { type: 'order-received', order, now: NOW + 3 }, w.merchantCtx(3));
  expect(m2.state.phase).toBe('confirmed');

  // Exchange deal (contract signing: both sides draw nonces and sign).
  const d0 = await exchangeShopper.start({ origin: ORIGIN, use: 'contract-signing', documentId: 'subscription', now: NOW }, w.exShopperCtx(4));
  const descriptorRequest = d0.send[0]!.body;
  const x1 = await exchangeMerchant.step(
    { phase: 'new', dealId: d0.state.dealId },
    { type: 'descriptor-requested', request: descriptorRequest, now: NOW },
    w.exMerchantCtx(5),
  );
  if (x1.state.phase !== 'offered') throw new Error(x1.state.phase);
  const d1 = await exchangeShopper.step(
    d0.state,
    { type: 'reply', sent: d0.send[0]!, reply: { kind: 'response', body: (x1.send[0] as { body: unknown }).body }, now: NOW + 1 },
    w.exShopperCtx(4),
  );
  if (d1.state.phase !== 'awaiting-confirmation') throw new Error(`${d1.state.phase}: ${JSON.stringify(d1.effects)}`);
  const d2 = await exchangeShopper.step(d1.state, { type: 'user-confirmed', now: NOW + 2 }, w.exShopperCtx(4));
  if (d2.state.phase !== 'exchanging') throw new Error(d2.state.phase);
  const exM1 = d2.state.exchange.m1!;
  const x2 = await exchangeMerchant.step(x1.state, { type: 'message', message: exM1, now: NOW + 3, from: 'peer' }, w.exMerchantCtx(6));
  if (x2.state.phase !== 'responding') throw new Error(x2.state.phase);
  const exM2 = x2.state.responder.m2!;
  expect(exM2.type).toBe(EXCHANGE_TYPES.accept);

  const a = d1.state.agreement;
  const items = confirmedItems(d1.state.descriptor, a, w.shopper.keyId);
  const originatorParams: OriginatorParams = {
    protocol: a.protocol,
    dealId: a.dealId,
    responder: { keyId: a.merchantKeyId },
    ttp: { keyId: a.ttp.keyId },
    gives: items.shopperGives,
    item: await signFixedStatement(items.shopperGives, a.dealId, w.shopper, NOW + 2),
    expects: items.merchantGives,
    now: NOW + 2,
    timeouts: a.timeouts,
  };
  const responderStart = await exchangeResponder.start(
    {
      protocol: a.protocol,
      dealId: a.dealId,
      originator: { keyId: w.shopper.keyId },
      responder: { keyId: a.merchantKeyId },
      ttp: { keyId: a.ttp.keyId },
      gives: items.merchantGives,
      item: await signFixedStatement(items.merchantGives, a.dealId, w.merchant.signer, NOW + 3, { kind: 'x509', chain: w.merchant.chain }),
      expects: items.shopperGives,
      now: NOW + 3,
      timeouts: a.timeouts,
    },
    {
      signer: w.merchant.signer,
      signerRef: { kind: 'x509', chain: w.merchant.chain },
      trust: { roots: [w.ca.root], ttps: [w.ttp.signer.keyId] },
      random: seededRandom(7),
    },
  );
  const exchangeId = d2.state.exchange.exchangeId!;
  const request = async (type: string, body: Record<string, unknown>, signer: Signer) =>
    (await signStatement({ type, version: 1, dealId: a.dealId, issuedAt: nowIso(NOW + 4), body }, signer)) as Statement;
  return {
    shopperAwaiting: s1.state,
    shopperOrdering: s2.state,
    offerRequest,
    order,
    orderReply: m2.send[0]!.body,
    merchantOffered: m1.state,
    exAwaiting: d1.state,
    exExchanging: d2.state,
    descriptorRequest,
    exMerchantOffered: x1.state,
    exResponderStart: responderStart.state,
    m1: exM1,
    m2: exM2,
    originatorParams,
    abortRequest: await request(EXCHANGE_TYPES.abortRequest, { exchangeId, m1: exM1 }, w.shopper),
    resolveRequest: await request(EXCHANGE_TYPES.resolveRequest, { exchangeId, m1: exM1, m2: exM2 }, w.merchant.signer),
    fair: await runFairFlows(w),
    wallet: await runWalletFlows(w),
  };
}

interface Case {
  role: string;
  name: string;
  /** The step draws randomness from ctx.random (another seed must change its bytes). */
  random: boolean;
  /** The step signs (ES256 must change its bytes from run to run). */
  signs: boolean;
  /** The step reads the event's time (default): `dt` must change its bytes. A step that records no time must not change. */
  clock?: false;
  /** `dt` moves the event's time (the output must depend on it: time comes only from events). */
  run(w: World, f: Flows, seed: number, dt: number): Promise<StepResult<unknown, unknown, unknown>>;
}

/** One step of a machine on a JSON copy of its input (the state as a host would have read it back). */
function step<S, V, C>(machine: Machine<S, V, C, unknown, unknown, unknown>, state: S, event: V, ctx: C): Promise<StepResult<unknown, unknown, unknown>> {
  return machine.step(copy(state), copy(event), ctx);
}

const CASES: Case[] = [
  {
    role: 'purchase shopper',
    name: 'start: a fresh deal id and nonce, the offer request',
    random: true,
    signs: false,
    run: (w, _f, seed, dt) => purchaseShopper.start({ origin: ORIGIN, items: [{ sku: 'report', quantity: 2 }], now: NOW + dt }, w.shopperCtx(seed)),
  },
  {
    role: 'purchase shopper',
    name: 'user-confirmed: the signed order',
    random: false,
    signs: true,
    run: (w, f, seed, dt) => step(purchaseShopper, f.shopperAwaiting, { type: 'user-confirmed', now: NOW + 2 + dt }, w.shopperCtx(seed)),
  },
  {
    role: 'purchase shopper',
    name: 'reply to the order: confirmation and delivery verified, completed',
    random: false,
    signs: false,
    run: async (w, f, seed, dt) => {
      const sent = purchaseShopper.pendingSends(f.shopperOrdering)[0]!;
      const res = await step(
        purchaseShopper,
        f.shopperOrdering,
        { type: 'reply', sent, reply: { kind: 'response', body: f.orderReply }, now: NOW + 4 + dt },
        w.shopperCtx(seed),
      );
      expect((res.state as ShopperState).phase).toBe('completed');
      return res;
    },
  },
  {
    role: 'purchase merchant',
    name: 'offer-requested: a signed offer with a fresh offer id',
    random: true,
    signs: true,
    run: (w, f, seed, dt) =>
      step(
        purchaseMerchant,
        newMerchantDeal((f.offerRequest as { dealId: string }).dealId),
        { type: 'offer-requested', request: f.offerRequest, now: NOW + dt },
        w.merchantCtx(seed),
      ),
  },
  {
    role: 'purchase merchant',
    name: 'order-received: signed confirmation and delivery with a fresh order id',
    random: true,
    signs: true,
    run: (w, f, seed, dt) => step(purchaseMerchant, f.merchantOffered, { type: 'order-received', order: f.order, now: NOW + 3 + dt }, w.merchantCtx(seed)),
  },
  {
    role: 'exchange-deal shopper',
    name: 'start: a fresh deal id and nonce, the descriptor request',
    random: true,
    signs: false,
    run: (w, _f, seed, dt) =>
      exchangeShopper.start({ origin: ORIGIN, use: 'contract-signing', documentId: 'subscription', now: NOW + dt }, w.exShopperCtx(seed)),
  },
  {
    role: 'exchange-deal shopper',
    name: 'user-confirmed: the signed contract, m1 with fresh nonces',
    random: true,
    signs: true,
    run: (w, f, seed, dt) => step(exchangeShopper, f.exAwaiting, { type: 'user-confirmed', now: NOW + 2 + dt }, w.exShopperCtx(seed)),
  },
  {
    role: 'exchange-deal merchant',
    name: 'descriptor-requested: the signed descriptor (naming no shopper)',
    random: true,
    signs: true,
    run: (w, f, seed, dt) =>
      step(
        exchangeMerchant,
        { phase: 'new', dealId: (f.descriptorRequest as { dealId: string }).dealId },
        { type: 'descriptor-requested', request: f.descriptorRequest, now: NOW + dt },
        w.exMerchantCtx(seed),
      ),
  },
  {
    role: 'exchange-deal merchant',
    name: 'message m1: the shopper key bound, the responder started, m2 with a fresh nonce',
    random: true,
    signs: true,
    run: (w, f, seed, dt) =>
      step(exchangeMerchant, f.exMerchantOffered, { type: 'message', message: f.m1, now: NOW + 3 + dt, from: 'peer' }, w.exMerchantCtx(seed)),
  },
  {
    role: 'originator',
    name: 'start: m1 with fresh exchange nonce and commitment',
    random: true,
    signs: true,
    run: (w, f, seed, dt) =>
      exchangeOriginator.start({ ...copy(f.originatorParams), now: f.originatorParams.now + dt }, w.originatorCtx(seed, f.exExchanging.agreement.roots)),
  },
  {
    role: 'originator',
    name: 'message m2: m3 revealing its nonce',
    random: false,
    signs: true,
    run: async (w, f, seed, dt) => {
      const res = await step(
        exchangeOriginator,
        f.exExchanging.exchange,
        { type: 'message', message: f.m2, now: NOW + 4 + dt, from: 'peer' },
        w.originatorCtx(seed, f.exExchanging.agreement.roots),
      );
      expect((res.state as ExchangeState).phase).toBe('awaiting-m4');
      return res;
    },
  },
  {
    role: 'responder',
    name: 'message m1: m2 with a fresh nonce',
    random: true,
    signs: true,
    run: async (w, f, seed, dt) => {
      const ctx = w.exMerchantCtx(seed);
      const responderCtx: ExchangeContext = {
        signer: w.merchant.signer,
        signerRef: { kind: 'x509', chain: w.merchant.chain },
        trust: { roots: [w.ca.root], ttps: [w.ttp.signer.keyId] },
        random: ctx.random,
      };
      const res = await step(exchangeResponder, f.exResponderStart, { type: 'message', message: f.m1, now: NOW + 3 + dt, from: 'peer' }, responderCtx);
      expect((res.state as ExchangeState).phase).toBe('awaiting-m3');
      return res;
    },
  },
  {
    role: 'TTP',
    name: 'abort request: the signed abort token',
    random: false,
    signs: true,
    run: async (w, f, _seed, dt) =>
      step(
        ttpMachine,
        (await ttpMachine.start({ exchangeId: f.exExchanging.exchange.exchangeId! }, w.ttpCtx())).state,
        { type: 'request', request: f.abortRequest, now: NOW + 5 + dt },
        w.ttpCtx(),
      ),
  },
  {
    role: 'TTP',
    name: 'resolve request: the signed resolution with two affidavits',
    random: false,
    signs: true,
    run: async (w, f, _seed, dt) =>
      step(
        ttpMachine,
        (await ttpMachine.start({ exchangeId: f.exExchanging.exchange.exchangeId! }, w.ttpCtx())).state,
        { type: 'request', request: f.resolveRequest, now: NOW + 5 + dt },
        w.ttpCtx(),
      ),
  },
  {
    role: 'fair-purchase shopper',
    name: 'start: a fresh deal id and nonce, the offer request',
    random: true,
    signs: false,
    run: (w, _f, seed, dt) => fairPurchaseShopper.start({ origin: ORIGIN, sku: 'song', now: NOW + dt }, w.fairShopperCtx(seed)),
  },
  {
    role: 'fair-purchase shopper',
    name: 'reply with the offer: verified (chain, TTP, sealing key, ciphertext), shown',
    random: false,
    signs: false,
    run: async (w, f, seed, dt) => {
      const start = await fairPurchaseShopper.start({ origin: ORIGIN, sku: 'song', now: NOW }, w.fairShopperCtx(11));
      const res = await step(
        fairPurchaseShopper,
        start.state,
        { type: 'reply', sent: f.fair.offerSent, reply: { kind: 'response', body: f.fair.offerReply }, now: NOW + 1 + dt },
        w.fairShopperCtx(seed),
      );
      expect((res.state as FairShopperState).phase).toBe('awaiting-confirmation');
      return res;
    },
  },
  {
    role: 'fair-purchase shopper',
    name: 'user-confirmed: the signed start, the responder started (awaiting m1)',
    random: false,
    signs: true,
    run: (w, f, seed, dt) => step(fairPurchaseShopper, f.fair.awaiting, { type: 'user-confirmed', method: 'cash', now: NOW + 2 + dt }, w.fairShopperCtx(seed)),
  },
  {
    role: 'fair-purchase shopper',
    name: 'reply with m1: the merchant bound, the payment asked for',
    random: false,
    signs: false,
    // Accepting m1 records no time: the responder's timer is m1's own deadline (+ margin), not the arrival.
    clock: false,
    run: async (w, f, seed, dt) => {
      const sent = fairPurchaseShopper.pendingSends(f.fair.starting)[0]!;
      const res = await step(
        fairPurchaseShopper,
        f.fair.starting,
        { type: 'reply', sent, reply: { kind: 'response', body: f.fair.m1Reply }, now: NOW + 4 + dt },
        w.fairShopperCtx(seed),
      );
      expect((res.state as FairShopperState).phase).toBe('paying');
      return res;
    },
  },
  {
    role: 'fair-purchase shopper',
    name: 'paid: the money item checked, m2 with it',
    random: false,
    signs: true,
    run: (w, f, seed, dt) => step(fairPurchaseShopper, f.fair.paying, { type: 'paid', item: f.fair.money, now: NOW + 5 + dt }, w.fairShopperCtx(seed)),
  },
  {
    role: 'fair-purchase shopper',
    name: 'reply with m3: the key statement checked, the goods decrypted, completed',
    random: false,
    signs: false,
    run: async (w, f, seed, dt) => {
      const sent = fairPurchaseShopper.pendingSends(f.fair.exchanging)[0]!;
      const res = await step(
        fairPurchaseShopper,
        f.fair.exchanging,
        { type: 'reply', sent, reply: { kind: 'response', body: f.fair.m3Reply }, now: NOW + 7 + dt },
        w.fairShopperCtx(seed),
      );
      expect((res.state as FairShopperState).phase).toBe('completed');
      return res;
    },
  },
  {
    role: 'fair-purchase merchant',
    name: 'offer-requested: the signed offer (fresh offer id), the goods encrypted under the prepared key',
    random: true,
    signs: true,
    run: async (w, f, seed, dt) =>
      step(
        fairPurchaseMerchant,
        { phase: 'new', dealId: f.fair.offerRequest.dealId } as FairMerchantState,
        { type: 'offer-requested', request: f.fair.offerRequest, prepared: await w.prepared(f.fair.offerRequest.dealId), now: NOW + dt },
        w.fairMerchantCtx(seed),
      ),
  },
  {
    role: 'fair-purchase merchant',
    name: "message start: the shopper's key bound, m1 with a fresh exchange nonce",
    random: true,
    signs: true,
    run: (w, f, seed, dt) =>
      step(fairPurchaseMerchant, f.fair.merchantOffered, { type: 'message', message: f.fair.start, now: NOW + 3 + dt, from: 'peer' }, w.fairMerchantCtx(seed)),
  },
  {
    role: 'fair-purchase merchant',
    name: 'message m2: the payment checked, m3 with the key statement',
    random: false,
    signs: true,
    run: (w, f, seed, dt) =>
      step(fairPurchaseMerchant, f.fair.merchantSelling, { type: 'message', message: f.fair.m2, now: NOW + 6 + dt, from: 'peer' }, w.fairMerchantCtx(seed)),
  },
  {
    role: 'cash wallet',
    name: 'withdraw: the prepared (blinded) coins recorded, the signed withdrawal request with a fresh request id',
    random: true,
    signs: true,
    run: (w, f, seed, dt) =>
      step(cashWallet, f.wallet.empty, { type: 'withdraw', now: NOW + dt, account: 'account-1', prepared: f.wallet.prepared }, w.walletCtx(seed)),
  },
  {
    role: 'cash wallet',
    name: "reply with the bank's issue receipt: recorded, the unblinding asked of the host",
    random: false,
    signs: false,
    clock: false,
    run: (w, f, seed, dt) =>
      step(
        cashWallet,
        f.wallet.withdrawing,
        { type: 'reply', now: NOW + 1 + dt, sent: f.wallet.withdrawing.pending[0]!.send, reply: { kind: 'response', body: f.wallet.receipt } },
        w.walletCtx(seed),
      ),
  },
  {
    role: 'cash wallet',
    name: "reply with the host's unblinding: each coin checked against its denomination key, then kept",
    random: false,
    signs: false,
    clock: false,
    run: (w, f, seed, dt) =>
      step(cashWallet, f.wallet.issued, { type: 'reply', now: NOW + 2 + dt, sent: f.wallet.unblindSent, reply: f.wallet.unblindReply }, w.walletCtx(seed)),
  },
];

/** The bytes a step produced: the canonical JSON of the whole StepResult (checked to be plain JSON first). */
function bytesOf(res: StepResult<unknown, unknown, unknown>): string {
  assertPlainJson(res);
  return canonicalJson(res);
}

let ed: World, es: World;
let edFlows: Flows, esFlows: Flows;
beforeAll(async () => {
  ca = await makeTestCa('Semper Determinism Root', NOW);
  [ed, es] = await Promise.all([makeWorld('EdDSA'), makeWorld('ES256')]);
  [edFlows, esFlows] = await Promise.all([runFlows(ed), runFlows(es)]);
});

describe('every step is a function of (state, event, ctx): byte-identical output', () => {
  it('covers every role of the machine contract', () => {
    expect(new Set(CASES.map((c) => c.role))).toEqual(
      new Set([
        'purchase shopper',
        'purchase merchant',
        'exchange-deal shopper',
        'exchange-deal merchant',
        'fair-purchase shopper',
        'fair-purchase merchant',
        'cash wallet',
        'originator',
        'responder',
        'TTP',
      ]),
    );
  });

  it.each(CASES.map((c) => [`${c.role} — ${c.name}`, c] as const))('%s', async (_label, c) => {
    const first = bytesOf(await c.run(ed, edFlows, SEED, 0));
    const second = bytesOf(await c.run(ed, edFlows, SEED, 0));
    expect(second).toBe(first);
    // Not vacuous: the output depends on the event's time (the only clock a step has)...
    if (c.clock === false) expect(bytesOf(await c.run(ed, edFlows, SEED, 1))).toBe(first);
    else expect(bytesOf(await c.run(ed, edFlows, SEED, 1))).not.toBe(first);
    // ...on the seed wherever the step draws randomness...
    if (c.random) expect(bytesOf(await c.run(ed, edFlows, SEED + 1, 0))).not.toBe(first);
    else expect(bytesOf(await c.run(ed, edFlows, SEED + 1, 0))).toBe(first);
    // ...and randomized (ECDSA) signatures make two runs of the same step differ wherever it signs.
    if (c.signs) expect(bytesOf(await c.run(es, esFlows, SEED, 0))).not.toBe(bytesOf(await c.run(es, esFlows, SEED, 0)));
    else expect(bytesOf(await c.run(es, esFlows, SEED, 0))).toBe(bytesOf(await c.run(es, esFlows, SEED, 0)));
  });
});

describe('the contract as hosts use it', () => {
  it('startPurchase with explicit ids gives what start draws from the same seed', async () => {
    const viaStart = await purchaseShopper.start({ origin: ORIGIN, items: [{ sku: 'report', quantity: 1 }], now: NOW }, ed.shopperCtx(SEED));
    const r = seededRandom(SEED);
    const explicit = startPurchase({ dealId: r.id(24), nonce: r.id(32), origin: ORIGIN, items: [{ sku: 'report', quantity: 1 }], now: NOW });
    expect(bytesOf(explicit)).toBe(bytesOf(viaStart));
  });

  it('pendingSends, wakeAt and isTerminal are functions of the state alone', () => {
    const machines = [
      [purchaseShopper, edFlows.shopperOrdering],
      [exchangeShopper, edFlows.exExchanging],
      [exchangeMerchant, edFlows.exMerchantOffered],
      [exchangeOriginator, edFlows.exExchanging.exchange],
      [purchaseMerchant, edFlows.merchantOffered],
      [fairPurchaseShopper, edFlows.fair.exchanging],
      [fairPurchaseMerchant, edFlows.fair.merchantSelling],
      [cashWallet, edFlows.wallet.withdrawing],
    ] as const;
    for (const [m, s] of machines) {
      const mm = m as unknown as Machine<unknown, unknown, unknown, unknown, unknown, unknown>;
      expect(canonicalJson(mm.pendingSends(copy(s)))).toBe(canonicalJson(mm.pendingSends(copy(s))));
      expect(mm.wakeAt(copy(s))).toBe(mm.wakeAt(copy(s)));
      expect(mm.isTerminal(copy(s))).toBe(false);
    }
    expect(purchaseShopper.pendingSends(edFlows.shopperOrdering)).toHaveLength(1);
    expect(exchangeShopper.pendingSends(edFlows.exExchanging).map((o) => o.path)).toEqual(['/semper/exchange/messages']);
    expect(fairPurchaseShopper.pendingSends(edFlows.fair.paying)).toEqual([{ kind: 'pay', request: (edFlows.fair.paying as { payment: unknown }).payment }]);
    expect(cashWallet.pendingSends(edFlows.wallet.withdrawing).map((o) => (o.kind === 'http' ? o.path : o.kind))).toEqual(['/bank/withdraw']);
    expect(cashWallet.pendingSends(edFlows.wallet.issued)).toEqual([edFlows.wallet.unblindSent]);
  });
});

describe('the cash wallet where it signs with a coin', () => {
  /** The bytes with every signature value blanked (what is left must be a function of the inputs). */
  const withoutSignatureValues = (res: StepResult<unknown, unknown, unknown>): string =>
    JSON.stringify(JSON.parse(canonicalJson(res), (k, v) => (k === 'value' && typeof v === 'string' ? '' : v)));

  it('pay: the same but for the coins’ ECDSA signatures; the seed picks the request id, the event the time', async () => {
    const f = edFlows.wallet;
    const withdrawn = await cashWallet.step(copy(f.issued), { type: 'reply', now: NOW + 2, sent: f.unblindSent, reply: f.unblindReply }, ed.walletCtx(SEED));
    const coinIds = withdrawn.state.coins.map((c) => c.coinId);
    expect(coinIds).toHaveLength(1);
    const pay = (seed: number, dt: number) =>
      step(
        cashWallet,
        withdrawn.state,
        { type: 'pay', now: NOW + 2 + dt, coinIds, payee: ed.merchant.signer.keyId, reference: 'deal-wallet-0001' },
        ed.walletCtx(seed),
      );
    const [a, b] = [await pay(SEED, 0), await pay(SEED, 0)];
    expect(bytesOf(a)).not.toBe(bytesOf(b));
    expect(withoutSignatureValues(a)).toBe(withoutSignatureValues(b));
    expect(withoutSignatureValues(await pay(SEED + 1, 0))).not.toBe(withoutSignatureValues(a));
    expect(withoutSignatureValues(await pay(SEED, 1))).not.toBe(withoutSignatureValues(a));
  });
});
