/**
 * HTTP host of the TTP (Hono). Thin: validates the envelope of the HTTP request, hands the
 * statement to TtpService, maps SemperErrors to status codes.
 *
 *   GET  /ttp                     → { keyId, certificateChain, protocols }
 *   POST /ttp/requests            { request: Statement } → 200 { answer: Statement, decided }
 *   GET  /ttp/exchanges/:id       → { exchangeId, decision, decidedAt } | 404
 *   errors: { error: { code, message } } with 400 (malformed), 403 (signature/party/certificate),
 *           409 (not decidable now: too early, wrong TTP, replay, unfair), 413, 500
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorToJson, type SemperErrorCode } from '../../core/errors.js';
import type { TtpService } from './service.js';

const STATUS: Partial<Record<SemperErrorCode, ContentfulStatusCode>> = {
  ERR_ENCODING: 400,
  ERR_SCHEMA: 400,
  ERR_STATEMENT_TYPE: 400,
  ERR_ALG_UNSUPPORTED: 400,
  ERR_KEY: 400,
  ERR_SIGNATURE_INVALID: 403,
  ERR_CERT_CHAIN: 403,
  ERR_CERT_EXPIRED: 403,
  ERR_CERT_UNTRUSTED: 403,
  ERR_CERT_REVOKED: 403,
  ERR_REPLAY: 409,
  ERR_TTP: 409,
  ERR_EXCHANGE_UNFAIR: 409,
  ERR_ITEM_MISMATCH: 409,
  ERR_NOT_FOUND: 404,
};

export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export function createTtpApp(service: TtpService): Hono {
  const app = new Hono();

  app.get('/ttp', (c) => c.json(service.info()));

  app.post(
    '/ttp/requests',
    bodyLimit({ maxSize: MAX_REQUEST_BYTES, onError: (c) => c.json({ error: { code: 'ERR_SCHEMA', message: `request larger than ${MAX_REQUEST_BYTES} bytes` } }, 413) }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ error: { code: 'ERR_SCHEMA', message: 'body is not JSON' } }, 400);
      }
      if (!body || typeof body !== 'object' || !('request' in body)) {
        return c.json({ error: { code: 'ERR_SCHEMA', message: 'expected { request: Statement }' } }, 400);
      }
      try {
        const { answer, decided } = await service.handle((body as { request: unknown }).request);
        return c.json({ answer, decided });
      } catch (e) {
        const error = errorToJson(e);
        return c.json({ error }, STATUS[error.code] ?? 500);
      }
    },
  );

  app.get('/ttp/exchanges/:id', async (c) => {
    const id = c.req.param('id');
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return c.json({ error: { code: 'ERR_SCHEMA', message: 'exchange id is a base64url SHA-256' } }, 400);
    const record = await service.record(id);
    if (!record) return c.json({ error: { code: 'ERR_NOT_FOUND', message: 'no decision for this exchange' } }, 404);
    return c.json({ exchangeId: record.exchangeId, decision: record.decision, decidedAt: record.decidedAt });
  });

  app.notFound((c) => c.json({ error: { code: 'ERR_NOT_FOUND', message: 'no such endpoint' } }, 404));
  return app;
}
