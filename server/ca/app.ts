/**
 * The CA's HTTP face.
 *
 * Public, read-only (any origin may read: a root certificate, issued certificates, their status
 * and the CRL are public information):
 *   GET  /ca/root                 → { certificate: base64 DER, pem }
 *   GET  /ca/certificates/:serial → CertificateRecord                              (404 ERR_NOT_FOUND)
 *   GET  /ca/status/:serial       → { serial, status: 'good' | 'revoked' | 'unknown' }
 *   GET  /ca/crl                  → { crl: base64 DER, pem, thisUpdate, nextUpdate, crlNumber }
 *   GET  /ca/crl.der              → the CRL as application/pkix-crl (RFC 2585 §4.2), for stock tools
 *
 * Shopper-facing, state-changing (core/pki/registration.ts has the schemas):
 *   POST /ca/register  { registrationCode, csr }  → { certificate, chain: [certificate], name, serial }
 *        403 ERR_REGISTRATION_CODE (unknown, expired or used code), 400 ERR_SCHEMA (bad request/CSR),
 *        403 ERR_SIGNATURE_INVALID (CSR not signed by its key), 400 ERR_ALG_UNSUPPORTED (key type),
 *        429 ERR_RATE_LIMITED (more than `registrationAttemptsPerMinute` attempts: per registration code
 *        for a code the CA issued, per client address for any other)
 *   POST /ca/revoke    { request: Statement<{ serial, reason }> }  → { serial, status: 'revoked', revokedAt, reason }
 *        the statement is `semper.ca.revocation-request`, signed by the certificate's own key.
 *
 * CORS: only the GET routes send CORS headers. The POST routes are called by the extension's
 * service worker, which has host permissions for the CA and so needs no CORS; web pages get
 * none (and, since the body must be application/json, cannot even send a request without a
 * preflight that this app does not grant).
 *
 * Every POST reads its body through the one JSON edge (http/json.ts: Content-Type before a byte
 * is read, a size bound from the schema, nesting and value bounds while it streams) and its schema
 * before anything counts it. Then registration attempts are counted against what they prove: a
 * request naming a code the CA issued counts against that code (a shopper holding a real code is
 * not stopped by guesses from its own address: another site's no-cors POSTs, a NAT neighbour),
 * any other request against the client's address (guessing is limited where it happens).
 *
 * Merchant enrolment stays in-process (see CaService) until an authenticated enrolment protocol exists.
 */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import { RegistrationRequest, type CrlResponse, type RegistrationResponse, type RevocationResponse } from '../../core/pki/index.js';
import { Statement } from '../../core/statements/index.js';
import { errorResponse, handleError } from '../http/errors.js';
import { jsonBody, readJson } from '../http/json.js';
import { RateLimiter, peerAddress, rateLimited } from '../http/rate-limit.js';
import { normaliseSerial, type CaService, type CertificateRecord, type CertificateStatus } from './service.js';

const SerialParam = z.string().regex(/^[0-9A-Fa-f]{1,40}$/, 'certificate serial: 1-40 hex digits');

/** What a registration request can need: a code (at most 40 characters) and a CSR (at most 8192 base64 characters, core/pki RegistrationRequest). */
export const CA_REGISTER_BODY_LIMIT = 10 * 1024;
/** A revocation request: a statement with the certificate's chain (a few KiB). */
export const CA_REVOKE_BODY_LIMIT = 16 * 1024;
/** Revocation requests per client address and minute (each costs a signature and chain check). */
const REVOCATIONS_PER_MINUTE = 60;

const RevokeRequest = z.strictObject({ request: Statement });

function serialFrom(raw: string): string {
  const parsed = SerialParam.safeParse(raw);
  const serial = parsed.success ? normaliseSerial(parsed.data) : undefined;
  if (!serial) throw new SemperError('ERR_SCHEMA', 'certificate serial must be 1-40 hex digits');
  return serial;
}

export interface CaAppOptions {
  /** Registration attempts per client address per minute (default 10). */
  registrationAttemptsPerMinute?: number;
  /** How a client is told apart for attempts that name no issued code (default: the socket's peer address). */
  clientKey?: (c: Context) => string;
  /** Clock for the attempt limit (default: Date.now). */
  now?: () => number;
}

function revocationResponse(record: CertificateRecord): RevocationResponse {
  return { serial: record.serial, status: 'revoked', revokedAt: record.revokedAt!, reason: record.revocationReason ?? 'unspecified' };
}

export function createCaApp(service: CaService, options: CaAppOptions = {}): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
  // Public, credential-free data: any origin (and the extension) may read it. GET only.
  const publicRead = cors({ origin: '*', allowMethods: ['GET'] });
  app.use('/ca/*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
  });
  const clock = options.now ? { now: options.now } : {};
  const registrationLimiter = new RateLimiter({ limit: options.registrationAttemptsPerMinute ?? 10, windowMs: 60_000, ...clock });
  const revocationLimiter = new RateLimiter({ limit: REVOCATIONS_PER_MINUTE, windowMs: 60_000, ...clock });
  const clientKey = options.clientKey ?? peerAddress;

  app.get('/ca/root', publicRead, (c) => {
    c.header('cache-control', 'no-cache');
    return c.json({ certificate: service.rootCertificate, pem: service.rootPem });
  });

  app.get('/ca/certificates/:serial', publicRead, async (c) => {
    const serial = serialFrom(c.req.param('serial'));
    const record = await service.getCertificate(serial);
    if (!record) throw new SemperError('ERR_NOT_FOUND', `no certificate with serial ${serial}`);
    return c.json(record);
  });

  app.get('/ca/status/:serial', publicRead, async (c) => {
    const serial = serialFrom(c.req.param('serial'));
    const status: CertificateStatus = await service.status(serial);
    // Status can change (revocation): never let a cache answer for the CA.
    c.header('cache-control', 'no-store');
    return c.json({ serial, status });
  });

  app.get('/ca/crl', publicRead, async (c) => {
    const published = await service.currentCrl();
    // A newer CRL may be issued before nextUpdate (after a revocation): always revalidate.
    c.header('cache-control', 'no-cache');
    return c.json(published satisfies CrlResponse);
  });

  app.get('/ca/crl.der', publicRead, async (c) => {
    const published = await service.currentCrl();
    c.header('content-type', 'application/pkix-crl');
    c.header('cache-control', 'no-cache');
    return c.body(new Uint8Array(Buffer.from(published.crl, 'base64')));
  });

  app.post('/ca/register', jsonBody({ maxBytes: CA_REGISTER_BODY_LIMIT }, 'registration request'), async (c) => {
    const request = await readJson(c, RegistrationRequest, 'registration request');
    // Counted once the request is well-formed: against the code if the CA issued it, else against the address.
    const issued = await service.registrationCodeKey(request.registrationCode);
    const waitMs = registrationLimiter.attempt(issued ? `code:${issued}` : `client:${clientKey(c)}`);
    if (waitMs > 0) return rateLimited(c, waitMs, issued ? 'this registration code' : 'this client');
    const registration = await service.registerShopper(request);
    c.header('cache-control', 'no-store');
    return c.json(registration satisfies RegistrationResponse);
  });

  app.post('/ca/revoke', jsonBody({ maxBytes: CA_REVOKE_BODY_LIMIT }, 'revocation request'), async (c) => {
    const { request } = await readJson(c, RevokeRequest, 'revocation request');
    const waitMs = revocationLimiter.attempt(peerAddress(c));
    if (waitMs > 0) return rateLimited(c, waitMs);
    const record = await service.revokeByHolder(request);
    c.header('cache-control', 'no-store');
    return c.json(revocationResponse(record));
  });

  return app;
}
