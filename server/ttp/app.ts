/**
 * HTTP host of the TTP (Hono). Thin: reads the HTTP envelope, hands the statement to TtpService,
 * maps SemperErrors to status codes (http/errors.ts, like every party).
 *
 *   GET  /ttp                     → { keyId, certificateChain, protocols }
 *   POST /ttp/requests            { request: Statement } → 200 { answer: Statement, decided }
 *   GET  /ttp/exchanges/:id       → { exchangeId, decision, decidedAt } | 404
 *   errors: { error: { code, message } } with 400 (malformed), 403 (signature/party/certificate),
 *           409 (not decidable now: too early, wrong TTP, replay, unfair), 413, 429 (the one
 *           per-client limit of signed statements, http/rate-limit.ts), 500
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import { errorResponse, handleError } from '../http/errors.js';
import { jsonBodyLimit, readJson } from '../http/json.js';
import { signingRateLimit } from '../http/rate-limit.js';
import type { TtpService } from './service.js';

/** Requests carry m1, m2 and exchanged items (a document): allow far more than a purchase. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** Only the envelope: the request statement itself is checked by the TTP's machine, which names what is wrong. */
const RequestEnvelope = z.object({ request: z.unknown() }).refine((b) => b.request !== undefined, 'expected { request: Statement }');

export interface TtpAppOptions {
  /** Requests each client address may make per minute (each one may make the TTP sign). */
  signedStatementsPerMinute?: number;
  now?: () => number;
}

export function createTtpApp(service: TtpService, options: TtpAppOptions = {}): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', 'no such endpoint'));
  const signing = signingRateLimit({
    ...(options.signedStatementsPerMinute !== undefined ? { perMinute: options.signedStatementsPerMinute } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  app.get('/ttp', (c) => c.json(service.info()));

  app.post('/ttp/requests', signing, jsonBodyLimit(MAX_REQUEST_BYTES), async (c) => {
    const { request } = await readJson(c, RequestEnvelope, 'TTP request');
    const { answer, decided } = await service.handle(request);
    return c.json({ answer, decided });
  });

  app.get('/ttp/exchanges/:id', async (c) => {
    const id = c.req.param('id');
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) throw new SemperError('ERR_SCHEMA', 'exchange id is a base64url SHA-256');
    const record = await service.record(id);
    if (!record) throw new SemperError('ERR_NOT_FOUND', 'no decision for this exchange');
    return c.json({ exchangeId: record.exchangeId, decision: record.decision, decidedAt: record.decidedAt });
  });

  return app;
}
