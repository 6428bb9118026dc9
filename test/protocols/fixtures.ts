/**
 * Parties, keys, certificates and items for the exchange simulations and unit tests. Built once
 * per test file (key generation and certificates are the slow part).
 *
 * Scenarios (one per generic protocol):
 *   certified-mail  generatable↔verifiable: O gives a receipt (generatable statement), R gives
 *                   information (verifiable)
 *   contract        contract-signing: both give their signature on one contract text
 *   currency        revocable↔revocable: O pays 100 EUR, R pays 110 USD, both account transfers
 *                   revocable until after the deadline
 */
import { createRootCertificate, issueCertificate } from '../../core/pki/index.js';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { encodeBase64url, utf8 } from '../../core/encoding/index.js';
import { seededRandom, type RandomSource } from '../../core/machine.js';
import { nowIso, signStatement, type Statement } from '../../core/statements/index.js';
import { describeInformation, PAYMENT_PROOF_TYPE, type Description, type Item } from '../../core/items/index.js';
import { receiptDescription } from '../../core/transfer/index.js';
import {
  startOriginator,
  startResponder,
  stepExchange,
  type ExchangeContext,
  type ExchangeState,
  type ProtocolId,
  type Timeouts,
} from '../../core/exchange/index.js';
import type { TtpContext } from '../../core/exchange/ttp.js';

export const T0 = Date.UTC(2030, 0, 1);
export const SIM_TIMEOUTS: Timeouts = { peer: 1_000, ttpRetry: 1_000, ttpMargin: 3_000, peerRetries: 1 };
/** Worst-case delay of a message to or from the TTP in the simulations (must be < ttpMargin). */
export const TTP_DELAY = 1_000;
export const DEADLINE = T0 + 10_000;

export interface Keys {
  root: string;
  o: Signer;
  r: Signer;
  ttp: Signer;
  ttpChain: string[];
  /** Two more TTPs under the same root, for k-of-n runs (docs/quorum.md): with `ttp`, the set T, T2, T3. */
  moreTtps: { signer: Signer; chain: string[] }[];
  bank: Signer;
  mallory: Signer;
}

export async function makeKeys(): Promise<Keys> {
  const caPair = await generateKeyPair('ES256');
  const notBefore = new Date(Date.UTC(2025, 0, 1));
  const notAfter = new Date(Date.UTC(2040, 0, 1));
  const root = await createRootCertificate({ commonName: 'Semper Test Root', keys: caPair, notBefore, notAfter });
  const ttpPair = await generateKeyPair('ES256');
  const ttpCert = await issueCertificate({
    issuerCertificate: root,
    issuerPrivateKey: caPair.privateKey,
    subjectPublicKey: ttpPair.publicKey,
    commonName: 'Semper Test TTP',
    role: 'ttp',
    notBefore,
    notAfter,
  });
  const moreTtps: { signer: Signer; chain: string[] }[] = [];
  for (const name of ['Semper Test TTP 2', 'Semper Test TTP 3']) {
    const pair = await generateKeyPair('ES256');
    const chain = [
      await issueCertificate({
        issuerCertificate: root,
        issuerPrivateKey: caPair.privateKey,
        subjectPublicKey: pair.publicKey,
        commonName: name,
        role: 'ttp',
        notBefore,
        notAfter,
      }),
    ];
    moreTtps.push({ signer: await signerFromKeyPair('ES256', pair), chain });
  }
  const [o, r, ttp, bank, mallory] = await Promise.all([
    generateKeyPair('ES256').then((p) => signerFromKeyPair('ES256', p)),
    generateKeyPair('ES256').then((p) => signerFromKeyPair('ES256', p)),
    signerFromKeyPair('ES256', ttpPair),
    generateKeyPair('ES256').then((p) => signerFromKeyPair('ES256', p)),
    generateKeyPair('ES256').then((p) => signerFromKeyPair('ES256', p)),
  ]);
  return { root, o: o!, r: r!, ttp: ttp!, ttpChain: [ttpCert], moreTtps, bank: bank!, mallory: mallory! };
}

export interface Side {
  ctx: ExchangeContext;
  gives: Description;
  item: Item;
  /** An item that does not fit `gives` (for cheaters). */
  wrongItem: Item;
}

export interface Scenario {
  name: string;
  protocol: ProtocolId;
  dealId: string;
  keys: Keys;
  O: Side;
  R: Side;
  deadline: number;
  /** The TTP's context (its clock comes with each request event). */
  ttpContext(): TtpContext;
}

/** A deterministic randomness source for the simulations (kept for callers of the old name; it is core's seededRandom). */
export function nonceSource(seed: number): RandomSource {
  return seededRandom(seed);
}

function contexts(keys: Keys): { o: ExchangeContext; r: ExchangeContext } {
  const trust = { roots: [keys.root], ttps: [keys.ttp.keyId] };
  return {
    o: { signer: keys.o, trust, random: seededRandom(1) },
    r: { signer: keys.r, trust, random: seededRandom(2) },
  };
}

function ttpContext(keys: Keys) {
  return (): TtpContext => ({ signer: keys.ttp, signerRef: { kind: 'x509', chain: keys.ttpChain }, trust: { roots: [keys.root] } });
}

async function signedBy(signer: Signer, type: string, dealId: string, body: Record<string, unknown>): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(T0), body }, signer)) as Statement;
}

function info(text: string): Extract<Item, { kind: 'information' }> {
  return { kind: 'information', mediaType: 'text/plain', data: encodeBase64url(utf8(text)) };
}

export async function certifiedMail(keys: Keys, dealId = 'deal-certified-mail-0001'): Promise<Scenario> {
  const { o, r } = contexts(keys);
  const mail = info('Consultancy report: 40 pages of legal expertise.');
  const mailDesc = await describeInformation(mail);
  const receiptDesc = receiptDescription({ receiver: keys.o.keyId, sender: keys.r.keyId, dealId, received: mailDesc });
  if (receiptDesc.kind !== 'statement' || !receiptDesc.content) throw new Error('fixture');
  const receipt: Item = { kind: 'statement', statement: await signedBy(keys.o, 'semper.receipt', dealId, receiptDesc.content.body) };
  const wrongReceipt: Item = {
    kind: 'statement',
    statement: await signedBy(keys.o, 'semper.receipt', dealId, { ...receiptDesc.content.body, received: 'nothing' }),
  };
  return {
    name: 'certified-mail',
    protocol: 'generatable-verifiable',
    dealId,
    keys,
    O: { ctx: o, gives: receiptDesc, item: receipt, wrongItem: wrongReceipt },
    R: { ctx: r, gives: mailDesc, item: mail, wrongItem: info('Three blank pages.') },
    deadline: DEADLINE,
    ttpContext: ttpContext(keys),
  };
}

export async function contract(keys: Keys, dealId = 'deal-contract-00000001'): Promise<Scenario> {
  const { o, r } = contexts(keys);
  const text = 'Alice sells Bob the consultancy report for 1000 EUR, delivery by 2030-02-01.';
  const sig = async (signer: Signer, t: string) => {
    const body = { contract: t, parties: [keys.o.keyId, keys.r.keyId] };
    const desc: Description = { kind: 'statement', type: 'semper.contract.signature', signer: { keyId: signer.keyId }, dealId, content: { body } };
    const item: Item = { kind: 'statement', statement: await signedBy(signer, 'semper.contract.signature', dealId, body) };
    return { desc, item };
  };
  const so = await sig(keys.o, text);
  const sr = await sig(keys.r, text);
  const wo = await sig(keys.o, `${text} (amended: 1 EUR)`);
  const wr = await sig(keys.r, `${text} (amended: 1 EUR)`);
  return {
    name: 'contract',
    protocol: 'contract-signing',
    dealId,
    keys,
    O: { ctx: o, gives: so.desc, item: so.item, wrongItem: wo.item },
    R: { ctx: r, gives: sr.desc, item: sr.item, wrongItem: wr.item },
    deadline: DEADLINE,
    ttpContext: ttpContext(keys),
  };
}

export async function currencyExchange(keys: Keys, dealId = 'deal-currency-00000001'): Promise<Scenario> {
  const { o, r } = contexts(keys);
  const pay = async (payer: Signer, payee: string, amount: number, currency: string, bank: Signer) => {
    const value = { amount, currency };
    const desc: Description = {
      kind: 'money',
      method: 'account',
      value,
      payee,
      reference: dealId,
      issuer: { keyId: keys.bank.keyId },
      revocableUntil: DEADLINE + 3_600_000,
    };
    const proof = await signedBy(bank, PAYMENT_PROOF_TYPE, dealId, { method: 'account', value, payee, reference: dealId });
    void payer;
    return { desc, item: { kind: 'money', method: 'account', value, proof } as Item };
  };
  const po = await pay(keys.o, keys.r.keyId, 10_000, 'EUR', keys.bank);
  const pr = await pay(keys.r, keys.o.keyId, 11_000, 'USD', keys.bank);
  // A cheater cannot make the bank sign: its "proofs" are signed by itself.
  const fo = await pay(keys.o, keys.r.keyId, 10_000, 'EUR', keys.o);
  const fr = await pay(keys.r, keys.o.keyId, 11_000, 'USD', keys.r);
  return {
    name: 'currency',
    protocol: 'revocable-revocable',
    dealId,
    keys,
    O: { ctx: o, gives: po.desc, item: po.item, wrongItem: fo.item },
    R: { ctx: r, gives: pr.desc, item: pr.item, wrongItem: fr.item },
    deadline: DEADLINE,
    ttpContext: ttpContext(keys),
  };
}

export async function allScenarios(keys: Keys): Promise<Scenario[]> {
  return [await certifiedMail(keys), await contract(keys), await currencyExchange(keys)];
}

/** A state through its JSON text, as a host stores it. */
export const roundTrip = (s: ExchangeState): ExchangeState => JSON.parse(JSON.stringify(s)) as ExchangeState;

/** The originator's start parameters for a scenario (`over` replaces any of them). */
export function originatorParams(keys: Keys, sc: Scenario, over: Record<string, unknown> = {}) {
  return {
    protocol: sc.protocol,
    dealId: sc.dealId,
    now: T0,
    timeouts: SIM_TIMEOUTS,
    gives: sc.O.gives,
    item: sc.O.item,
    expects: sc.R.gives,
    responder: { keyId: keys.r.keyId },
    ttp: { keyId: keys.ttp.keyId },
    deadline: sc.deadline,
    ...over,
  };
}

/** The responder's start parameters for a scenario (`over` replaces any of them). */
export function responderParams(keys: Keys, sc: Scenario, over: Record<string, unknown> = {}) {
  return {
    protocol: sc.protocol,
    dealId: sc.dealId,
    now: T0,
    timeouts: SIM_TIMEOUTS,
    gives: sc.R.gives,
    item: sc.R.item,
    expects: sc.O.gives,
    originator: { keyId: keys.o.keyId },
    ttp: { keyId: keys.ttp.keyId },
    latestDeadline: sc.deadline,
    ...over,
  };
}

/** Both roles started (R as its descriptor agreed in advance), nothing exchanged yet; `over` replaces any of O's start parameters. */
export async function startPair(keys: Keys, sc: Scenario, seed: number, over: Record<string, unknown> = {}) {
  const oCtx: ExchangeContext = { ...sc.O.ctx, random: seededRandom(seed) };
  const rCtx: ExchangeContext = { ...sc.R.ctx, random: seededRandom(seed + 1) };
  const o = await startOriginator(originatorParams(keys, sc, over), oCtx);
  const r = await startResponder(responderParams(keys, sc), rCtx);
  return { o, r, oCtx, rCtx };
}

/** Both roles started and m1 answered: the honest m1 and m2 of one exchange. */
export async function honestPair(keys: Keys, sc: Scenario, seed: number) {
  const { o, r, oCtx, rCtx } = await startPair(keys, sc, seed);
  const m1 = o.send[0]!.statement;
  const r1 = await stepExchange(roundTrip(r.state), { type: 'message', message: m1, now: T0, from: 'peer' }, rCtx);
  return { o, r, r1, oCtx, rCtx, m1, m2: r1.send[0]!.statement, exchangeId: o.state.exchangeId! };
}
