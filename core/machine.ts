/**
 * The one contract every protocol role implements (the purchase's shopper and merchant, the
 * exchange deal's shopper and merchant, the fair exchange's originator and responder, the TTP):
 *
 *   start(params, ctx)        → { state, send, effects }   the first state (plain JSON)
 *   step(state, event, ctx)   → { state, send, effects }   one transition
 *   pendingSends(state)       → what must (still) be sent: after a restart the host re-sends it
 *   wakeAt(state)             → when the host must deliver a timeout event (epoch ms), or null
 *   isTerminal(state)         → the role has finished; no event moves it any more
 *
 * A step is a function of its inputs: it does no I/O, reads no clock and draws no random number
 * of its own. Time comes in events (`now`), randomness from `ctx.random` (one injectable source),
 * revocation status from a snapshot the host prepared before the step (core/pki/revocation.ts).
 * The same state, event and context give the same bytes (with deterministic signatures, e.g.
 * Ed25519: test/core/machine.test.ts). WebCrypto is asynchronous, so steps return promises.
 *
 * A step either returns the next state, or throws a SemperError naming why it refuses the event;
 * a refusal changes nothing (the host keeps the old state). Hosts (extension/worker/host.ts,
 * server/host/step.ts, the simulations in test/protocols) persist the state before anything in
 * `send` leaves or any effect is shown.
 */
import { encodeBase64url } from './encoding/base64url.js';

/** The single source of randomness a machine may use: fresh identifiers and nonces. */
export interface RandomSource {
  /** base64url of `bytes` fresh random bytes. */
  id(bytes: number): string;
}

/**
 * Bytes drawn from the CSPRNG a block at a time: each `getRandomValues` call costs several
 * microseconds of fixed overhead in Node (as much as a tenth of an ES256 signature), and a purchase
 * draws four ids. Node's own `randomBytes` pools the same way. Every byte is handed out once and
 * zeroed as it leaves the pool.
 */
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolUsed = POOL_BYTES;

function freshBytes(bytes: number): Uint8Array<ArrayBuffer> {
  if (bytes > POOL_BYTES / 8) return crypto.getRandomValues(new Uint8Array(bytes));
  if (poolUsed + bytes > POOL_BYTES) {
    crypto.getRandomValues(pool);
    poolUsed = 0;
  }
  const out = pool.slice(poolUsed, poolUsed + bytes);
  pool.fill(0, poolUsed, poolUsed + bytes);
  poolUsed += bytes;
  return out;
}

/** Randomness from the platform's CSPRNG (what hosts use). */
export const cryptoRandom: RandomSource = {
  id: (bytes) => encodeBase64url(freshBytes(bytes)),
};

/**
 * A deterministic source (SplitMix32 over a seed): simulations and the determinism tests use it so
 * that a run can be replayed exactly. Not for keys or anything an adversary must not predict.
 */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return {
    id(bytes) {
      const out = new Uint8Array(bytes);
      for (let i = 0; i < bytes; i += 4) {
        const v = next();
        for (let j = 0; j < 4 && i + j < bytes; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
      return encodeBase64url(out);
    },
  };
}

/** What a start or a step returns. */
export interface StepResult<S, O, E> {
  state: S;
  /** Messages for the host to send, after it has persisted `state`. */
  send: O[];
  /** What the host must do or show besides sending (archive a statement, open a window, settle a request). */
  effects: E[];
}

/**
 * A protocol role. `S` its plain-JSON state, `V` the events it takes, `C` its context (keys, trust
 * anchors, `random`), `O` what it sends, `E` its effects, `P` what it is started with.
 */
export interface Machine<S, V, C, O, E, P> {
  /** The role's name, e.g. 'purchase-shopper' (hosts register machines by it). */
  readonly kind: string;
  start(params: P, ctx: C): Promise<StepResult<S, O, E>>;
  step(state: S, event: V, ctx: C): Promise<StepResult<S, O, E>>;
  pendingSends(state: S): O[];
  wakeAt(state: S): number | null;
  isTerminal(state: S): boolean;
}

/** Any machine, for hosts that run several kinds side by side. */
// biome-ignore lint/suspicious/noExplicitAny: a host's registry holds machines of every type; each registration is typed.
export type AnyMachine = Machine<any, any, any, any, any, any>;

/**
 * What a host's transport brought back for something a machine sent (HTTP so far). Machines that
 * talk over request/response take it as an event and decide themselves whether it still matters.
 */
export type TransportReply =
  | { kind: 'response'; body: unknown }
  /** `status` is absent when nothing came back (network, timeout). */
  | { kind: 'error'; error: { code: string; message: string }; status?: number };
