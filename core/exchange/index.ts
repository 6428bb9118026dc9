/**
 * Generic optimistic fair exchange (paper §3.4): negotiation, the protocol roles as sans-IO
 * state machines, and the TTP's decision logic. See parties.ts and ttp.ts for the protocols.
 */
export * from './types.js';
export * from './messages.js';
export * from './negotiate.js';
export * from './parties.js';
export * from './ttp.js';
export * from './evidence.js';
export * from './quorum.js';
export { commitTo, exchangeIdOf } from './common.js';
