/**
 * HTTP host of the arbiter (Hono). Thin: the one JSON edge (http/json.ts: content type, size,
 * depth), the request's shape, the signing budget (http/rate-limit.ts), then ArbiterService.
 *
 *   GET  /arbiter                         → { keyId, certificate, pem, chain }
 *   GET  /arbiter/certificate             → { certificate, pem, chain }
 *   POST /arbiter/complaints { complaint, bundle } → 200 { verdict, id, replayed }
 *        (verdict: semper.arbiter.verdict signed with the arbiter's certificate; a complaint filed
 *        again: the stored verdict, replayed: true)
 *   GET  /arbiter/verdicts/:id            → { verdict, id, timestamp? }  (id: the verdict's digest or the
 *                                           complaint's; timestamp: the RFC 3161 token over the verdict, base64 DER, once stamped)
 *   errors: { error: { code, message } } — refusals: 400 ERR_SCHEMA (malformed), 403
 *           ERR_SIGNATURE_INVALID / ERR_CERT_* (tampered), 422 ERR_EVIDENCE_FOREIGN (foreign),
 *           403 ERR_FORBIDDEN (not a party); 413 too large; 429 ERR_RATE_LIMITED; 404 ERR_NOT_FOUND.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { errorResponse, handleError } from '../http/errors.js';
import { jsonBody, readJson } from '../http/json.js';
import { SigningBudget } from '../http/rate-limit.js';
import type { ArbiterService } from './service.js';

/** A complaint with a bundle: the goods themselves may be attached (4 MB at most, base64), with room. */
export const MAX_COMPLAINT_BYTES = 8 * 1024 * 1024;

const Filing = z.strictObject({ complaint: z.record(z.string(), z.unknown()), bundle: z.record(z.string(), z.unknown()) });
const VerdictId = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export interface ArbiterAppOptions {
  /** Complaints per client address and minute (each may make the arbiter sign); default the shared policy's. */
  signedStatementsPerMinute?: number;
  now?: () => number;
}

export function createArbiterApp(arbiter: ArbiterService, options: ArbiterAppOptions = {}): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', 'no such endpoint'));
  const budget = new SigningBudget({
    ...(options.signedStatementsPerMinute !== undefined ? { perMinute: options.signedStatementsPerMinute } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  app.get('/arbiter', (c) => c.json(arbiter.info()));
  app.get('/arbiter/certificate', (c) => {
    const { certificate, pem, chain } = arbiter.info();
    return c.json({ certificate, pem, chain });
  });
  app.post('/arbiter/complaints', jsonBody({ maxBytes: MAX_COMPLAINT_BYTES }, 'complaint'), async (c) => {
    const { complaint, bundle } = await readJson(c, Filing, 'complaint');
    const refused = budget.charge(c);
    if (refused) return refused;
    const { verdict, id, replayed } = await arbiter.file(complaint, bundle);
    return c.json({ verdict, id, replayed });
  });
  app.get('/arbiter/verdicts/:id', (c) => {
    const id = VerdictId.safeParse(c.req.param('id'));
    const stored = id.success ? arbiter.verdict(id.data) : undefined;
    if (!stored) return errorResponse(c, 'ERR_NOT_FOUND', 'no such verdict');
    const timestamp = arbiter.timestampOf(stored.id);
    return c.json({ verdict: stored.verdict, id: stored.id, ...(timestamp ? { timestamp } : {}) });
  });
  return app;
}
