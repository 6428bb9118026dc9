/**
 * HTTP host of the bank (Hono). Thin: the one JSON edge (http/json.ts), the envelope's schema,
 * the signing budget (http/rate-limit.ts), then BankService. Errors as every party answers them
 * (http/errors.ts), plus the bank's own codes:
 *
 *   GET  /bank                      → { keyId, publicJwk, currency, certificateChain? }
 *   GET  /bank/denominations        → { list: Statement, certifiedList?: Statement }  semper.bank.denominations
 *        (list: signed with the bare key, for wallets pinning keyId; certifiedList: the same list
 *        signed under the bank's certificate, for wallets trusting a CA root)
 *   POST /bank/withdraw  { request: Statement }                   → { receipt }   semper.bank.issue
 *   POST /bank/refund    { request: Statement }                   → { receipt }
 *   POST /bank/refresh   { requestId, spends, outputs }           → { receipt }
 *   POST /bank/deposit   { spends }                               → { receipt, proof }
 *   POST /bank/transfer  { request: Statement }                   → { receipt, proof }   semper.bank.transfer-receipt
 *   POST /bank/revoke    { requestId, order: Statement }          → { receipt }          semper.bank.reversal
 *   POST /bank/cheque/present { request: Statement }              → { receipt, proof }   semper.bank.cheque-clearing
 *   POST /bank/cheque/stop    { request: Statement }              → { receipt }          semper.bank.cheque-stopped
 *   POST /bank/accounts/open  { request: Statement }              → { account, receipt } semper.bank.account-opened
 *        the request is semper.bank.account-opening { code, bank } signed by the key the account is
 *        bound to (opening.ts); 403 ERR_REGISTRATION_CODE (unknown, expired, withdrawn or used code),
 *        409 ERR_REPLAY (the key already has an account), 409 ERR_ITEM_MISMATCH (another bank's key id),
 *        429 ERR_RATE_LIMITED (more than `accountOpeningAttemptsPerMinute`: per code for a code the
 *        bank issued, per client address for any other — like the CA's registration).
 *   errors: { error: { code, message } }; ERR_DOUBLE_SPEND is 409 with { error, coinId, proof }
 *           (proof: the first deposit's spend); ERR_INSUFFICIENT_FUNDS 409; ERR_DENOMINATION 403;
 *           ERR_FORBIDDEN 403; ERR_REPLAY 409; 400/413 from the body reader.
 *           ERR_REVOKED 409 with { error, proof } (the first reversal); ERR_REVOCATION_CLOSED 403;
 *           ERR_CHEQUE_CLEARED 409 with { error, receipt, proof } (the first clearing);
 *           ERR_CHEQUE_BOUNCED 422 with { error, reason, bounce } (the bank's signed bounce).
 *
 * Opening an account without a code, and funding, are the operator's (BankService.openAccount / fund), not routes.
 */
import type { Statement } from '../../core/statements/index.js';
import type { StatementStamps } from '../storage/statement-stamps.js';
import { buildBundle, collectStatements, evidenceDownload, roleOf } from '../../core/evidence/index.js';
import { operatorOnly } from '../http/operator.js';
import { Hono } from 'hono';
import { z } from 'zod';
import { isSemperError, SemperError } from '../../core/errors.js';
import { errorResponse, handleError } from '../http/errors.js';
import { jsonBody, readJson } from '../http/json.js';
import { RateLimiter, peerAddress, rateLimited, SigningBudget } from '../http/rate-limit.js';
import type { BankService } from './service.js';

/** One statement with up to 64 blinded coins (~30 KiB), with room. */
export const MAX_ISSUE_BYTES = 96 * 1024;
/** Up to 64 spends of ~1.5 KiB each. */
export const MAX_SPENDS_BYTES = 256 * 1024;

/** A transfer order, a presentment (with its cheque) or a stop order, with room. */
export const MAX_ORDER_BYTES = 32 * 1024;

const StatementEnvelope = z.object({ request: z.record(z.string(), z.unknown()) });
const Anything = z.record(z.string(), z.unknown());

export interface BankAppOptions {
  /** Requests per client address and minute (each one makes the bank sign); default the shared policy's. */
  signedStatementsPerMinute?: number;
  /** Account-opening attempts per minute (per code the bank issued, else per client address); default 10. */
  accountOpeningAttemptsPerMinute?: number;
  now?: () => number;
  /** Bearer token for the operator routes (the evidence export); absent: open, as the bank listens on loopback. */
  operatorToken?: string;
  /** Time stamps over the receipts and payment proofs the bank signs (after the answer leaves); tokens in its evidence export. */
  stamps?: StatementStamps;
}

/** The bank's signed receipts and proofs in an answer (its top-level statements), for the time stamps. */
function signedByTheBank(answer: unknown): Statement<unknown>[] {
  if (typeof answer !== 'object' || answer === null) return [];
  return Object.values(answer).filter(
    (v): v is Statement<unknown> =>
      typeof v === 'object' &&
      v !== null &&
      'signature' in v &&
      typeof (v as { type?: unknown }).type === 'string' &&
      /^semper\.(bank|payment)\./.test((v as { type: string }).type),
  );
}

/** An opening request: a statement with a code, with room. */
export const MAX_OPENING_BYTES = 16 * 1024;

export function createBankApp(bank: BankService, options: BankAppOptions = {}): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (isSemperError(err) && err.code === 'ERR_DOUBLE_SPEND') {
      return c.json({ error: { code: err.code, message: err.message }, coinId: err.details?.coinId, proof: err.details?.proof }, 409);
    }
    if (isSemperError(err) && err.code === 'ERR_REVOKED') return c.json({ error: { code: err.code, message: err.message }, proof: err.details?.proof }, 409);
    if (isSemperError(err) && err.code === 'ERR_CHEQUE_CLEARED')
      return c.json({ error: { code: err.code, message: err.message }, receipt: err.details?.receipt, proof: err.details?.proof }, 409);
    if (isSemperError(err) && err.code === 'ERR_CHEQUE_BOUNCED')
      return c.json({ error: { code: err.code, message: err.message }, reason: err.details?.reason, bounce: err.details?.bounce }, 422);
    return handleError(err, c);
  });
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', 'no such endpoint'));
  const budget = new SigningBudget({
    ...(options.signedStatementsPerMinute !== undefined ? { perMinute: options.signedStatementsPerMinute } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  const openingLimiter = new RateLimiter({
    limit: options.accountOpeningAttemptsPerMinute ?? 10,
    windowMs: 60_000,
    ...(options.now ? { now: options.now } : {}),
  });

  const stamped = <A>(answer: A): A => {
    if (options.stamps) for (const statement of signedByTheBank(answer)) options.stamps.stampLater(statement);
    return answer;
  };

  app.get('/bank', (c) => c.json(bank.info()));
  // A deal's payments as an evidence bundle (core/evidence): what the bank signed and was handed for
  // this reference. Operator only: spends and orders name accounts and coins.
  app.get('/bank/deals/:reference/evidence', operatorOnly(options.operatorToken), async (c) => {
    const reference = c.req.param('reference');
    if (!/^[A-Za-z0-9_.:-]{8,128}$/.test(reference)) throw new SemperError('ERR_SCHEMA', 'a deal reference is 8-128 letters, digits, _ . : -');
    const { statements } = await collectStatements(await bank.recordsOfDeal(reference), reference);
    if (statements.length === 0) throw new SemperError('ERR_NOT_FOUND', 'the bank holds nothing for this deal');
    const bundle = await buildBundle({
      deal: { id: reference, kind: 'payment', exporter: 'bank' },
      statements: statements.map((statement) => ({ statement, role: roleOf(statement) })),
      ...(options.stamps ? { timestamps: await options.stamps.tokensFor(statements) } : {}),
      ...(options.now ? { now: options.now() } : {}),
    });
    const file = await evidenceDownload(bundle, c.req.query('format') === 'tar' ? 'tar' : 'json');
    return c.body(file.body, 200, { 'content-type': file.mediaType, 'content-disposition': `attachment; filename="${file.fileName}"` });
  });
  app.get('/bank/denominations', async (c) => {
    const certifiedList = await bank.certifiedDenominationList();
    return c.json({ list: await bank.denominationList(), ...(certifiedList ? { certifiedList } : {}) });
  });

  app.post('/bank/withdraw', jsonBody({ maxBytes: MAX_ISSUE_BYTES }, 'withdrawal'), async (c) => {
    const { request } = await readJson(c, StatementEnvelope, 'withdrawal');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(await bank.withdraw(request));
  });
  app.post('/bank/refund', jsonBody({ maxBytes: MAX_ISSUE_BYTES }, 'refund'), async (c) => {
    const { request } = await readJson(c, StatementEnvelope, 'refund');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(await bank.refund(request));
  });
  app.post('/bank/refresh', jsonBody({ maxBytes: MAX_SPENDS_BYTES }, 'refresh'), async (c) => {
    const body = await readJson(c, Anything, 'refresh');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(await bank.refresh(body));
  });
  app.post('/bank/deposit', jsonBody({ maxBytes: MAX_SPENDS_BYTES }, 'deposit'), async (c) => {
    const body = await readJson(c, Anything, 'deposit');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(stamped(await bank.deposit(body)));
  });
  app.post('/bank/transfer', jsonBody({ maxBytes: MAX_ORDER_BYTES }, 'transfer'), async (c) => {
    const { request } = await readJson(c, StatementEnvelope, 'transfer');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(stamped(await bank.transfer(request)));
  });
  app.post('/bank/revoke', jsonBody({ maxBytes: MAX_ISSUE_BYTES }, 'revoke'), async (c) => {
    const body = await readJson(c, Anything, 'revoke');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(await bank.revoke(body));
  });
  app.post('/bank/cheque/present', jsonBody({ maxBytes: MAX_ORDER_BYTES }, 'presentment'), async (c) => {
    const { request } = await readJson(c, StatementEnvelope, 'presentment');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(stamped(await bank.presentCheque(request)));
  });
  app.post('/bank/cheque/stop', jsonBody({ maxBytes: MAX_ORDER_BYTES }, 'stop'), async (c) => {
    const { request } = await readJson(c, StatementEnvelope, 'stop');
    const refused = budget.charge(c);
    if (refused) return refused;
    return c.json(await bank.stopCheque(request));
  });
  app.post('/bank/accounts/open', jsonBody({ maxBytes: MAX_OPENING_BYTES }, 'account opening'), async (c) => {
    const { request } = await readJson(c, StatementEnvelope, 'account opening');
    // Counted once well-formed: against the code if the bank issued it, else against the address.
    const body = request.body;
    const typed = typeof body === 'object' && body !== null && 'code' in body ? (body as { code: unknown }).code : undefined;
    const issued = typeof typed === 'string' ? await bank.accountOpeningCodeKey(typed) : undefined;
    const waitMs = openingLimiter.attempt(issued ? `code:${issued}` : `client:${peerAddress(c)}`);
    if (waitMs > 0) return rateLimited(c, waitMs, issued ? 'this account-opening code' : 'this client');
    c.header('cache-control', 'no-store');
    return c.json(await bank.openAccountWithCode(request));
  });
  return app;
}
