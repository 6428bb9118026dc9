/**
 * The one host step of the server parties: how the merchant kit (purchases, exchange deals) and
 * the TTP run a machine of the one contract (core/machine.ts) on one event for one key.
 *
 *   lock the key (in this process)                 KeyedLock: one step per key at a time
 *   read the key's stored state, or machine.start  a key nobody has seen starts fresh (not stored)
 *   prepare revocation status for the event        the step itself must not fetch (core/pki/revocation.ts)
 *   step                                           a refusal throws, and nothing is written
 *   compare-and-set the new state                  put(key, version read | null, state)
 *   lost the race (another process wrote first)?   read again and step again, at most 3 times
 *
 * Only after the write does the caller get the result, so nothing a step sends leaves before its
 * state is stored ("persist before send"). A step that hands back the very same state object
 * (a repeated request answered from the state) writes nothing.
 *
 * `halted` is a host-level stop for test faults ("the merchant crashed after m1"): a halted key
 * takes no more events, and `haltAfter` decides which step halts it.
 */
import { SemperError } from '../../core/errors.js';
import type { Machine, StepResult } from '../../core/machine.js';
import { certificateChainsIn, type RevocationSource } from '../../core/pki/revocation.js';
import { KeyedLock } from './keyed-lock.js';

export interface StoredState<S> {
  state: S;
  /** The compare-and-set token: `put` replaces this state only if it is still at this version. */
  version: number;
  /** Stopped by a test fault: the key takes no more events. */
  halted?: boolean;
}

/** Where a host keeps one kind of machine state per key. */
export interface StateStore<S> {
  get(key: string): Promise<StoredState<S> | undefined>;
  /**
   * Write `state` iff the key is still at `expectedVersion` (null: only if it has no state yet).
   * False (and nothing written) if another writer came first. `halt` marks the key halted.
   */
  put(key: string, expectedVersion: number | null, state: S, options?: { halt?: boolean }): Promise<boolean>;
}

/** Every event of the server machines carries the host's clock. */
export interface TimedEvent {
  now: number;
}

/** One kind of machine as a host runs it. */
export interface HostedMachine<S, V extends TimedEvent, C, O, E, P> {
  machine: Machine<S, V, C, O, E, P>;
  store: StateStore<S>;
  /** What `machine.start` is given for a key that has no state yet. */
  startParams(key: string): P;
  /** The step's context, built for every step (so a switched test fault counts at once). */
  context(): C;
  /** Revocation status the step's `ctx` reads: prepared here, before the step, for the chains in the event. */
  revocation?: { source: RevocationSource; roots: readonly string[] };
  /** Halt the key after this step (test faults). */
  haltAfter?(before: S, after: S, event: V): boolean;
}

export type HostStep<S, O, E> =
  /** The step ran and its state is stored: send `send`, act on `effects`. */
  | ({ kind: 'stepped' } & StepResult<S, O, E>)
  /** The key is halted (maybe by this very step): nothing leaves. */
  | { kind: 'halted' }
  /** The event builder found nothing to do in the current state (e.g. a timer no longer due). */
  | { kind: 'idle' };

/** Only another process on the same database can make a compare-and-set fail; a few re-reads settle it. */
const ATTEMPTS = 3;

export class MachineHost<S, V extends TimedEvent, C, O, E, P> {
  /** `locks` may be shared by hosts whose keys name the same thing (the merchant's deal ids). */
  constructor(
    private readonly hosted: HostedMachine<S, V, C, O, E, P>,
    private readonly locks: KeyedLock = new KeyedLock(),
  ) {}

  get kind(): string {
    return this.hosted.machine.kind;
  }

  /**
   * Run one event for `key`. `event` may be built from the current state (a timer checks that it
   * is still due), or null for nothing to do. Throws the step's SemperError on a refusal.
   */
  step(key: string, event: V | ((state: S) => V | null)): Promise<HostStep<S, O, E>> {
    const { machine, store, revocation } = this.hosted;
    return this.locks.run(key, async () => {
      let prepared = false;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const stored = await store.get(key);
        if (stored?.halted) return { kind: 'halted' };
        // A fresh key's start state is only the step's input: the server roles start with nothing to send.
        const current = stored ? stored.state : (await machine.start(this.hosted.startParams(key), this.hosted.context())).state;
        const e = typeof event === 'function' ? (event as (state: S) => V | null)(current) : event;
        if (e === null) return { kind: 'idle' };
        if (revocation && !prepared) {
          await revocation.source.prepare(certificateChainsIn(e), revocation.roots, e.now);
          prepared = true;
        }
        const result = await machine.step(current, e, this.hosted.context());
        const halt = this.hosted.haltAfter?.(current, result.state, e) ?? false;
        if (result.state !== current || halt) {
          if (!(await store.put(key, stored ? stored.version : null, result.state, halt ? { halt } : undefined))) continue;
        }
        return halt ? { kind: 'halted' } : { kind: 'stepped', ...result };
      }
      throw new SemperError('ERR_INTERNAL', `${machine.kind} ${key} kept changing under a concurrent writer`);
    });
  }
}
