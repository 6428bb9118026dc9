/**
 * A card acquirer: a payment system of its own, in the style of real acquirers' APIs, that knows
 * nothing about Semper (no statements, no key ids, no deals: merchants, payment intents, captures,
 * refunds, amounts in minor units). Semper joins it through an adapter (server/payment-adapter),
 * never by changing it.
 *
 * State is one SQLite file (or :memory:). Every mutating call runs in one `BEGIN IMMEDIATE`
 * transaction together with its idempotency record, so a request with an idempotency key is done
 * exactly once per merchant and key — concurrent retries (in this process or another on the same
 * file) get the stored answer; the same key with another request is refused. Captures have the
 * intent as primary key: an intent is captured at most once, whatever races.
 *
 * Test cards (tokens of the acquirer's tokeniser): tok_visa succeeds; tok_declined is declined
 * do_not_honor, tok_expired card_expired, tok_insufficient insufficient_funds.
 */
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

export type DeclineCode = 'insufficient_funds' | 'card_expired' | 'do_not_honor';

export const TEST_CARDS: Readonly<Record<string, { brand: string; last4: string; decline?: DeclineCode }>> = {
  tok_visa: { brand: 'visa', last4: '4242' },
  tok_declined: { brand: 'visa', last4: '0002', decline: 'do_not_honor' },
  tok_expired: { brand: 'visa', last4: '0069', decline: 'card_expired' },
  tok_insufficient: { brand: 'visa', last4: '9995', decline: 'insufficient_funds' },
};

export type IntentStatus = 'requires_confirmation' | 'requires_capture' | 'succeeded' | 'declined';

export interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  merchant_reference: string;
  capture_method: 'automatic' | 'manual';
  status: IntentStatus;
  amount_captured: number;
  amount_refunded: number;
  decline_code: DeclineCode | null;
  card: { brand: string; last4: string };
  created: number;
}

export interface Refund {
  id: string;
  object: 'refund';
  payment_intent: string;
  amount: number;
  currency: string;
  status: 'succeeded';
  created: number;
}

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'card_error' | 'idempotency_error' | 'api_error';

/** An answer of the API: HTTP status and JSON body. */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

export function apiError(status: number, type: ErrorType, code: string, message: string, extra: Record<string, unknown> = {}): ApiAnswer {
  return { status, body: { error: { type, code, message, ...extra } } };
}

export interface Merchant {
  id: string;
  name: string;
  signingSecret: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS merchants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  api_key_hash TEXT NOT NULL UNIQUE,
  signing_secret TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payment_intents (
  id TEXT PRIMARY KEY,
  merchant TEXT NOT NULL REFERENCES merchants(id),
  amount INTEGER NOT NULL CHECK (amount > 0),
  currency TEXT NOT NULL,
  merchant_reference TEXT NOT NULL,
  card_token TEXT NOT NULL,
  capture_method TEXT NOT NULL,
  status TEXT NOT NULL,
  decline_code TEXT,
  amount_refunded INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS captures (
  intent TEXT PRIMARY KEY REFERENCES payment_intents(id),
  amount INTEGER NOT NULL CHECK (amount > 0),
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
  id TEXT PRIMARY KEY,
  intent TEXT NOT NULL REFERENCES payment_intents(id),
  amount INTEGER NOT NULL CHECK (amount > 0),
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
  merchant TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  response TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (merchant, key)
);`;

interface IntentRow {
  id: string;
  merchant: string;
  amount: number;
  currency: string;
  merchant_reference: string;
  card_token: string;
  capture_method: 'automatic' | 'manual';
  status: IntentStatus;
  decline_code: DeclineCode | null;
  amount_refunded: number;
  created: number;
  captured: number | null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

export const MAX_AMOUNT = 99_999_999;

export class AcquirerService {
  readonly db: Database.Database;
  private readonly now: () => number;

  constructor(options: { file?: string; now?: () => number } = {}) {
    this.db = new Database(options.file ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    // Set on every open: better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, so a file already
    // in WAL mode would reopen with NORMAL, and a power cut could take back an answered charge or refund.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.now = options.now ?? Date.now;
  }

  close(): void {
    this.db.close();
  }

  /** Onboard a merchant: its secret API key and request-signing secret are shown once (only the key's hash is kept). */
  createMerchant(name: string): { merchantId: string; apiKey: string; signingSecret: string } {
    const merchantId = newId('acct');
    const apiKey = `sk_test_${randomBytes(24).toString('hex')}`;
    const signingSecret = `whsec_${randomBytes(32).toString('hex')}`;
    this.db.prepare('INSERT INTO merchants (id, name, api_key_hash, signing_secret) VALUES (?, ?, ?, ?)').run(merchantId, name, sha256(apiKey), signingSecret);
    return { merchantId, apiKey, signingSecret };
  }

  merchantByApiKey(apiKey: string): Merchant | undefined {
    const row = this.db
      .prepare<[string], { id: string; name: string; signing_secret: string }>('SELECT id, name, signing_secret FROM merchants WHERE api_key_hash = ?')
      .get(sha256(apiKey));
    return row ? { id: row.id, name: row.name, signingSecret: row.signing_secret } : undefined;
  }

  /**
   * Run one mutating operation exactly once per (merchant, idempotency key): in one immediate
   * transaction, the stored answer if the key was used with the same request, a refusal if with
   * another, else the operation and its answer stored with the key.
   */
  idempotent(merchant: Merchant, key: string | undefined, fingerprint: string, op: () => ApiAnswer): ApiAnswer {
    return this.db
      .transaction((): ApiAnswer => {
        if (key !== undefined) {
          const seen = this.db
            .prepare<[string, string], { fingerprint: string; status: number; response: string }>(
              'SELECT fingerprint, status, response FROM idempotency WHERE merchant = ? AND key = ?',
            )
            .get(merchant.id, key);
          if (seen) {
            if (seen.fingerprint !== fingerprint)
              return apiError(400, 'idempotency_error', 'idempotency_key_reused', 'this idempotency key was used with another request');
            return { status: seen.status, body: JSON.parse(seen.response) };
          }
        }
        const answer = op();
        if (key !== undefined && answer.status < 500)
          this.db
            .prepare('INSERT INTO idempotency (merchant, key, fingerprint, status, response, created) VALUES (?, ?, ?, ?, ?, ?)')
            .run(merchant.id, key, fingerprint, answer.status, JSON.stringify(answer.body), this.now());
        return answer;
      })
      .immediate();
  }

  private row(merchant: Merchant, id: string): IntentRow | undefined {
    return this.db
      .prepare<[string, string], IntentRow>(
        'SELECT p.*, c.amount AS captured FROM payment_intents p LEFT JOIN captures c ON c.intent = p.id WHERE p.id = ? AND p.merchant = ?',
      )
      .get(id, merchant.id);
  }

  private view(r: IntentRow): PaymentIntent {
    const card = TEST_CARDS[r.card_token] ?? { brand: 'unknown', last4: '0000' };
    return {
      id: r.id,
      object: 'payment_intent',
      amount: r.amount,
      currency: r.currency,
      merchant_reference: r.merchant_reference,
      capture_method: r.capture_method,
      status: r.status,
      amount_captured: r.captured ?? 0,
      amount_refunded: r.amount_refunded,
      decline_code: r.decline_code,
      card: { brand: card.brand, last4: card.last4 },
      created: r.created,
    };
  }

  createIntent(
    merchant: Merchant,
    p: { amount: number; currency: string; merchant_reference: string; card: string; capture_method?: 'automatic' | 'manual' },
  ): ApiAnswer {
    if (!TEST_CARDS[p.card]) return apiError(400, 'invalid_request_error', 'token_unknown', 'no such card token');
    const id = newId('pi');
    this.db
      .prepare(
        'INSERT INTO payment_intents (id, merchant, amount, currency, merchant_reference, card_token, capture_method, status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        id,
        merchant.id,
        p.amount,
        p.currency.toLowerCase(),
        p.merchant_reference,
        p.card,
        p.capture_method ?? 'automatic',
        'requires_confirmation',
        this.now(),
      );
    return { status: 200, body: this.view(this.row(merchant, id)!) };
  }

  getIntent(merchant: Merchant, id: string): ApiAnswer {
    const r = this.row(merchant, id);
    return r ? { status: 200, body: this.view(r) } : apiError(404, 'invalid_request_error', 'resource_missing', 'no such payment intent');
  }

  /** Authorise the card; with automatic capture also capture (once: the capture's key is the intent). */
  confirm(merchant: Merchant, id: string): ApiAnswer {
    const r = this.row(merchant, id);
    if (!r) return apiError(404, 'invalid_request_error', 'resource_missing', 'no such payment intent');
    if (r.status !== 'requires_confirmation')
      return apiError(400, 'invalid_request_error', 'payment_intent_unexpected_state', `the payment intent is ${r.status}`, { payment_intent: this.view(r) });
    const decline = TEST_CARDS[r.card_token]?.decline;
    if (decline) {
      this.db.prepare("UPDATE payment_intents SET status = 'declined', decline_code = ? WHERE id = ?").run(decline, id);
      return apiError(402, 'card_error', 'card_declined', `the card was declined: ${decline}`, {
        decline_code: decline,
        payment_intent: this.view(this.row(merchant, id)!),
      });
    }
    if (r.capture_method === 'manual') {
      this.db.prepare("UPDATE payment_intents SET status = 'requires_capture' WHERE id = ?").run(id);
    } else {
      this.db.prepare('INSERT INTO captures (intent, amount, created) VALUES (?, ?, ?)').run(id, r.amount, this.now());
      this.db.prepare("UPDATE payment_intents SET status = 'succeeded' WHERE id = ?").run(id);
    }
    return { status: 200, body: this.view(this.row(merchant, id)!) };
  }

  capture(merchant: Merchant, id: string): ApiAnswer {
    const r = this.row(merchant, id);
    if (!r) return apiError(404, 'invalid_request_error', 'resource_missing', 'no such payment intent');
    if (r.status !== 'requires_capture')
      return apiError(400, 'invalid_request_error', 'payment_intent_unexpected_state', `the payment intent is ${r.status}`, { payment_intent: this.view(r) });
    this.db.prepare('INSERT INTO captures (intent, amount, created) VALUES (?, ?, ?)').run(id, r.amount, this.now());
    this.db.prepare("UPDATE payment_intents SET status = 'succeeded' WHERE id = ?").run(id);
    return { status: 200, body: this.view(this.row(merchant, id)!) };
  }

  refund(merchant: Merchant, p: { payment_intent: string; amount?: number }): ApiAnswer {
    const r = this.row(merchant, p.payment_intent);
    if (!r) return apiError(404, 'invalid_request_error', 'resource_missing', 'no such payment intent');
    if (r.status !== 'succeeded' || r.captured === null)
      return apiError(400, 'invalid_request_error', 'payment_intent_unexpected_state', `the payment intent is ${r.status}`);
    const left = r.captured - r.amount_refunded;
    const amount = p.amount ?? left;
    if (left <= 0) return apiError(400, 'invalid_request_error', 'charge_already_refunded', 'the payment was refunded in full');
    if (amount > left) return apiError(400, 'invalid_request_error', 'amount_too_large', `at most ${left} can be refunded`);
    const id = newId('re');
    const created = this.now();
    this.db.prepare('INSERT INTO refunds (id, intent, amount, created) VALUES (?, ?, ?, ?)').run(id, r.id, amount, created);
    this.db.prepare('UPDATE payment_intents SET amount_refunded = amount_refunded + ? WHERE id = ?').run(amount, r.id);
    const refund: Refund = { id, object: 'refund', payment_intent: r.id, amount, currency: r.currency, status: 'succeeded', created };
    return { status: 200, body: refund };
  }

  /** Operator's view: how many captures an intent has (0 or 1) and their sum. */
  captures(intent: string): { count: number; amount: number } {
    const row = this.db
      .prepare<[string], { count: number; amount: number | null }>('SELECT COUNT(*) AS count, SUM(amount) AS amount FROM captures WHERE intent = ?')
      .get(intent);
    return { count: row?.count ?? 0, amount: row?.amount ?? 0 };
  }

  intentCount(merchantId: string): number {
    return this.db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM payment_intents WHERE merchant = ?').get(merchantId)?.n ?? 0;
  }
}
