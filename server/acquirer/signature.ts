/**
 * The acquirer's request signature: `Acquirer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`
 * with the merchant's signing secret over
 *
 *     t "." METHOD "." path "." idempotency key (or empty) "." body
 *
 * The body alone would let whoever holds one signed request replay its body on another endpoint,
 * or under another idempotency key (a second charge); the timestamp bounds replays to a tolerance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'acquirer-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Seconds a signature's timestamp may differ from the acquirer's clock. */
export const SIGNATURE_TOLERANCE_S = 300;

export function signedPayload(t: number, method: string, path: string, idempotencyKey: string | undefined, body: string): string {
  return `${t}.${method.toUpperCase()}.${path}.${idempotencyKey ?? ''}.${body}`;
}

export function signRequest(secret: string, t: number, method: string, path: string, idempotencyKey: string | undefined, body: string): string {
  const mac = createHmac('sha256', secret)
    .update(signedPayload(t, method, path, idempotencyKey, body))
    .digest('hex');
  return `t=${t},v1=${mac}`;
}

/** Does the header carry a valid signature of this request, within the tolerance of `nowS`? */
export function verifyRequestSignature(
  secret: string,
  header: string | undefined,
  r: { method: string; path: string; idempotencyKey: string | undefined; body: string; nowS: number },
): boolean {
  if (!header) return false;
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header.trim());
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(r.nowS - t) > SIGNATURE_TOLERANCE_S) return false;
  const expected = createHmac('sha256', secret)
    .update(signedPayload(t, r.method, r.path, r.idempotencyKey, r.body))
    .digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}
