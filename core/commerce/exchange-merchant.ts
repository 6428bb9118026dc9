/**
 * The merchant's side of an exchange deal (certified mail, contract signing; see
 * exchange-deal.ts) as one machine on the contract (core/machine.ts): it answers the shopper's
 * descriptor request with a signed descriptor and starts its *responder* of the generic fair
 * exchange (core/exchange), then runs that responder on every message, timer and TTP answer.
 *
 *   new        → descriptor-requested: the signed descriptor; the responder starts  → responding
 *   responding → descriptor-requested again (a restarted worker re-sends it): the same descriptor
 *                while m1 has not come and the descriptor is valid; anything else is a replay
 *   responding → message | timeout | ttp-error | resume: the responder's step. Replies to the
 *                shopper go back as the answer to its request (`{ to: 'shopper', body: { replies } }`);
 *                requests to the TTP go to the TTP the merchant is configured with (`{ to: 'ttp' }`),
 *                never to an address a message names.
 * A message the responder refuses without any change is a refusal of the request (thrown).
 */
import { jwkThumbprint } from '../crypto/jwk.js';
import { SemperError } from '../errors.js';
import type { Machine, RandomSource, StepResult } from '../machine.js';
import type { RevocationCheck } from '../pki/certificates.js';
import { signStatement, type Statement } from '../statements/index.js';
import { describeInformation } from '../items/match.js';
import type { Description, Item } from '../items/schema.js';
import { receiptDescription } from '../transfer/index.js';
import {
  isTerminal as responderTerminal,
  startResponder,
  stepExchange,
  type ExchangeContext,
  type ExchangeEffect,
  type ExchangeEvent,
  type ExchangeState,
  type ProtocolId,
} from '../exchange/index.js';
import type { MerchantIdentity } from './merchant.js';
import { parseBody } from './common.js';
import {
  contractDescription,
  DescriptorRequest,
  documentItem,
  EXCHANGE_DEAL_TYPES,
  signFixedStatement,
  timeoutsFrom,
  USE_PROTOCOL,
  type ContractBody,
  type DescriptorBody,
  type DescriptorDocument,
  type ExchangeCatalog,
  type ExchangeTiming,
  type ExchangeUse,
} from './exchange-deal.js';

export interface ExchangeMerchantContext {
  identity: MerchantIdentity;
  /** The TTP this merchant accepts: its key, its certificate chain (in every descriptor) and where the merchant reaches it. */
  ttp: { keyId: string; certificateChain: string[]; url: string };
  catalog: ExchangeCatalog;
  descriptorTtlMs: number;
  timing: ExchangeTiming;
  terms?: string;
  /** Roots for certified signers in exchange messages (the TTP's chain, certified items). */
  trustRoots: readonly string[];
  isRevoked?: RevocationCheck;
  /** Descriptor ids and the responder's nonces. */
  random: RandomSource;
}

export type ExchangeMerchantState =
  /** Nothing issued yet (never stored). */
  { phase: 'new'; dealId: string } | { phase: 'responding'; dealId: string; use: ExchangeUse; descriptor: Statement<DescriptorBody>; responder: ExchangeState };

export type ExchangeMerchantEvent = { type: 'descriptor-requested'; request: unknown; now: number } | ExchangeEvent;

export type ExchangeMerchantOutbound =
  | { to: 'shopper'; body: { descriptor: Statement<DescriptorBody> } | { replies: Statement[] } }
  | { to: 'ttp'; statement: Statement };

/** Messages the responder refused along the way (for the operator's log; the state says the rest). */
export type ExchangeMerchantEffect = Extract<ExchangeEffect, { kind: 'rejected-message' }>;

export type ExchangeMerchantStep = StepResult<ExchangeMerchantState, ExchangeMerchantOutbound, ExchangeMerchantEffect>;

/** What the merchant's responder machine starts with for a descriptor. */
interface ResponderSetup {
  protocol: ProtocolId;
  shopperKeyId: string;
  gives: Description;
  item: Item;
  expects: Description;
}

function responderContext(ctx: ExchangeMerchantContext): ExchangeContext {
  return {
    signer: ctx.identity.signer,
    signerRef: { kind: 'x509', chain: ctx.identity.chain },
    trust: { roots: ctx.trustRoots, ttps: [ctx.ttp.keyId], ...(ctx.isRevoked ? { isRevoked: ctx.isRevoked } : {}) },
    random: ctx.random,
  };
}

/**
 * The merchant's answer to a descriptor request: the signed descriptor and the setup of its
 * responder machine (its own item is made here: the document, or its signature on the contract).
 */
async function makeExchangeDescriptor(
  req: DescriptorRequest,
  now: number,
  ctx: ExchangeMerchantContext,
): Promise<{ descriptor: Statement<DescriptorBody>; responder: ResponderSetup }> {
  const shopperKeyId = await jwkThumbprint(req.shopper.jwk);
  const merchantKeyId = ctx.identity.signer.keyId;
  if (shopperKeyId === merchantKeyId) throw new SemperError('ERR_PROTOCOL_STATE', 'an exchange needs two different parties');
  let shopperGives: Description;
  let merchantGives: Description;
  let item: Item;
  let title: string;
  let document: DescriptorDocument | undefined;
  if (req.use === 'certified-mail') {
    const doc = ctx.catalog.document(req.documentId);
    if (!doc) throw new SemperError('ERR_NOT_FOUND', `no document ${req.documentId}`);
    item = documentItem(doc);
    const described = await describeInformation(item);
    merchantGives = described;
    shopperGives = receiptDescription({ receiver: shopperKeyId, sender: merchantKeyId, dealId: req.dealId, received: described });
    title = doc.title;
    document = { title: doc.title, mediaType: doc.mediaType, size: described.size!, digest: described.digest };
  } else {
    const contract = ctx.catalog.contract(req.documentId);
    if (!contract) throw new SemperError('ERR_NOT_FOUND', `no contract ${req.documentId}`);
    const body: ContractBody = { contractId: req.documentId, title: contract.title, text: contract.text, parties: [shopperKeyId, merchantKeyId] };
    shopperGives = contractDescription(shopperKeyId, req.dealId, body);
    merchantGives = contractDescription(merchantKeyId, req.dealId, body);
    item = await signFixedStatement(merchantGives, req.dealId, ctx.identity.signer, now, { kind: 'x509', chain: ctx.identity.chain });
    title = contract.title;
  }
  const body: DescriptorBody = {
    descriptorId: ctx.random.id(18),
    nonce: req.nonce,
    origin: ctx.identity.origin,
    use: req.use,
    documentId: req.documentId,
    title,
    protocol: USE_PROTOCOL[req.use],
    shopper: { keyId: shopperKeyId },
    merchant: { keyId: merchantKeyId },
    ttp: { keyId: ctx.ttp.keyId, certificateChain: ctx.ttp.certificateChain, endpoint: ctx.ttp.url },
    shopperGives,
    merchantGives,
    ...(document ? { document } : {}),
    timing: ctx.timing,
    expiresAt: new Date(now + ctx.descriptorTtlMs).toISOString(),
    ...(ctx.terms ? { terms: ctx.terms } : {}),
  };
  const descriptor = await signStatement<DescriptorBody>(
    { type: EXCHANGE_DEAL_TYPES.descriptor, version: 1, dealId: req.dealId, issuedAt: new Date(now).toISOString(), body },
    ctx.identity.signer,
    { signerRef: { kind: 'x509', chain: ctx.identity.chain } },
  );
  return { descriptor, responder: { protocol: body.protocol, shopperKeyId, gives: merchantGives, item, expects: shopperGives } };
}

/** The same request again (a restarted worker re-sends it): true if it asks for exactly this descriptor. */
async function isRepeatedDescriptorRequest(descriptor: Statement<DescriptorBody>, request: unknown): Promise<boolean> {
  const req = parseBody(DescriptorRequest, request, 'exchange descriptor request');
  const b = descriptor.body;
  return (
    descriptor.dealId === req.dealId &&
    b.nonce === req.nonce &&
    b.use === req.use &&
    b.documentId === req.documentId &&
    b.shopper.keyId === (await jwkThumbprint(req.shopper.jwk))
  );
}

async function issueDescriptor(dealId: string, request: unknown, now: number, ctx: ExchangeMerchantContext): Promise<ExchangeMerchantStep> {
  const req = parseBody(DescriptorRequest, request, 'exchange descriptor request');
  if (req.dealId !== dealId) throw new SemperError('ERR_PROTOCOL_STATE', 'descriptor request is for another deal');
  const { descriptor, responder } = await makeExchangeDescriptor(req, now, ctx);
  const timeouts = timeoutsFrom(ctx.timing);
  const expiresAt = Date.parse(descriptor.body.expiresAt);
  const started = await startResponder(
    {
      protocol: responder.protocol,
      dealId,
      // What the descriptor agreed, which m1 must say exactly (exchange-deal.ts: what the shopper puts in m1).
      originator: { keyId: responder.shopperKeyId },
      responder: { keyId: ctx.identity.signer.keyId },
      ttp: { keyId: ctx.ttp.keyId },
      ...(descriptor.body.terms !== undefined ? { terms: descriptor.body.terms } : {}),
      // The shopper confirms by expiresAt and names a deadline (startOriginator's default) from then; one more margin for clock skew.
      latestDeadline: expiresAt + 4 * timeouts.peer + 3 * timeouts.ttpMargin,
      gives: responder.gives,
      item: responder.item,
      expects: responder.expects,
      now,
      // The shopper may confirm until the descriptor expires; m1 may take a few retries after that.
      waitUntil: now + ctx.descriptorTtlMs + (timeouts.peerRetries + 2) * timeouts.peer,
      timeouts,
    },
    responderContext(ctx),
  );
  return {
    state: { phase: 'responding', dealId, use: req.use, descriptor, responder: started.state },
    send: [{ to: 'shopper', body: { descriptor } }],
    effects: [],
  };
}

export async function stepExchangeMerchant(
  state: ExchangeMerchantState,
  event: ExchangeMerchantEvent,
  ctx: ExchangeMerchantContext,
): Promise<ExchangeMerchantStep> {
  if (event.type === 'descriptor-requested') {
    if (state.phase === 'new') return issueDescriptor(state.dealId, event.request, event.now, ctx);
    const stillOpen = state.responder.phase === 'awaiting-m1' && Date.parse(state.descriptor.body.expiresAt) > event.now;
    if (stillOpen && (await isRepeatedDescriptorRequest(state.descriptor, event.request)))
      return { state, send: [{ to: 'shopper', body: { descriptor: state.descriptor } }], effects: [] };
    throw new SemperError('ERR_REPLAY', `deal ${state.dealId} already has an exchange descriptor`);
  }
  if (state.phase === 'new') throw new SemperError('ERR_NOT_FOUND', `no exchange for deal ${state.dealId}`);
  const res = await stepExchange(state.responder, event, responderContext(ctx));
  const problems = res.effects.filter((e): e is ExchangeMerchantEffect => e.kind === 'rejected-message');
  if (event.type === 'message' && problems.length > 0 && res.state === state.responder && res.send.length === 0) {
    const { code, message } = problems[0]!.error;
    throw new SemperError(/^ERR_[A-Z_]+$/.test(code) ? (code as SemperError['code']) : 'ERR_INTERNAL', message);
  }
  const next: ExchangeMerchantState = res.state === state.responder ? state : { ...state, responder: res.state };
  const send: ExchangeMerchantOutbound[] = res.send.filter((o) => o.to === 'ttp').map((o) => ({ to: 'ttp', statement: o.statement }));
  // Only a shopper's message has a request to answer; a timer's retransmissions to the shopper have none
  // (the shopper re-sends, and a repeated message is answered with the reply again).
  if (event.type === 'message') send.unshift({ to: 'shopper', body: { replies: res.send.filter((o) => o.to === 'peer').map((o) => o.statement) } });
  return { state: next, send, effects: problems };
}

/** The merchant's exchange-deal role on the machine contract. */
export const exchangeMerchant: Machine<
  ExchangeMerchantState,
  ExchangeMerchantEvent,
  ExchangeMerchantContext,
  ExchangeMerchantOutbound,
  ExchangeMerchantEffect,
  { dealId: string }
> = {
  kind: 'exchange-merchant',
  start: async ({ dealId }) => ({ state: { phase: 'new', dealId }, send: [], effects: [] }),
  step: stepExchangeMerchant,
  pendingSends: (state) =>
    state.phase === 'responding' ? state.responder.outbox.filter((o) => o.to === 'ttp').map((o) => ({ to: 'ttp' as const, statement: o.statement })) : [],
  wakeAt: (state) => (state.phase === 'responding' ? state.responder.wakeAt : null),
  isTerminal: (state) => state.phase === 'responding' && responderTerminal(state.responder),
};
