/**
 * An in-memory TTP host over `ttpMachine` (core/exchange/ttp.ts), doing what server/ttp does with
 * SQLite: one stored state per exchange (as JSON text, the way a row holds it), keyed by
 * `ttpRequestKey(request)`; an undecided exchange starts from `ttpMachine.start` and is never
 * stored; a decided state is stored only if the exchange has none yet (compare-and-set on
 * "absent"); a host that lost that race steps again on the winner's state and answers with it.
 *
 * `forgetful` is a deliberately broken TTP (for the harness's broken variants): it keeps no
 * records, so every request is decided afresh.
 */
import { ttpMachine, ttpRequestKey, type TtpContext, type TtpRecord, type TtpState } from '../../core/exchange/index.js';
import type { Statement } from '../../core/statements/index.js';

export interface TtpAnswer {
  /** The exchange's one signed answer. */
  answer: Statement;
  /** This request made the decision (and its state was stored). */
  decided: boolean;
  record: TtpRecord;
}

export interface MemoryTtp {
  /** One request through the machine; throws the step's SemperError (nothing stored) when it refuses. */
  request(request: unknown, ctx: TtpContext, now: number): Promise<TtpAnswer>;
  /** Step a request on a given state without storing anything (to stage races). */
  step(state: TtpState, request: unknown, ctx: TtpContext, now: number): Promise<{ state: TtpState; answer: Statement; decided: boolean }>;
  /** Store `state` only if the exchange has no stored state; false if one was there. */
  insertIfAbsent(state: TtpState): boolean;
  /** The stored state of an exchange, or the machine's start state if none is stored. */
  load(exchangeId: string, ctx: TtpContext): Promise<TtpState>;
  /** The stored decision of an exchange, or null. */
  get(exchangeId: string): TtpRecord | null;
  size(): number;
}

export function memoryTtp(options: { forgetful?: boolean } = {}): MemoryTtp {
  const rows = new Map<string, string>();
  const stored = (exchangeId: string): TtpState | null => {
    if (options.forgetful) return null;
    const j = rows.get(exchangeId);
    return j ? (JSON.parse(j) as TtpState) : null;
  };
  const host: MemoryTtp = {
    async step(state, request, ctx, now) {
      const res = await ttpMachine.step(state, { type: 'request', request, now }, ctx);
      const out = res.send[0];
      if (!out) throw new Error('the TTP machine answered nothing');
      return { state: res.state, answer: out.answer, decided: out.decided };
    },
    insertIfAbsent(state) {
      if (!options.forgetful && rows.has(state.exchangeId)) return false;
      rows.set(state.exchangeId, JSON.stringify(state));
      return true;
    },
    async load(exchangeId, ctx) {
      return stored(exchangeId) ?? (await ttpMachine.start({ exchangeId }, ctx)).state;
    },
    async request(request, ctx, now) {
      const exchangeId = ttpRequestKey(request);
      const state = await host.load(exchangeId, ctx);
      const res = await host.step(state, request, ctx, now);
      if (res.decided) {
        if (!host.insertIfAbsent(res.state)) {
          // Lost the race: the winner's decision is the answer.
          const winner = stored(exchangeId)!;
          const again = await host.step(winner, request, ctx, now);
          return { answer: again.answer, decided: false, record: winner.record! };
        }
      }
      return { answer: res.answer, decided: res.decided, record: res.state.record! };
    },
    get: (exchangeId) => {
      // What is stored (a forgetful TTP writes its decisions too; it just never reads them back).
      const j = rows.get(exchangeId);
      return j ? ((JSON.parse(j) as TtpState).record ?? null) : null;
    },
    size: () => rows.size,
  };
  return host;
}
