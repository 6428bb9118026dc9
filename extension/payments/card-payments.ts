/**
 * The card module in the worker (core/payment/card through the adapter, server/payment-adapter):
 * the shopper saves *one* card in Semper's settings — the adapter's address, the adapter operator's
 * key (pinned when the card is added, from GET /card: its id is the thumbprint of the key it serves)
 * and a card token of the acquirer's tokeniser (`tok_…`). No card number ever reaches Semper, let
 * alone a page: the token is entered in the popup, and only the adapter sees it.
 *
 * `pay` for method `card`: the adapter the offer names must be the saved card's (same operator
 * key, same origin) — a proof from another key would not match m1, so nothing is paid there. The
 * request (its request id is the acquirer's idempotency key) is recorded before it leaves and
 * re-sent as is until the adapter answers: one charge whatever the crash point. The operator's
 * answer is checked (`settleCardPayment`: both statements by the pinned key, this payee, deal and
 * amount) and its proof is the money item. A decline is ERR_PAYMENT_DECLINED {declineCode}: the
 * acquirer took nothing and no proof exists.
 */
import { jwkThumbprint, type PublicJwk } from '../../core/crypto/jwk.js';
import { SemperError } from '../../core/errors.js';
import type { PaymentRequest } from '../../core/commerce/fair-purchase-shopper.js';
import type { TransportReply, RandomSource } from '../../core/machine.js';
import { cardMoneyItem, cardPayment, CardToken, type CardState, settleCardPayment } from '../../core/payment/card/index.js';
import type { Amount } from '../../core/items/schema.js';
import { partyOrigin } from '../worker/sender.js';
import type { HttpReply } from '../worker/http.js';
import type { MethodFunds, PaymentService } from './service.js';

export interface SavedCard {
  /** The adapter's origin (scheme://host[:port]). */
  adapterUrl: string;
  /** The adapter operator's key id, pinned when the card was added. */
  keyId: string;
  acquirer: string;
  token: string;
  addedAt: number;
}

/** One record: the saved card and the card payments by reference (the deal). */
export interface CardWallet {
  card: SavedCard | null;
  payments: CardState['payments'];
}

export interface CardRecords {
  get(): Promise<CardWallet | undefined>;
  put(wallet: CardWallet): Promise<void>;
}

export interface CardPaymentsDeps {
  records: CardRecords;
  getJson(url: string): Promise<unknown>;
  post(base: string, path: string, body: unknown): Promise<HttpReply>;
  random: RandomSource;
  now(): number;
}

export interface CardSummary {
  adapterUrl: string;
  keyId: string;
  acquirer: string;
  /** The token's tail only. */
  token: string;
}

const EMPTY: CardWallet = { card: null, payments: {} };

export class CardPayments {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly deps: CardPaymentsDeps) {}

  /** One change of the record at a time (two deals paying at once must not lose each other's request). */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<CardWallet> {
    return (await this.deps.records.get()) ?? EMPTY;
  }

  async add(input: { adapterUrl: string; token: string }): Promise<CardSummary> {
    const adapterUrl = partyOrigin(input.adapterUrl, 'card adapter');
    if (!CardToken.safeParse(input.token).success)
      throw new SemperError('ERR_SCHEMA', 'a card token is what the acquirer’s tokeniser issued (tok_…), never a card number');
    const info = (await this.deps.getJson(`${adapterUrl}/card`)) as { keyId?: unknown; publicJwk?: unknown; acquirer?: unknown } | null;
    if (!info || typeof info.keyId !== 'string' || typeof info.acquirer !== 'string' || typeof info.publicJwk !== 'object' || !info.publicJwk)
      throw new SemperError('ERR_SCHEMA', 'the card adapter did not name its operator key');
    if ((await jwkThumbprint(info.publicJwk as PublicJwk)) !== info.keyId)
      throw new SemperError('ERR_SIGNATURE_INVALID', "the card adapter's key id is not its key's thumbprint");
    const card: SavedCard = { adapterUrl, keyId: info.keyId, acquirer: info.acquirer.slice(0, 100), token: input.token, addedAt: this.deps.now() };
    await this.serial(async () => this.deps.records.put({ ...(await this.load()), card }));
    return summary(card);
  }

  async remove(): Promise<boolean> {
    return this.serial(async () => {
      const w = await this.load();
      if (!w.card) return false;
      await this.deps.records.put({ ...w, card: null });
      return true;
    });
  }

  async get(): Promise<CardSummary | null> {
    const { card } = await this.load();
    return card ? summary(card) : null;
  }

  private fits(card: SavedCard | null, adapter: { keyId: string; url: string } | undefined): card is SavedCard {
    if (!card || !adapter || card.keyId !== adapter.keyId) return false;
    try {
      return partyOrigin(adapter.url, 'card adapter') === card.adapterUrl;
    } catch {
      return false;
    }
  }

  async funds(adapter: { keyId: string; url: string } | undefined): Promise<MethodFunds> {
    const { card } = await this.load();
    // The acquirer, not Semper, knows the card's limit: a saved card at the offer's adapter is enough.
    return this.fits(card, adapter) ? { method: 'card', available: true } : { method: 'card', available: false, reason: 'no-card' };
  }

  async pay(request: PaymentRequest): Promise<TransportReply> {
    const refused = (code: string, message: string, status = 409): TransportReply => ({ kind: 'error', error: { code, message }, status });
    const prepared = await this.serial(async () => {
      const w = await this.load();
      if (!this.fits(w.card, request.card)) return undefined;
      const existing = w.payments[request.reference];
      if (existing?.answer) return { card: w.card, answer: existing.answer, body: existing.request };
      const api = cardPayment({ operatorKeyId: w.card.keyId, random: this.deps.random, sign: noRefunds });
      const { wallet, payment } = await api.pay(
        { cardToken: w.card.token, payments: w.payments },
        { payee: request.payee, amount: request.amount, reference: request.reference, now: this.deps.now() },
      );
      // Recorded before it leaves: a restart re-sends this very request (the acquirer's idempotency key).
      await this.deps.records.put({ card: w.card, payments: wallet.payments });
      return { card: w.card, body: payment.body };
    });
    if (!prepared) return refused('ERR_PAYMENT_METHOD', `no card is saved in Semper for the card adapter ${request.card?.url ?? '(none named)'}`);
    if ('answer' in prepared && prepared.answer) return { kind: 'response', body: cardMoneyItem(prepared.answer) };
    const reply = await this.deps.post(prepared.card.adapterUrl, '/card/pay', prepared.body);
    // No answer (unreachable, timed out): the charge may have happened; the deal asks again with the same request.
    if (reply.kind === 'error' && (reply.status === undefined || reply.status >= 500))
      return { kind: 'error', error: { code: 'ERR_PROTOCOL_STATE', message: reply.error.message } };
    return this.serial(async () => {
      const w = await this.load();
      const state: CardState = { cardToken: prepared.card.token, payments: w.payments };
      if (reply.kind === 'error') {
        const declineCode = (reply as { body?: { declineCode?: unknown } }).body?.declineCode;
        const error = { ...reply.error, ...(typeof declineCode === 'string' ? { declineCode } : {}) };
        const next = await settleCardPayment(state, request.reference, { error }, prepared.card.keyId);
        await this.deps.records.put({ card: w.card, payments: next.payments });
        return refused(reply.error.code, reply.error.message, reply.status ?? 409);
      }
      let next: CardState;
      try {
        next = await settleCardPayment(state, request.reference, { answer: reply.body }, prepared.card.keyId);
      } catch (e) {
        if (!(e instanceof SemperError)) throw e;
        // An answer that is not the operator's proof for this payment: nothing to hand on; the deal fails with why.
        return refused(e.code, `the card adapter's answer does not prove this payment: ${e.message}`);
      }
      await this.deps.records.put({ card: w.card, payments: next.payments });
      return { kind: 'response', body: cardMoneyItem(next.payments[request.reference]!.answer!) };
    });
  }
}

function summary(card: SavedCard): CardSummary {
  return { adapterUrl: card.adapterUrl, keyId: card.keyId, acquirer: card.acquirer, token: `…${card.token.slice(-4)}` };
}

const noRefunds = async (): Promise<never> => {
  throw new SemperError('ERR_INTERNAL', 'the payer does not refund card payments');
};

/** The payment service with the card module beside the wallet's methods. */
export function withCard(base: PaymentService, cards: CardPayments): PaymentService {
  return {
    pay: (request) => (request.method === 'card' ? cards.pay(request) : base.pay(request)),
    cheque: (request) => base.cheque(request),
    async funds(bank, amount: Amount, methods, card) {
      const others = methods.filter((m) => m !== 'card');
      const theirs = others.length ? await base.funds(bank, amount, others) : [];
      const mine = methods.includes('card') ? await cards.funds(card) : undefined;
      return methods.map((m) => (m === 'card' ? mine! : theirs.find((f) => f.method === m)!));
    },
  };
}
