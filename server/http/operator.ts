/**
 * The operator's bearer token: read-only operator routes (the merchant's stored deals) answer
 * only a request that presents it. Missing or wrong: 401 ERR_UNAUTHORIZED with
 * `WWW-Authenticate: Bearer` (RFC 6750 §3). Without a configured token a read-only route is open
 * (the demo parties listen on loopback only, http/listen.ts); a route that makes the party sign
 * (`required`: the kit's dispute, a complaint under the merchant's certified key) is closed instead
 * (403 ERR_FORBIDDEN): anything on the machine could otherwise make the merchant sign.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { errorResponse } from './errors.js';

/**
 * Compared as SHA-256 digests with timingSafeEqual: equal lengths whatever was presented, so the
 * time taken says nothing about how much of a guess was right, nor how long the token is.
 */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(token)) && presented.length > 0;
}

export function operatorOnly(token: string | undefined, options: { required?: boolean } = {}): MiddlewareHandler {
  return async (c, next) => {
    if (token === undefined && options.required) {
      return errorResponse(c, 'ERR_FORBIDDEN', 'this route makes the party sign: it needs an operator token, and none is configured');
    }
    if (token !== undefined && !tokenMatches(c.req.header('authorization'), token)) {
      c.header('www-authenticate', 'Bearer');
      return errorResponse(c, 'ERR_UNAUTHORIZED', 'operator token required');
    }
    await next();
  };
}
