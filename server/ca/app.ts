/**
 * The CA's public, read-only HTTP face. Everything here is public information (a root
 * certificate, issued certificates, their status), so any origin may read it; nothing here
 * issues or changes anything. Merchant enrolment happens in-process (see CaService) until an
 * authenticated enrolment protocol exists.
 *
 *   GET /ca/root                 → { certificate: base64 DER, pem }
 *   GET /ca/certificates/:serial → CertificateRecord            (404 ERR_NOT_FOUND)
 *   GET /ca/status/:serial       → { serial, status: 'good' | 'revoked' | 'unknown' }
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import { errorResponse, handleError } from '../http/errors.js';
import { normaliseSerial, type CaService, type CertificateStatus } from './service.js';

const SerialParam = z.string().regex(/^[0-9A-Fa-f]{1,40}$/, 'certificate serial: 1-40 hex digits');

function serialFrom(raw: string): string {
  const parsed = SerialParam.safeParse(raw);
  const serial = parsed.success ? normaliseSerial(parsed.data) : undefined;
  if (!serial) throw new SemperError('ERR_SCHEMA', 'certificate serial must be 1-40 hex digits');
  return serial;
}

export function createCaApp(service: CaService): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound((c) => errorResponse(c, 'ERR_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
  // Public, credential-free data: any origin (and the extension) may read it.
  app.use('/ca/*', cors({ origin: '*', allowMethods: ['GET'] }));
  app.use('/ca/*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
  });

  app.get('/ca/root', (c) => {
    c.header('cache-control', 'no-cache');
    return c.json({ certificate: service.rootCertificate, pem: service.rootPem });
  });

  app.get('/ca/certificates/:serial', (c) => {
    const serial = serialFrom(c.req.param('serial'));
    const record = service.getCertificate(serial);
    if (!record) throw new SemperError('ERR_NOT_FOUND', `no certificate with serial ${serial}`);
    return c.json(record);
  });

  app.get('/ca/status/:serial', (c) => {
    const serial = serialFrom(c.req.param('serial'));
    const status: CertificateStatus = service.status(serial);
    // Status can change (revocation): never let a cache answer for the CA.
    c.header('cache-control', 'no-store');
    return c.json({ serial, status });
  });

  return app;
}
