/**
 * How the merchant kit asks its TTP: POST /ttp/requests at the URL the merchant is configured with
 * (never one a message names), bounded in time, no redirects. The TTP's answer (or refusal) becomes
 * the deal's next event; an unreachable TTP gives none (the deal's timer asks again).
 */
import { errorToJson } from '../../core/errors.js';
import type { Statement } from '../../core/statements/index.js';
import type { HostStep } from '../host/step.js';

const TTP_TIMEOUT_MS = 10_000;

export type TtpAnswerEvent =
  | { type: 'message'; message: unknown; now: number; from: 'ttp' }
  | { type: 'ttp-error'; error: { code: string; message: string }; now: number };

/**
 * The kit's follow-up for a kind of deal that runs through the fair exchange: log the messages its
 * machine refused, and hand every request to the TTP to the TTP — its answer is the deal's next
 * event; no shopper request waits for it.
 */
export function ttpFollowUp<S, V, O extends { to: string }>(
  noun: string,
  env: { log(what: string, e: unknown): void; track(p: Promise<unknown>): void },
  /** `ttp`: k-of-n, the key id of the TTP of the set the request is for (absent: the one TTP). */
  askTtp: (what: string, request: Statement, ttp?: string) => Promise<TtpAnswerEvent | null>,
) {
  return (dealId: string, step: HostStep<S, O, { error: unknown }>, run: (dealId: string, event: V) => Promise<unknown>): void => {
    if (step.kind !== 'stepped') return;
    for (const effect of step.effects) env.log(`${noun} ${dealId}`, effect.error);
    for (const o of step.send) {
      if (o.to !== 'ttp') continue;
      const out = o as unknown as { statement: Statement; ttp?: string };
      env.track(
        Promise.resolve()
          .then(() => askTtp(`${noun} ${dealId}`, out.statement, out.ttp))
          .then((event) => event && run(dealId, event as V))
          .catch((e: unknown) => env.log(`TTP request of ${noun} ${dealId}`, e)),
      );
    }
  };
}

export function ttpClient(options: { url: string; fetch?: typeof fetch; now(): number; log(what: string, e: unknown): void }) {
  const doFetch = options.fetch ?? fetch;
  return async (what: string, request: Statement): Promise<TtpAnswerEvent | null> => {
    try {
      const response = await doFetch(new URL('/ttp/requests', options.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ request }),
        redirect: 'error',
        signal: AbortSignal.timeout(TTP_TIMEOUT_MS),
      });
      const body = (await response.json()) as { answer?: unknown; error?: { code?: unknown; message?: unknown } };
      if (response.ok && body.answer) return { type: 'message', message: body.answer, now: options.now(), from: 'ttp' };
      return {
        type: 'ttp-error',
        error: { code: String(body.error?.code ?? 'ERR_TTP'), message: String(body.error?.message ?? `TTP answered HTTP ${response.status}`) },
        now: options.now(),
      };
    } catch (e) {
      options.log(`TTP unreachable for ${what}`, errorToJson(e));
      return null;
    }
  };
}
