/**
 * The one simulated network the protocol simulations run on (the exchange: harness.ts; the
 * purchase: purchase-harness.ts): an in-memory set of messages in flight, a scheduler that is
 * either FIFO or steered by a list of choices (fast-check generates them), a fault budget
 * (drops, duplicates, injections, crashes), a crash plan ("crash node N while it processes its
 * k-th event, before it persisted the new state / after persisting but before sending"), a clock
 * that moves only when the scheduler fires the earliest timer, and a trace.
 *
 * Nodes keep their state as JSON text (`Persisted`): every step's state is checked to be plain
 * JSON, written as text and parsed back before the next step, so a crash is "lose what was not
 * persisted, restart from the JSON".
 *
 * Network model (each simulation says which messages are which):
 *   - droppable messages may be dropped, duplicated, delayed and reordered arbitrarily (the
 *     simulation may turn a drop into something the sender's host observes: a failed request);
 *   - bounded messages (`deliverBy`) may be duplicated, delayed and reordered, but arrive by
 *     their bound: time cannot advance past an undelivered bounded message's bound.
 * What the simulation adds (its parties, their timers, cheats, the user) comes in through a
 * `Driver`; `runSchedule` is the one scheduling loop.
 */
import fc from 'fast-check';

export type CrashMode = 'before-persist' | 'before-send';

export interface CrashSpec<N extends string = string> {
  node: N;
  /** crash while processing this node's n-th event (1-based) */
  atStep: number;
  mode: CrashMode;
}

export interface Budget {
  drops: number;
  duplicates: number;
  injections: number;
  crashes: number;
}

export const DEFAULT_BUDGET: Budget = { drops: 3, duplicates: 3, injections: 3, crashes: 1 };

export interface Wire<N extends string = string> {
  id: number;
  from: N;
  to: N;
  /** The payload as it crosses the wire: JSON text. */
  json: string;
  sentAt: number;
  /** Bounded channel: must be delivered by this time; null = no bound. */
  deliverBy: number | null;
  /** The network may lose it. */
  droppable: boolean;
  /** For the trace. */
  label: string;
}

/** Throws if `value` is not plain JSON (no undefined, functions, class instances, non-finite numbers). */
export function assertPlainJson(value: unknown, path = '$'): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path}: non-finite number`);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertPlainJson(v, `${path}[${i}]`);
    return;
  }
  if (typeof value === 'object') {
    if (Object.getPrototypeOf(value) !== Object.prototype) throw new Error(`${path}: not a plain object`);
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) throw new Error(`${path}.${k}: undefined`);
      assertPlainJson(v, `${path}.${k}`);
    }
    return;
  }
  throw new Error(`${path}: ${typeof value} is not JSON`);
}

/** A node's durable state: JSON text, as a database row or IndexedDB record would hold it. */
export class Persisted<S> {
  private text: string | null = null;
  constructor(initial?: S) {
    if (initial !== undefined) this.save(initial);
  }
  /** Persist a state (it must be plain JSON). */
  save(state: S): void {
    assertPlainJson(state);
    this.text = JSON.stringify(state);
  }
  /** A fresh copy of what was persisted (parsed from the text: nothing else survives a crash). */
  load(): S {
    if (this.text === null) throw new Error('nothing persisted');
    return JSON.parse(this.text) as S;
  }
  get exists(): boolean {
    return this.text !== null;
  }
}

export class SimNet<N extends string> {
  now: number;
  readonly t0: number;
  pending: Wire<N>[] = [];
  readonly trace: string[] = [];
  /** events processed per node (for enumerating crash points) */
  readonly steps: Record<N, number>;
  readonly budget: Budget;
  /** The armed crash (given, or chosen by the random scheduler); fires once. */
  crash: CrashSpec<N> | undefined;
  private crashed = false;
  readonly choices: readonly number[] | undefined;
  private choiceIndex = 0;
  private nextId = 1;

  constructor(opts: {
    t0: number;
    nodes: readonly N[];
    choices?: readonly number[] | undefined;
    crash?: CrashSpec<N> | undefined;
    budget?: Partial<Budget> | undefined;
  }) {
    this.t0 = opts.t0;
    this.now = opts.t0;
    this.steps = Object.fromEntries(opts.nodes.map((n) => [n, 0])) as Record<N, number>;
    this.budget = { ...DEFAULT_BUDGET, ...opts.budget };
    this.crash = opts.crash;
    this.choices = opts.choices;
  }

  log(line: string): void {
    this.trace.push(`${this.now - this.t0} ${line}`);
  }

  /** Put a message in flight. */
  send(from: N, to: N, payload: unknown, opts: { droppable: boolean; deliverBy?: number | null; label: string }): Wire<N> {
    const w: Wire<N> = {
      id: this.nextId++,
      from,
      to,
      json: JSON.stringify(payload),
      sentAt: this.now,
      deliverBy: opts.deliverBy ?? null,
      droppable: opts.droppable,
      label: opts.label,
    };
    this.pending.push(w);
    return w;
  }

  /** Take a message out of flight (it is being delivered or dropped). */
  take(w: Wire<N>): void {
    this.pending = this.pending.filter((x) => x.id !== w.id);
  }

  duplicate(w: Wire<N>): void {
    this.pending.push({ ...w, id: this.nextId++ });
  }

  /** Count one event of `node`; returns the crash to apply to this step, if the plan says so. */
  step(node: N): CrashSpec<N> | null {
    this.steps[node]++;
    if (this.crashed || !this.crash || this.crash.node !== node || this.crash.atStep !== this.steps[node]) return null;
    this.crashed = true;
    return this.crash;
  }

  /** Arm a crash at `node`'s next event (the random scheduler's move). */
  armCrash(node: N, mode: CrashMode): void {
    this.crash = { node, atStep: this.steps[node] + 1, mode };
  }

  /** The next scheduler choice, or undefined when the list ran out (then the scheduler goes FIFO). A negative choice lets FIFO take that one step. */
  nextChoice(): number | undefined {
    if (!this.choices || this.choiceIndex >= this.choices.length) return undefined;
    return this.choices[this.choiceIndex++];
  }
}

/** What a simulation plugs into the scheduling loop. `X` are its own moves (cheats, the user). */
export interface Driver<N extends string, X> {
  /** A message arrives at its destination (already taken out of flight). */
  deliver(w: Wire<N>): Promise<void>;
  /** The earliest time any node wants a timeout (epoch ms), or null. */
  nextTimer(): number | null;
  /** `net.now` reached a timer: deliver the due timeouts. */
  fireTimers(): Promise<void>;
  /** Nodes the random scheduler may crash now. */
  crashable(): N[];
  /** The simulation's own moves available now (they mind their own budgets). */
  moves(): X[];
  perform(move: X): Promise<void>;
  /** Does this move make progress (so the run is not over while it is available)? Default: no. */
  isProgress?(move: X): boolean;
  /** The FIFO scheduler's move when nothing is in flight, before it advances the clock. */
  fifoMove?(): X | null;
  /** A droppable message was lost (e.g. a request whose sender now sees a failure). */
  dropped?(w: Wire<N>): void;
}

type Action<N extends string, X> =
  | { kind: 'deliver'; wire: Wire<N> }
  | { kind: 'drop'; wire: Wire<N> }
  | { kind: 'duplicate'; wire: Wire<N> }
  | { kind: 'advance' }
  | { kind: 'move'; move: X }
  | { kind: 'crash'; node: N; mode: CrashMode };

/**
 * Run the scheduler until nothing can make progress or `maxSteps` actions were taken. Overdue
 * bounded messages are delivered first; otherwise the choices pick among every possible action
 * (deliver, drop, duplicate each message; advance the clock; the driver's moves; arm a crash);
 * without choices (or for a negative choice), FIFO: the oldest message, else the driver's FIFO
 * move, else the clock.
 */
export async function runSchedule<N extends string, X>(net: SimNet<N>, driver: Driver<N, X>, maxSteps: number): Promise<void> {
  const timer = (): number | null => {
    const t = driver.nextTimer();
    return t === null ? null : Math.max(net.now, t);
  };
  const canAdvance = (): boolean => {
    const t = timer();
    if (t === null) return false;
    return !net.pending.some((w) => w.deliverBy !== null && w.deliverBy < t);
  };
  for (let stepCount = 0; stepCount < maxSteps; stepCount++) {
    const overdue = net.pending.filter((w) => w.deliverBy !== null && w.deliverBy <= net.now);
    const actions: Action<N, X>[] = [];
    for (const w of net.pending) {
      actions.push({ kind: 'deliver', wire: w });
      if (w.droppable && net.budget.drops > 0) actions.push({ kind: 'drop', wire: w });
      if (net.budget.duplicates > 0) actions.push({ kind: 'duplicate', wire: w });
    }
    if (canAdvance()) actions.push({ kind: 'advance' });
    const moves = driver.moves();
    actions.push(...moves.map((move) => ({ kind: 'move' as const, move })));
    if (net.choices && net.budget.crashes > 0 && !net.crash) {
      for (const node of driver.crashable()) actions.push({ kind: 'crash', node, mode: 'before-persist' }, { kind: 'crash', node, mode: 'before-send' });
    }
    const progress = actions.filter((a) => a.kind === 'deliver' || a.kind === 'advance' || (a.kind === 'move' && driver.isProgress?.(a.move)));
    if (progress.length === 0) break;
    let action: Action<N, X>;
    const choice = overdue.length > 0 ? undefined : net.nextChoice();
    if (overdue.length > 0) {
      action = { kind: 'deliver', wire: overdue[0]! };
    } else if (choice !== undefined && choice >= 0) {
      action = actions[choice % actions.length]!;
    } else {
      const fifo = net.pending.length ? null : (driver.fifoMove?.() ?? null);
      action = net.pending.length ? { kind: 'deliver', wire: net.pending[0]! } : fifo ? { kind: 'move', move: fifo } : { kind: 'advance' };
      if (action.kind === 'advance' && !canAdvance()) break;
    }
    switch (action.kind) {
      case 'deliver':
        net.take(action.wire);
        await driver.deliver(action.wire);
        break;
      case 'drop':
        net.budget.drops--;
        net.take(action.wire);
        net.log(`net drops ${action.wire.from}→${action.wire.to} ${action.wire.label}`);
        driver.dropped?.(action.wire);
        break;
      case 'duplicate':
        net.budget.duplicates--;
        net.duplicate(action.wire);
        break;
      case 'advance': {
        const t = timer();
        if (t === null) break;
        net.now = t;
        await driver.fireTimers();
        break;
      }
      case 'move':
        await driver.perform(action.move);
        break;
      case 'crash':
        net.budget.crashes--;
        net.armCrash(action.node, action.mode);
        break;
    }
  }
}

/**
 * Scheduler choices for fast-check: two steps in three left to FIFO (-1), the rest a free pick
 * among every possible action, up to `maxLength` steps. (fast-check's default size would cap the
 * arrays at 10 choices whatever maxLength says; 'medium' lets them reach it.) Runs then follow
 * the protocol far enough for faults to hit its later messages, instead of derailing early.
 */
export function scheduleChoices(maxLength = 40): fc.Arbitrary<number[]> {
  const step = fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 10_000 }) });
  return fc.array(step, { maxLength, size: 'medium' });
}
