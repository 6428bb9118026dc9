/**
 * How a kind of deal is registered with the merchant kit (kit.ts): its core machine, how its
 * stored state is read back, its context, its routes, its timer event, and what the kit does
 * after a step besides answering the shopper. A new kind of deal is a core machine and one of
 * these (purchases.ts, exchanges.ts), plus one line in kit.ts.
 */
import type { StatementStamps } from '../storage/statement-stamps.js';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { MerchantIdentity } from '../../core/commerce/merchant.js';
import type { Machine, RandomSource } from '../../core/machine.js';
import type { RevocationCheck } from '../../core/pki/certificates.js';
import { readJson } from '../http/json.js';
import type { HostStep, TimedEvent } from '../host/step.js';
import type { DealKind } from './deals.js';

/** A POST route of a kind of deal: which deal the request is about, and the event it is. */
export interface DealRoute<V> {
  path: string;
  read(c: Context, now: number): Promise<{ dealId: string; event: V }>;
}

export function jsonRoute<B, V>(
  path: string,
  schema: z.core.$ZodType<B>,
  what: string,
  toEvent: (body: B, now: number) => { dealId: string; event: V },
): DealRoute<V> {
  return { path, read: async (c, now) => toEvent(await readJson(c, schema, what), now) };
}

/** Runs one event for a deal of this kind, and whatever it leads to (followUp); resolves with the step. */
export type RunStep<S, V, O, E> = (dealId: string, event: V | ((state: S) => V | null)) => Promise<HostStep<S, O, E>>;

/**
 * One kind of deal as the kit hosts it: its core machine, how its stored state is read back, its
 * context, its routes, its timer event, what happens after a step besides answering the shopper.
 * A new kind of deal is a core machine and one of these.
 */
export interface DealKindRegistration<S extends { phase: string }, V extends TimedEvent, C, O extends { to: string }, E> {
  kind: DealKind;
  machine: Machine<S, V, C, O, E, { dealId: string }>;
  decode(dealId: string, value: unknown): S;
  context(): C;
  /** The roots its steps validate chains against (revocation is prepared for them); none: no revocation. */
  revocationRoots?: readonly string[];
  haltAfter?(before: S, after: S, event: V): boolean;
  maxBodyBytes: number;
  routes: DealRoute<V>[];
  /** The event a due timer delivers (kinds whose machine has a `wakeAt`). */
  timeout?(now: number): V;
  /** After every step: sends to others than the shopper, effects. */
  followUp?(dealId: string, step: HostStep<S, O, E>, run: RunStep<S, V, O, E>): void;
}

/** What the kit gives every registration: its identity, randomness, revocation check, clock, log. */
export interface KitEnv {
  identity: MerchantIdentity;
  random: RandomSource;
  isRevoked: RevocationCheck | undefined;
  now: () => number;
  log: (what: string, e: unknown) => void;
  /** Keep track of work no request waits for (the kit's stop() waits for it). */
  track(p: Promise<unknown>): void;
  /** Time stamps over the statements the kit accepts (orders): requested after the step, off the answer's path. */
  stamps?: StatementStamps;
}
