/**
 * The exchange manager's negotiation (paper §3.4): from the exchange-enabling properties of the
 * two transfers, pick a generic protocol that makes the exchange fair, or refuse before anything
 * is sent (ERR_EXCHANGE_UNFAIR).
 *
 *   both generatable                   → contract-signing (ASW: abort/resolve; no deadline)
 *   one generatable, other verifiable  → generatable-verifiable (paper Figure 4); the
 *                                        generatable side is the originator
 *   both revocable, windows ≥ deadline → revocable-revocable
 */
import { SemperError } from '../errors.js';
import type { ExchangeProperties } from '../items/properties.js';
import { transferProperties, type Transfer } from '../transfer/index.js';
import { PROTOCOLS, type ProtocolId } from './types.js';

export interface NegotiationInput {
  /** The party that asks for the exchange and its transfer. */
  a: Transfer;
  /** The peer and its transfer. */
  b: Transfer;
  /** Protocols both sides implement / accept (default: all). */
  allowed?: readonly ProtocolId[];
  /** The exchange deadline (epoch ms): revocable transfers must stay revocable until then. */
  deadline?: number;
}

export interface Negotiated {
  protocol: ProtocolId;
  /** Which side sends m1. In generatable↔verifiable it is the side whose item is generatable. */
  originator: 'a' | 'b';
  /** Why this protocol is fair here: for logs and the trusted window. */
  reason: string;
}

function show(p: ExchangeProperties): string {
  const names = (['verifiable', 'generatable', 'revocable'] as const).filter((k) => p[k]);
  return names.length ? names.join('+') : 'no exchange-enabling property';
}

function revocableUntilDeadline(p: ExchangeProperties, deadline: number | undefined): boolean {
  return p.revocable && (deadline === undefined || p.revocableUntil === undefined || p.revocableUntil >= deadline);
}

/** Why `protocol` cannot make originator→responder fair, or null if it can. */
export function unfairness(protocol: ProtocolId, originator: Transfer, responder: Transfer, deadline?: number): string | null {
  const o = transferProperties(originator);
  const r = transferProperties(responder);
  switch (protocol) {
    case 'contract-signing':
      if (!o.generatable || !r.generatable) return `contract signing needs both items generatable (originator: ${show(o)}; responder: ${show(r)})`;
      return null;
    case 'generatable-verifiable':
      if (!o.generatable) return `generatable↔verifiable needs the originator's item generatable (it is ${show(o)})`;
      if (!r.verifiable) return `generatable↔verifiable needs the responder's item externally verifiable (it is ${show(r)})`;
      return null;
    case 'revocable-revocable':
      if (!o.revocable || !r.revocable) return `revocable↔revocable needs both items revocable (originator: ${show(o)}; responder: ${show(r)})`;
      if (!revocableUntilDeadline(o, deadline) || !revocableUntilDeadline(r, deadline))
        return 'revocable↔revocable: an item stops being revocable before the exchange deadline';
      return null;
  }
}

/** Throw ERR_EXCHANGE_UNFAIR unless `protocol` makes this exchange fair. */
export function assertFair(protocol: ProtocolId, originator: Transfer, responder: Transfer, deadline?: number): void {
  const why = unfairness(protocol, originator, responder, deadline);
  if (why) throw new SemperError('ERR_EXCHANGE_UNFAIR', `fair exchange (paper §3.4): ${why}`, { protocol });
}

export function negotiateExchange(input: NegotiationInput): Negotiated {
  const allowed = input.allowed ?? PROTOCOLS;
  const pa = transferProperties(input.a);
  const pb = transferProperties(input.b);
  const can = (p: ProtocolId, o: Transfer, r: Transfer) => allowed.includes(p) && unfairness(p, o, r, input.deadline) === null;
  if (can('contract-signing', input.a, input.b)) {
    return { protocol: 'contract-signing', originator: 'a', reason: 'both items are generatable: the TTP can resolve by replacing either' };
  }
  if (can('generatable-verifiable', input.a, input.b)) {
    return { protocol: 'generatable-verifiable', originator: 'a', reason: "a's item is generatable, b's externally verifiable" };
  }
  if (can('generatable-verifiable', input.b, input.a)) {
    return { protocol: 'generatable-verifiable', originator: 'b', reason: "b's item is generatable, a's externally verifiable" };
  }
  if (can('revocable-revocable', input.a, input.b)) {
    return { protocol: 'revocable-revocable', originator: 'a', reason: 'both transfers are revocable until the deadline' };
  }
  throw new SemperError(
    'ERR_EXCHANGE_UNFAIR',
    `fair exchange (paper §3.4): no generic protocol makes this exchange fair: a gives ${input.a.gives.kind} (${show(pa)}), b gives ${input.b.gives.kind} (${show(pb)}); ` +
      'needed: generatable↔generatable, generatable↔verifiable, or revocable↔revocable (within the deadline)' +
      (allowed.length < PROTOCOLS.length ? ` among the allowed protocols ${allowed.join(', ')}` : ''),
    { a: pa, b: pb },
  );
}
