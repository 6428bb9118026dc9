/**
 * HTTP host of the card adapter (Hono), Semper's side of the seam:
 *
 *   GET  /card                               → { keyId, publicJwk, acquirer }   the operator's key
 *   POST /card/pay     CardPayRequest        → { receipt, proof }               semper.card.receipt, semper.payment.proof
 *   POST /card/refund  { request: Statement } → { receipt }                     semper.card.refund-receipt
 *   errors: { error: { code, message } }; ERR_PAYMENT_DECLINED is 402 with { error, declineCode };
 *           ERR_REVOKED 409 with { error, proof } (the first refund receipt).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { isSemperError } from '../../core/errors.js';
import { errorResponse, handleError } from '../http/errors.js';
import { jsonBody, readJson } from '../http/json.js';
import type { CardAdapterService } from './service.js';

const MAX_BYTES = 32 * 1024;
const Anything = z.record(z.string(), z.unknown());

export function createCardAdapterApp(adapter: CardAdapterService): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (isSemperError(err) && err.code === 'ERR_PAYMENT_DECLINED')
      return c.json({ error: { code: err.code, message: err.message }, declineCode: err.details?.declineCode }, 402);
    if (isSemperError(err) && err.code === 'ERR_REVOKED') return c.json({ error: { code: err.code, message: err.message }, proof: err.details?.proof }, 409);
    return handleError(err, c);
  });
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', 'no such endpoint'));
  app.get('/card', (c) => c.json(adapter.info()));
  app.post('/card/pay', jsonBody({ maxBytes: MAX_BYTES }, 'card payment'), async (c) => c.json(await adapter.pay(await readJson(c, Anything, 'card payment'))));
  app.post('/card/refund', jsonBody({ maxBytes: MAX_BYTES }, 'card refund'), async (c) =>
    c.json(await adapter.refund(await readJson(c, Anything, 'card refund'))),
  );
  return app;
}
