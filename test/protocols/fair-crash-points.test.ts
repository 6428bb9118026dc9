/**
 * Exhaustive crash points of a fair purchase (core/commerce/fair-purchase*.ts) with the real bank
 * (test/core/payment/helpers.ts) and the TTP in-process (as in fair-fixtures.ts). Hosts do what
 * the real ones do:
 *   S  the shopper's worker: persists the state (JSON) before anything leaves, sends the machine's
 *      requests in order and feeds every answer back as an event; the user confirms while the offer
 *      is shown (again after a restart that reopens the window); its alarm delivers `timeout` at
 *      `wakeAt`. After a crash it restarts from the persisted JSON and re-sends `pendingSends` —
 *      what was in flight is lost with the worker, and a `pay` may be sent again.
 *   P  the payment service: idempotent by deal reference — a repeated request for a reference it
 *      has paid returns the same money item and moves no money again (cash withdrawn and deposited
 *      for the payee, or an account transfer, at the real bank).
 *   M  the merchant kit: one persisted state per deal; a refusal is an error answer that changes
 *      nothing; its timers deliver `timeout`, its TTP requests are answered by the TTP. A crash
 *      breaks the connection (the shopper's request fails) and, after persisting, loses only the
 *      answer; on restart the kit re-sends its pending TTP requests.
 * One crash of S or M at its k-th step, before the new state was persisted or after persisting but
 * before sending. At every crash point the run must end with the shopper holding the goods the
 * offer committed to (completed or resolved, the merchant paid exactly once) or with no money
 * moved at all; the shopper terminates; the bank's invariants (money conserved) hold.
 *
 * What this cannot promise (and does not test): a worker that paid and then stays away until the
 * exchange is final (m1's deadline + the TTP margin) finds the merchant's abort token at the TTP —
 * the responder's guarantee is a complaint before then. A worker that had *not* paid yet is safe:
 * on restart its due timeout ends the deal before `pay` is sent again (as extension/worker/host.ts
 * delivers due timeouts before re-sending).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FairMerchantEvent,
  type FairMerchantOutbound,
  type FairMerchantState,
  type FairMethod,
  type FairShopperEvent,
  type FairShopperOutbound,
  type FairShopperState,
  fairPurchaseMerchant,
  fairPurchaseShopper,
  type PaymentRequest,
  prepareFairOffer,
} from '../../core/commerce/index.js';
import { decodeBase64url } from '../../core/encoding/index.js';
import { EXCHANGE_TYPES } from '../../core/exchange/messages.js';
import type { Item } from '../../core/items/schema.js';
import type { TransportReply } from '../../core/machine.js';
import type { Statement } from '../../core/statements/index.js';
import { FairRun, type FairWorld, makeFairWorld, payAtBank, PRICE, SONG } from '../core/commerce/fair-fixtures.js';
import { type Customer, customer } from '../core/payment/helpers.js';
import { Persisted, type CrashMode } from './sim.js';

type Node = 'S' | 'M';

interface Options {
  method: FairMethod;
  /** The merchant's m3 never reaches the shopper (the TTP must reveal the key). */
  withholdKey?: boolean;
  /** The payment service refuses: nothing is paid. */
  payFails?: boolean;
  crash?: { node: Node; atStep: number; mode: CrashMode };
  /** The payment service answers the `pay` send as a transport reply (the extension's path) instead of a `paid` event. */
  payByReply?: boolean;
  /** The shopper's worker comes back this long after its crash (the clock jumps before it restarts). */
  restartAfterMs?: number;
}

interface Result {
  shopper: FairShopperState | null;
  merchant: FairMerchantState | null;
  steps: Record<Node, number>;
  /** Money that reached the merchant's account in this run (minor units). */
  merchantGot: number;
  /** Money that left the shopper's account in this run. */
  shopperPaid: number;
  /** How often the payment service moved money (not counting repeats it answered from its record). */
  payments: number;
  payRequests: number;
  crashed: boolean;
  trace: string[];
}

let w: FairWorld;
beforeAll(async () => {
  w = await makeFairWorld();
});
afterAll(async () => {
  // Money is conserved over every run of the file, then the bank is closed.
  try {
    await w.bank.bank.checkInvariants();
  } finally {
    w.close();
  }
});

class CrashNow extends Error {}

async function simulate(o: Options): Promise<Result> {
  const payer: Customer = await customer(w.bank.bank, 1_000);
  const ttp = new FairRun(w);
  const merchantBefore = await w.bank.bank.balance(w.merchantAccount.account);
  const trace: string[] = [];
  const steps: Record<Node, number> = { S: 0, M: 0 };
  let crashed = false;
  const paidByReference = new Map<string, Item>();
  let payments = 0;
  let payRequests = 0;

  /** Whether this node's step is the one that crashes, and how. */
  const crashHere = (node: Node): CrashMode | null => {
    steps[node]++;
    if (crashed || !o.crash || o.crash.node !== node || o.crash.atStep !== steps[node]) return null;
    crashed = true;
    trace.push(`CRASH ${node}#${steps[node]} ${o.crash.mode}`);
    return o.crash.mode;
  };

  // ---- S: the shopper's worker
  const sStore = new Persisted<FairShopperState>();
  let sQueue: FairShopperOutbound[] = [];
  let sResumes = false;
  const sRestart = (): void => {
    if (o.restartAfterMs) w.clock.now += o.restartAfterMs;
    sQueue = [];
    sResumes = true;
  };
  /** Worker start (extension/worker/host.ts `resume`): a due timeout first, else re-send what the deal waits for. */
  const sResume = async (): Promise<void> => {
    sResumes = false;
    const state = sStore.load();
    trace.push(`S restarts in phase ${state.phase}`);
    const due = fairPurchaseShopper.wakeAt(state);
    if (due !== null && due <= w.clock.now) await sStep({ type: 'timeout', now: w.clock.now });
    else sQueue = fairPurchaseShopper.pendingSends(state);
  };
  const sApply = async (run: () => Promise<{ state: FairShopperState; send: FairShopperOutbound[] }>): Promise<void> => {
    const mode = crashHere('S');
    const r = await run();
    if (mode === 'before-persist') {
      sQueue = [];
      if (sStore.exists) sRestart();
      return;
    }
    sStore.save(r.state);
    if (mode === 'before-send') {
      sQueue = [];
      sRestart();
      return;
    }
    sQueue.push(...r.send);
  };
  const sStep = (event: FairShopperEvent) => sApply(() => fairPurchaseShopper.step(sStore.load(), event, w.shopperContext));

  // ---- M: the merchant kit (one deal)
  const mStore = new Persisted<FairMerchantState>();
  const mStep = async (event: FairMerchantEvent): Promise<FairMerchantOutbound[]> => {
    const mode = crashHere('M');
    const state = mStore.exists ? mStore.load() : (await fairPurchaseMerchant.start({ dealId: sStore.load().dealId }, w.merchant)).state;
    const r = await fairPurchaseMerchant.step(state, event, w.merchant); // a refusal throws: nothing changes
    if (mode === 'before-persist') throw new CrashNow();
    mStore.save(r.state);
    if (mode === 'before-send') {
      // The connection broke after the state was stored: the answer is lost; the kit restarts and re-sends its TTP requests.
      await mToTtp(fairPurchaseMerchant.pendingSends(r.state));
      throw new CrashNow();
    }
    await mToTtp(r.send);
    return r.send;
  };
  const mToTtp = async (sends: FairMerchantOutbound[]): Promise<void> => {
    for (const s of sends) {
      if (s.to !== 'ttp') continue;
      const reply = await ttp.ttpAnswer(s.statement);
      trace.push(`M → TTP ${s.statement.type}: ${reply.kind}`);
      if (reply.kind !== 'response') continue;
      try {
        await mStep({ type: 'message', message: (reply.body as { answer: unknown }).answer, now: w.clock.now, from: 'ttp' });
      } catch (e) {
        if (!(e instanceof CrashNow)) throw e;
      }
    }
  };

  const toMerchant = async (sent: Extract<FairShopperOutbound, { kind: 'http'; to: 'merchant' }>): Promise<TransportReply> => {
    try {
      const out =
        sent.path === '/semper/fair/offer'
          ? await mStep({
              type: 'offer-requested',
              request: sent.body,
              prepared: await prepareFairOffer(sent.body.dealId, ttp.sealingJwk(), w.merchant.identity.signer.keyId),
              now: w.clock.now,
            })
          : await mStep({ type: 'message', message: sent.body.message, now: w.clock.now, from: 'peer' });
      let body = out.find((x) => x.to === 'shopper')?.body ?? { replies: [] };
      if (o.withholdKey && 'replies' in body) body = { replies: body.replies.filter((m: Statement) => m.type !== EXCHANGE_TYPES.deliver) };
      return { kind: 'response', body };
    } catch (e) {
      if (e instanceof CrashNow) return { kind: 'error', error: { code: 'ERR_NETWORK', message: 'connection reset' } };
      const err = e as { code?: string; message: string };
      if (!err.code) throw e;
      return { kind: 'error', error: { code: err.code, message: err.message }, status: 409 };
    }
  };

  /** The payment service: idempotent by reference. */
  const pay = async (req: PaymentRequest): Promise<Item | null> => {
    payRequests++;
    if (o.payFails) return null;
    const known = paidByReference.get(req.reference);
    if (known) return known;
    const item = await payAtBank(w, payer, req);
    payments++;
    paidByReference.set(req.reference, item);
    return item;
  };

  // ---- the run
  await sApply(() => fairPurchaseShopper.start({ origin: 'http://127.0.0.1:8451', sku: SONG.sku, now: w.clock.now }, w.shopperContext));
  const mTerminal = () => !mStore.exists || fairPurchaseMerchant.isTerminal(mStore.load());
  for (let guard = 0; guard < 300; guard++) {
    if (!sStore.exists) break; // crashed before its first persist: no deal at all
    // The kit's timers run on their own: any that is due fires before the shopper's worker goes on.
    const mDue = mStore.exists && !mTerminal() ? fairPurchaseMerchant.wakeAt(mStore.load()) : null;
    if (mDue !== null && mDue <= w.clock.now) {
      trace.push('M timeout');
      try {
        await mStep({ type: 'timeout', now: w.clock.now });
      } catch (e) {
        if (!(e instanceof CrashNow)) throw e;
      }
      continue;
    }
    if (sResumes) {
      await sResume();
      continue;
    }
    const sent = sQueue.shift();
    if (sent) {
      const now = w.clock.now;
      if (sent.kind === 'pay') {
        const item = await pay(sent.request);
        trace.push(`S pay ${sent.request.reference}: ${item ? 'paid' : 'failed'}`);
        if (o.payByReply)
          await sStep({
            type: 'reply',
            sent,
            reply: item ? { kind: 'response', body: item } : { kind: 'error', error: { code: 'ERR_PAYMENT_REFUSED', message: 'refused' }, status: 409 },
            now,
          });
        else await sStep(item ? { type: 'paid', item, now } : { type: 'payment-failed', error: { code: 'ERR_PAYMENT_REFUSED', message: 'refused' }, now });
      } else if (sent.to === 'ttp') {
        const reply = await ttp.ttpAnswer(sent.body.request);
        trace.push(`S → TTP ${sent.body.request.type}: ${reply.kind}`);
        await sStep({ type: 'reply', sent, reply, now });
      } else {
        const reply = await toMerchant(sent);
        trace.push(`S → M ${sent.path}: ${reply.kind === 'error' ? reply.error.code : 'ok'}`);
        await sStep({ type: 'reply', sent, reply, now });
      }
      continue;
    }
    const s = sStore.load();
    if (s.phase === 'awaiting-confirmation') {
      trace.push('the user confirms');
      await sStep({ type: 'user-confirmed', method: o.method, now: w.clock.now });
      continue;
    }
    const sDone = fairPurchaseShopper.isTerminal(s);
    if (sDone && mTerminal()) break;
    // Both idle: the next timer.
    const sAt = sDone ? null : fairPurchaseShopper.wakeAt(s);
    const mAt = mStore.exists && !mTerminal() ? fairPurchaseMerchant.wakeAt(mStore.load()) : null;
    const at = [sAt, mAt].filter((t): t is number => t !== null).sort((a, b) => a - b)[0];
    if (at === undefined) break;
    w.clock.now = Math.max(w.clock.now, at);
    if (sAt !== null && sAt <= w.clock.now) {
      trace.push(`S timeout in ${s.phase}`);
      await sStep({ type: 'timeout', now: w.clock.now });
    } else {
      trace.push('M timeout');
      try {
        await mStep({ type: 'timeout', now: w.clock.now });
      } catch (e) {
        if (!(e instanceof CrashNow)) throw e;
      }
    }
  }
  // The next run starts later than every timer of this one (one bank, one clock for the file).
  w.clock.now += 3_600_000;
  await w.bank.bank.checkInvariants();
  return {
    shopper: sStore.exists ? sStore.load() : null,
    merchant: mStore.exists ? mStore.load() : null,
    steps,
    merchantGot: (await w.bank.bank.balance(w.merchantAccount.account)) - merchantBefore,
    shopperPaid: 1_000 - (await w.bank.bank.balance(payer.account)),
    payments,
    payRequests,
    crashed,
    trace,
  };
}

function describeRun(r: Result): string {
  const s = r.shopper;
  return [
    `shopper ${s?.phase ?? 'none'}${s?.phase === 'failed' ? ` ${s.error.code}: ${s.error.message}` : ''}`,
    `merchant ${r.merchant?.phase ?? 'none'}`,
    ...r.trace,
  ].join('\n');
}

/** The oracle: goods for the money, or no money moved. */
function check(r: Result, label: string): 'goods' | 'no money' {
  const s = r.shopper;
  expect(r.payments, label).toBeLessThanOrEqual(1);
  if (s === null) {
    expect(r.merchantGot, label).toBe(0);
    return 'no money';
  }
  expect(fairPurchaseShopper.isTerminal(s), label).toBe(true);
  if (s.phase === 'completed') {
    expect(['completed', 'resolved'], label).toContain(s.outcome.status);
    expect(new TextDecoder().decode(decodeBase64url(s.goods)), label).toBe(SONG.content);
    expect(r.merchantGot, label).toBe(PRICE);
    expect(r.shopperPaid, label).toBe(PRICE);
    return 'goods';
  }
  expect(r.merchantGot, label).toBe(0);
  expect(r.shopperPaid, label).toBe(0);
  return 'no money';
}

const BASES: { name: string; o: Omit<Options, 'crash'>; expect: 'goods' | 'no money'; status?: 'completed' | 'resolved' }[] = [
  { name: 'cash, fault-free', o: { method: 'cash' }, expect: 'goods', status: 'completed' },
  { name: 'account, fault-free', o: { method: 'account' }, expect: 'goods', status: 'completed' },
  { name: 'cash, the merchant withholds m3 (the TTP reveals the key)', o: { method: 'cash', withholdKey: true }, expect: 'goods', status: 'resolved' },
  { name: 'the payment service refuses (nothing is paid)', o: { method: 'cash', payFails: true }, expect: 'no money' },
  {
    name: 'cash, the payment service answers the pay send (as the extension does)',
    o: { method: 'cash', payByReply: true },
    expect: 'goods',
    status: 'completed',
  },
  { name: 'the payment service refuses in its answer to the pay send', o: { method: 'account', payByReply: true, payFails: true }, expect: 'no money' },
  // A worker that comes back 9 s after its crash: past m1's deadline (8 s after m1 here), before the exchange is final (+2 s).
  { name: 'account, the worker comes back 9 s after its crash', o: { method: 'account', restartAfterMs: 9_000 }, expect: 'goods', status: 'completed' },
];

describe.each(BASES)('fair purchase, $name: every crash point', ({ o, expect: expected, status }) => {
  it('crash the shopper and the merchant at each step (before persist / before send): goods for the money, or no money moved', async () => {
    const dry = await simulate(o);
    expect(dry.crashed).toBe(false);
    expect(check(dry, describeRun(dry)), describeRun(dry)).toBe(expected);
    if (status) expect(dry.shopper?.phase === 'completed' && dry.shopper.outcome.status).toBe(status);
    let crashedRuns = 0;
    let repeatedPay = 0;
    const outcomes = new Map<string, number>();
    for (const node of ['S', 'M'] as Node[]) {
      for (let k = 1; k <= dry.steps[node] + 1; k++) {
        for (const mode of ['before-persist', 'before-send'] as CrashMode[]) {
          const r = await simulate({ ...o, crash: { node, atStep: k, mode } });
          const label = `crash ${node}#${k} ${mode}\n${describeRun(r)}`;
          if (r.crashed) crashedRuns++;
          if (r.payRequests > 1) repeatedPay++;
          const got = check(r, label);
          outcomes.set(got, (outcomes.get(got) ?? 0) + 1);
          // The shopper's worker survives any crash once its deal exists: with nothing else going wrong it ends as without the crash.
          if (node === 'S' && r.shopper !== null && !o.restartAfterMs) expect(got, label).toBe(expected);
          if (r.shopper === null) expect([node, k, mode], label).toEqual(['S', 1, 'before-persist']);
        }
      }
    }
    // Every crash point of the dry run was reached.
    expect(crashedRuns).toBeGreaterThanOrEqual(2 * (dry.steps.S + dry.steps.M));
    // The payment was asked for again after a crash, and the service's idempotence kept it one payment.
    if (expected === 'goods') expect(repeatedPay).toBeGreaterThan(0);
    expect(outcomes.get(expected) ?? 0).toBeGreaterThan(0);
  });
});
