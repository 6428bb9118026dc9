/**
 * The acquirer's REST API (Hono). JSON in and out; every request authenticated twice:
 *
 *   Authorization: Bearer sk_test_...           the merchant's secret API key (401 authentication_error)
 *   Acquirer-Signature: t=...,v1=<hmac hex>     HMAC-SHA256 of the request with the merchant's signing
 *                                               secret (signature.ts; 401 invalid_signature)
 *   Idempotency-Key: <1..255 chars>             optional on POSTs: the request is done once per key
 *
 *   POST /v1/payment_intents               { amount, currency, merchant_reference, card, capture_method? } → intent (requires_confirmation)
 *   GET  /v1/payment_intents/:id           → intent
 *   POST /v1/payment_intents/:id/confirm   → intent (succeeded | requires_capture) or 402 card_error card_declined { decline_code, payment_intent }
 *   POST /v1/payment_intents/:id/capture   → intent (succeeded)
 *   POST /v1/refunds                       { payment_intent, amount? } → refund
 *   errors: { error: { type, code, message, ... } }
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { type AcquirerService, type ApiAnswer, apiError, MAX_AMOUNT, type Merchant } from './service.js';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifyRequestSignature } from './signature.js';

export const MAX_BODY_BYTES = 16 * 1024;

const CreateIntent = z.strictObject({
  amount: z.number().int().positive().max(MAX_AMOUNT),
  currency: z.string().regex(/^[a-zA-Z]{3}$/),
  merchant_reference: z.string().min(1).max(128),
  card: z.string().min(1).max(64),
  capture_method: z.enum(['automatic', 'manual']).optional(),
});
const Empty = z.strictObject({});
const CreateRefund = z.strictObject({ payment_intent: z.string().min(1).max(64), amount: z.number().int().positive().max(MAX_AMOUNT).optional() });

type Env = { Variables: { merchant: Merchant; body: unknown; idempotencyKey: string | undefined; fingerprint: string } };

function send(c: { json: (b: unknown, s: never) => Response }, a: ApiAnswer): Response {
  return c.json(a.body, a.status as never);
}

export function createAcquirerApp(acquirer: AcquirerService, options: { now?: () => number } = {}): Hono<Env> {
  const now = options.now ?? Date.now;
  const app = new Hono<Env>();
  app.onError((_err, c) => send(c, apiError(500, 'api_error', 'internal', 'an internal error occurred')));
  app.notFound((c) => send(c, apiError(404, 'invalid_request_error', 'resource_missing', 'no such endpoint')));

  app.use('/v1/*', async (c, next) => {
    const auth = c.req.header('authorization') ?? '';
    const m = /^Bearer (sk_test_[0-9a-f]{48})$/.exec(auth);
    const merchant = m ? acquirer.merchantByApiKey(m[1]!) : undefined;
    if (!merchant) return send(c, apiError(401, 'authentication_error', 'invalid_api_key', 'invalid API key'));
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > MAX_BODY_BYTES) return send(c, apiError(413, 'invalid_request_error', 'body_too_large', 'request body too large'));
    const text = c.req.method === 'GET' ? '' : await c.req.text();
    if (text.length > MAX_BODY_BYTES) return send(c, apiError(413, 'invalid_request_error', 'body_too_large', 'request body too large'));
    const idempotencyKey = c.req.header(IDEMPOTENCY_HEADER);
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey))
      return send(c, apiError(400, 'invalid_request_error', 'idempotency_key_invalid', 'idempotency keys are 1 to 255 visible ASCII characters'));
    const signed = verifyRequestSignature(merchant.signingSecret, c.req.header(SIGNATURE_HEADER), {
      method: c.req.method,
      path: c.req.path,
      idempotencyKey,
      body: text,
      nowS: Math.floor(now() / 1000),
    });
    if (!signed) return send(c, apiError(401, 'authentication_error', 'invalid_signature', 'the request signature does not verify'));
    let body: unknown = {};
    if (c.req.method !== 'GET') {
      if ((c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json')
        return send(c, apiError(400, 'invalid_request_error', 'content_type', 'send application/json'));
      try {
        body = text === '' ? {} : JSON.parse(text);
      } catch {
        return send(c, apiError(400, 'invalid_request_error', 'invalid_json', 'the body is not JSON'));
      }
    }
    c.set('merchant', merchant);
    c.set('body', body);
    c.set('idempotencyKey', idempotencyKey);
    c.set('fingerprint', `${c.req.method} ${c.req.path} ${text}`);
    await next();
  });

  const parse = <S extends z.ZodType>(schema: S, value: unknown): z.infer<S> | ApiAnswer => {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    return apiError(400, 'invalid_request_error', 'parameter_invalid', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  };
  const isAnswer = (x: unknown): x is ApiAnswer =>
    typeof x === 'object' && x !== null && 'status' in x && 'body' in x && typeof (x as ApiAnswer).status === 'number';

  app.post('/v1/payment_intents', (c) => {
    const p = parse(CreateIntent, c.get('body'));
    if (isAnswer(p)) return send(c, p);
    return send(
      c,
      acquirer.idempotent(c.get('merchant'), c.get('idempotencyKey'), c.get('fingerprint'), () => acquirer.createIntent(c.get('merchant'), p)),
    );
  });
  app.get('/v1/payment_intents/:id', (c) => send(c, acquirer.getIntent(c.get('merchant'), c.req.param('id'))));
  app.post('/v1/payment_intents/:id/confirm', (c) => {
    const p = parse(Empty, c.get('body'));
    if (isAnswer(p)) return send(c, p);
    return send(
      c,
      acquirer.idempotent(c.get('merchant'), c.get('idempotencyKey'), c.get('fingerprint'), () => acquirer.confirm(c.get('merchant'), c.req.param('id'))),
    );
  });
  app.post('/v1/payment_intents/:id/capture', (c) => {
    const p = parse(Empty, c.get('body'));
    if (isAnswer(p)) return send(c, p);
    return send(
      c,
      acquirer.idempotent(c.get('merchant'), c.get('idempotencyKey'), c.get('fingerprint'), () => acquirer.capture(c.get('merchant'), c.req.param('id'))),
    );
  });
  app.post('/v1/refunds', (c) => {
    const p = parse(CreateRefund, c.get('body'));
    if (isAnswer(p)) return send(c, p);
    return send(
      c,
      acquirer.idempotent(c.get('merchant'), c.get('idempotencyKey'), c.get('fingerprint'), () => acquirer.refund(c.get('merchant'), p)),
    );
  });
  return app;
}
