/**
 * The card adapter's host: the I/O side of core/payment/card. A Semper party of its own (the
 * *adapter's operator*, with its own signing key) between Semper and a card acquirer that knows
 * nothing of Semper. It runs on a server, not in the extension, because it holds what no shopper
 * or merchant page may hold: the payees' acquirer API keys and signing secrets, and the operator's
 * key that makes a card payment verifiable by anyone.
 *
 *   pay(request)   CardPayRequest from the payer → acquirer: create intent (idempotency key
 *                  semper-<requestId>-create) and confirm (…-confirm) → checked echo → the
 *                  operator signs proof + receipt (core signCardAnswer); a decline is
 *                  ERR_PAYMENT_DECLINED { declineCode } and nothing is signed. One answer per
 *                  request id: a retry gets the stored answer, another request under the same id ERR_REPLAY.
 *   refund(order)  a semper.card.refund signed by the payment's payee, until refundableUntil →
 *                  acquirer refund (…-refund) → checked echo → the operator signs the refund receipt;
 *                  once: a second refund is ERR_REVOKED with the first receipt.
 *
 * The acquirer sees: amount, currency, the Semper reference as its merchant reference, the card
 * token, and the adapter's credentials of that payee. Never: payee key ids, statements, deals' content.
 */
import type Database from 'better-sqlite3';
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import type { Signer } from '../../core/crypto/keys.js';
import { SemperError } from '../../core/errors.js';
import {
  type CardAnswer,
  CardPayRequest,
  CARD_TYPES,
  type CardRefundAnswer,
  CardRefundBody,
  type CardRefundReceiptBody,
  CardReceiptBody,
  checkAcquirerIntent,
  declined,
  signCardAnswer,
  statementDigestOf,
} from '../../core/payment/card/index.js';
import { deviceKeySigner } from '../../core/payment/signing.js';
import { canonicalJson } from '../../core/encoding/index.js';
import { nowIso, type Statement, verifyStatement } from '../../core/statements/index.js';
import type { AcquirerClient } from '../acquirer/client.js';
import { openSqliteFile } from '../storage/sqlite.js';

export interface CardAdapterOptions {
  /** The operator's signing key: signs card proofs, receipts and refund receipts. */
  operator: Signer;
  /** A name for the acquirer, written into receipts. */
  acquirerName: string;
  /** The acquirer account of each payee (by payee key id) the adapter may charge for. */
  merchants: ReadonlyMap<string, AcquirerClient>;
  /** How long after payment the payee may refund through the adapter (ms); default 30 days. */
  refundWindowMs?: number;
  file?: string;
  now?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS card_payments (
  request_id TEXT PRIMARY KEY,
  request TEXT NOT NULL,
  outcome TEXT NOT NULL,
  answer TEXT,
  decline_code TEXT,
  refund TEXT
);`;

interface PaymentRow {
  request_id: string;
  request: string;
  outcome: 'succeeded' | 'declined';
  answer: string | null;
  decline_code: string | null;
  refund: string | null;
}

export class CardAdapterService {
  readonly db: Database.Database;
  private readonly now: () => number;
  private readonly refundWindowMs: number;

  constructor(private readonly options: CardAdapterOptions) {
    // Durable on every open (WAL, synchronous=FULL): an answered payment or refund is not taken back by a power cut.
    this.db = openSqliteFile(options.file ?? ':memory:');
    this.db.exec(SCHEMA);
    this.now = options.now ?? Date.now;
    this.refundWindowMs = options.refundWindowMs ?? 30 * 86_400_000;
  }

  close(): void {
    this.db.close();
  }

  info(): { keyId: string; publicJwk: unknown; acquirer: string } {
    return { keyId: this.options.operator.keyId, publicJwk: this.options.operator.publicJwk, acquirer: this.options.acquirerName };
  }

  private rowOf(requestId: string): PaymentRow | undefined {
    return this.db.prepare<[string], PaymentRow>('SELECT * FROM card_payments WHERE request_id = ?').get(requestId);
  }

  private replay(row: PaymentRow, request: CardPayRequest): CardAnswer {
    if (row.request !== canonicalJson(request)) throw new SemperError('ERR_REPLAY', 'this request id was used for another payment');
    if (row.outcome === 'declined') throw declined(row.decline_code ?? 'do_not_honor');
    return JSON.parse(row.answer!) as CardAnswer;
  }

  async pay(input: unknown): Promise<CardAnswer> {
    const parsed = CardPayRequest.safeParse(input);
    if (!parsed.success) throw new SemperError('ERR_SCHEMA', `card payment: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    const request = parsed.data;
    const seen = this.rowOf(request.requestId);
    if (seen) return this.replay(seen, request);
    const client = this.options.merchants.get(request.payee);
    if (!client) throw new SemperError('ERR_NOT_FOUND', 'the adapter takes no card payments for this payee');

    const created = await client.request(
      'POST',
      '/v1/payment_intents',
      {
        amount: request.amount.amount,
        currency: request.amount.currency.toLowerCase(),
        merchant_reference: request.reference,
        card: request.cardToken,
      },
      `semper-${request.requestId}-create`,
    );
    if (created.status !== 200) throw acquirerFailure(created);
    const intent = created.body as { id?: unknown; status?: unknown };
    if (typeof intent?.id !== 'string' || !/^[A-Za-z0-9_]{4,64}$/.test(intent.id))
      throw new SemperError('ERR_INTERNAL', 'the acquirer answered without an intent id');
    const confirmed = await client.request('POST', `/v1/payment_intents/${intent.id}/confirm`, {}, `semper-${request.requestId}-confirm`);
    if (confirmed.status === 402) {
      const code = (confirmed.body as { error?: { decline_code?: unknown } })?.error?.decline_code;
      const error = declined(typeof code === 'string' ? code : 'do_not_honor');
      this.db
        .prepare("INSERT OR IGNORE INTO card_payments (request_id, request, outcome, decline_code) VALUES (?, ?, 'declined', ?)")
        .run(request.requestId, canonicalJson(request), error.details!.declineCode as string);
      return this.replay(this.rowOf(request.requestId)!, request);
    }
    if (confirmed.status !== 200) throw acquirerFailure(confirmed);
    // The translation's check: the acquirer's echo must be exactly what was asked, else nothing is signed.
    const checked = checkAcquirerIntent(confirmed.body, { amount: request.amount, reference: request.reference, intentId: intent.id });
    const now = this.now();
    const answer = await signCardAnswer(request, checked, {
      acquirer: this.options.acquirerName,
      now,
      refundableUntil: now + this.refundWindowMs,
      sign: deviceKeySigner(this.options.operator),
    });
    this.db
      .prepare("INSERT OR IGNORE INTO card_payments (request_id, request, outcome, answer) VALUES (?, ?, 'succeeded', ?)")
      .run(request.requestId, canonicalJson(request), JSON.stringify(answer));
    return this.replay(this.rowOf(request.requestId)!, request);
  }

  async refund(input: unknown): Promise<CardRefundAnswer> {
    const order = (input as { request?: unknown } | null)?.request;
    const verified = await verifyStatement(order, { types: [CARD_TYPES.refund] });
    const body = CardRefundBody.safeParse(verified.statement.body);
    if (!body.success) throw new SemperError('ERR_SCHEMA', 'card refund order is malformed');
    const row = this.rowOf(body.data.requestId);
    if (row?.outcome !== 'succeeded') throw new SemperError('ERR_NOT_FOUND', 'no card payment with this request id');
    const answer = JSON.parse(row.answer!) as CardAnswer;
    const receipt = CardReceiptBody.parse(answer.receipt.body);
    if ((await jwkThumbprint(verified.signerJwk)) !== receipt.payee) throw new SemperError('ERR_FORBIDDEN', "only the payment's payee can refund it");
    if (body.data.reference !== receipt.reference || verified.statement.dealId !== receipt.reference)
      throw new SemperError('ERR_ITEM_MISMATCH', 'the refund names another reference');
    if (body.data.amount.amount !== receipt.amount.amount || body.data.amount.currency !== receipt.amount.currency)
      throw new SemperError('ERR_ITEM_MISMATCH', 'a refund gives back the whole amount');
    if (row.refund) throw new SemperError('ERR_REVOKED', 'the payment was refunded before', { proof: (JSON.parse(row.refund) as CardRefundAnswer).receipt });
    if (this.now() > receipt.refundableUntil) throw new SemperError('ERR_REVOCATION_CLOSED', 'the refund window has closed');
    const client = this.options.merchants.get(receipt.payee);
    if (!client) throw new SemperError('ERR_NOT_FOUND', 'the adapter no longer holds this payee’s acquirer account');

    const refunded = await client.request('POST', '/v1/refunds', { payment_intent: receipt.intentId }, `semper-${receipt.requestId}-refund`);
    if (refunded.status !== 200) throw acquirerFailure(refunded);
    const r = refunded.body as { id?: unknown; payment_intent?: unknown; amount?: unknown; currency?: unknown; status?: unknown };
    if (
      typeof r?.id !== 'string' ||
      !/^[A-Za-z0-9_]{4,64}$/.test(r.id) ||
      r.payment_intent !== receipt.intentId ||
      r.amount !== receipt.amount.amount ||
      r.currency !== receipt.amount.currency.toLowerCase() ||
      r.status !== 'succeeded'
    )
      throw new SemperError('ERR_ITEM_MISMATCH', 'the acquirer echoed another refund than was asked: no receipt is signed');
    const receiptBody: CardRefundReceiptBody = {
      requestId: receipt.requestId,
      intentId: receipt.intentId,
      refundId: r.id,
      reference: receipt.reference,
      amount: receipt.amount,
      order: await statementDigestOf(verified.statement),
    };
    const signed: Statement = await deviceKeySigner(this.options.operator)({
      type: CARD_TYPES.refundReceipt,
      version: 1,
      dealId: receipt.reference,
      issuedAt: nowIso(this.now()),
      body: receiptBody,
    });
    const result: CardRefundAnswer = { receipt: signed };
    const changed = this.db
      .prepare('UPDATE card_payments SET refund = ? WHERE request_id = ? AND refund IS NULL')
      .run(JSON.stringify(result), receipt.requestId).changes;
    if (changed === 0) {
      const first = JSON.parse(this.rowOf(receipt.requestId)!.refund!) as CardRefundAnswer;
      throw new SemperError('ERR_REVOKED', 'the payment was refunded before', { proof: first.receipt });
    }
    return result;
  }
}

/** An acquirer answer that is neither success nor decline: the adapter's problem, not the payer's (retry later). */
function acquirerFailure(reply: { status: number; body: unknown }): SemperError {
  const code = (reply.body as { error?: { code?: unknown } })?.error?.code;
  return new SemperError('ERR_INTERNAL', `the acquirer refused the request: ${reply.status} ${typeof code === 'string' ? code : ''}`.trim(), {
    acquirerStatus: reply.status,
  });
}
