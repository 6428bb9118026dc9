/**
 * HTTP host of the TTP (Hono). Thin: reads the HTTP envelope, hands the statement to TtpService,
 * maps SemperErrors to status codes (http/errors.ts, like every party).
 *
 *   GET  /ttp                     → { keyId, certificateChain, protocols }
 *   GET  /ttp/sealing-key         → { sealingKey: Statement } (the TTP's signed ECDH sealing key) | 404
 *   POST /ttp/requests            { request: Statement } → 200 { answer: Statement, decided }
 *   GET  /ttp/exchanges/:id       → { exchangeId, decision, decidedAt } | 404
 *   GET  /ttp/exchanges/:id/evidence[?format=tar] → the exchange's evidence bundle (operator token) | 404
 *   errors: { error: { code, message } } with 400 (malformed: Content-Type, nesting, values,
 *           schema), 403 (signature/party/certificate), 409 (not decidable now: too early, wrong
 *           TTP, replay, unfair), 413 (over MAX_REQUEST_BYTES), 429 (the one limit of signed
 *           statements, http/rate-limit.ts), 500
 *
 * A request is read through the one JSON edge (http/json.ts) and its envelope checked before it
 * counts against the client's budget: a web page's no-cors POST never does. Nesting and values
 * are bounded while the body streams in, so a hostile body is refused long before it could hold
 * the TTP up (issue 8, item 12: a 16 MiB text/plain or deeply nested POST from any web page).
 */
import type { StatementStamps } from '../storage/statement-stamps.js';
import { Hono } from 'hono';
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import { errorResponse, handleError } from '../http/errors.js';
import { ITEM_LIMITS } from '../../core/items/schema.js';
import { jsonBody, readJson } from '../http/json.js';
import { SigningBudget } from '../http/rate-limit.js';
import { operatorOnly } from '../http/operator.js';
import { buildBundle, collectStatements, evidenceDownload, roleOf } from '../../core/evidence/index.js';
import type { TtpService } from './service.js';

/**
 * What a request can need: m1 and m2 (with m2 the responder's item, at most one information item
 * of ITEM_LIMITS.informationChars base64url characters), the request's own envelope and the
 * parties' certificate chains. A request whose m2 carried a package of several such items is
 * refused: the TTP judges exchanges of what fits one message.
 */
export const MAX_REQUEST_BYTES = ITEM_LIMITS.informationChars + 512 * 1024;

/** Only the envelope (an object under `request`): the request statement itself is checked by the TTP's machine, which names what is wrong. */
export const RequestEnvelope = z.object({ request: z.record(z.string(), z.unknown()) });

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/**
 * The envelope as JSON.parse made it, where RequestEnvelope would copy it member for member: one
 * member `request`, a plain object. Not with a member named __proto__ (the schema's copy drops it);
 * anything else is the schema's. The machine seals the request anyway: the schema's copy was one
 * more walk per request. test/server/ttp-envelope.test.ts compares both.
 */
export function requestEnvelopeAsIs(v: unknown): v is z.infer<typeof RequestEnvelope> {
  if (!isPlain(v)) return false;
  let members = 0;
  for (const name in v) if (name !== 'request' || ++members > 1) return false;
  return members === 1 && isPlain(v.request) && !Object.hasOwn(v.request, '__proto__');
}

export interface TtpAppOptions {
  /** Requests each client address may make per minute (each one may make the TTP sign). */
  signedStatementsPerMinute?: number;
  now?: () => number;
  /**
   * Time stamps over the TTP's decisions (server/storage/statement-stamps.ts): requested after each
   * deciding answer has left, carried in the evidence export.
   */
  stamps?: StatementStamps;
  /** Bearer token for the operator routes (the evidence export); absent: open, as the TTP listens on loopback. */
  operatorToken?: string;
}

export function createTtpApp(service: TtpService, options: TtpAppOptions = {}): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', 'no such endpoint'));
  // Requests prove nothing the TTP could key on before its machine checked them: they count against the client's address.
  const budget = new SigningBudget({
    ...(options.signedStatementsPerMinute !== undefined ? { perMinute: options.signedStatementsPerMinute } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  app.get('/ttp', (c) => c.json(service.info()));

  app.get('/ttp/sealing-key', async (c) => {
    const statement = service.sealingKey();
    if (!statement) throw new SemperError('ERR_NOT_FOUND', 'this TTP opens no sealed secrets');
    return c.json({ sealingKey: await statement });
  });

  app.post('/ttp/requests', jsonBody({ maxBytes: MAX_REQUEST_BYTES }, 'TTP request'), async (c) => {
    const { request } = await readJson(c, RequestEnvelope, 'TTP request', requestEnvelopeAsIs);
    const refused = budget.charge(c);
    if (refused) return refused;
    const { answer, decided } = await service.handle(request);
    if (decided) options.stamps?.stampLater(answer);
    return c.json({ answer, decided });
  });

  app.get('/ttp/exchanges/:id', async (c) => {
    const id = c.req.param('id');
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) throw new SemperError('ERR_SCHEMA', 'exchange id is a base64url SHA-256');
    const record = await service.record(id);
    if (!record) throw new SemperError('ERR_NOT_FOUND', 'no decision for this exchange');
    return c.json({ exchangeId: record.exchangeId, decision: record.decision, decidedAt: record.decidedAt });
  });

  // An exchange's evidence bundle: the TTP's signed answer and every statement of the deal inside
  // it (the request, m1, m2). Operator only: m2 may carry the responder's item itself.
  app.get('/ttp/exchanges/:id/evidence', operatorOnly(options.operatorToken), async (c) => {
    const id = c.req.param('id');
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) throw new SemperError('ERR_SCHEMA', 'exchange id is a base64url SHA-256');
    const record = await service.record(id);
    if (!record) throw new SemperError('ERR_NOT_FOUND', 'no decision for this exchange');
    const { statements } = await collectStatements(record.answer, record.dealId);
    const bundle = await buildBundle({
      deal: { id: record.dealId, kind: `exchange (TTP ${record.decision})`, exporter: 'ttp' },
      statements: statements.map((statement) => ({ statement, role: roleOf(statement) })),
      ...(options.stamps ? { timestamps: await options.stamps.tokensFor(statements) } : {}),
      ...(options.now ? { now: options.now() } : {}),
    });
    const file = await evidenceDownload(bundle, c.req.query('format') === 'tar' ? 'tar' : 'json');
    return c.body(file.body, 200, { 'content-type': file.mediaType, 'content-disposition': `attachment; filename="${file.fileName}"` });
  });

  return app;
}
