/**
 * Deterministic steps (core/machine.ts): for every role — purchase shopper and merchant,
 * exchange-deal shopper and merchant, fair-exchange originator and responder, TTP — the same
 * state, event and context give byte-identical output: the canonical JSON (RFC 8785) of the whole
 * StepResult (state, send, effects). Randomness comes only from `ctx.random` (seededRandom here),
 * time only from the event, and signatures are Ed25519 (deterministic).
 *
 * The check is not vacuous: the same step with another seed gives other bytes wherever the step
 * draws randomness, and with ES256 (randomized ECDSA) signers two runs differ wherever it signs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type KeyAlgorithm, type Signer } from '../../core/crypto/index.js';
import { canonicalJson } from '../../core/encoding/index.js';
import { seededRandom, type Machine, type StepResult } from '../../core/machine.js';
import { fingerprintOf } from '../../core/pki/index.js';
import { nowIso, signStatement, type Statement } from '../../core/statements/index.js';
import {
  confirmedItems,
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
import { makeTestCa, type TestCa } from '../helpers/pki.js';
import { assertPlainJson } from '../protocols/sim.js';

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
}

let ca: TestCa;

async function makeWorld(alg: KeyAlgorithm): Promise<World> {
  const keys = () => generateKeyPair(alg);
  const m = await ca.issue({ commonName: 'Fogra', role: 'merchant', origins: [ORIGIN], keys: await keys() });
  const t = await ca.issue({ commonName: 'Semper Test TTP', role: 'ttp', keys: await keys() });
  const shopper = await signerFromKeyPair(alg, await keys());
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
  };
}

interface Case {
  role: string;
  name: string;
  /** The step draws randomness from ctx.random (another seed must change its bytes). */
  random: boolean;
  /** The step signs (ES256 must change its bytes from run to run). */
  signs: boolean;
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
      new Set(['purchase shopper', 'purchase merchant', 'exchange-deal shopper', 'exchange-deal merchant', 'originator', 'responder', 'TTP']),
    );
  });

  it.each(CASES.map((c) => [`${c.role} — ${c.name}`, c] as const))('%s', async (_label, c) => {
    const first = bytesOf(await c.run(ed, edFlows, SEED, 0));
    const second = bytesOf(await c.run(ed, edFlows, SEED, 0));
    expect(second).toBe(first);
    // Not vacuous: the output depends on the event's time (the only clock a step has)...
    expect(bytesOf(await c.run(ed, edFlows, SEED, 1))).not.toBe(first);
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
    ] as const;
    for (const [m, s] of machines) {
      const mm = m as unknown as Machine<unknown, unknown, unknown, unknown, unknown, unknown>;
      expect(canonicalJson(mm.pendingSends(copy(s)))).toBe(canonicalJson(mm.pendingSends(copy(s))));
      expect(mm.wakeAt(copy(s))).toBe(mm.wakeAt(copy(s)));
      expect(mm.isTerminal(copy(s))).toBe(false);
    }
    expect(purchaseShopper.pendingSends(edFlows.shopperOrdering)).toHaveLength(1);
    expect(exchangeShopper.pendingSends(edFlows.exExchanging).map((o) => o.path)).toEqual(['/semper/exchange/messages']);
  });
});
