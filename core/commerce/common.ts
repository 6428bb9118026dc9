import type { z } from 'zod';
import { SemperError } from '../errors.js';
import { decodeBase64url, encodeBase64url, sha256, utf8 } from '../encoding/index.js';
import type { DeliveredGood, OrderSignatureDemand } from '../protocol/commerce.js';

/** Validate a statement body against its schema; the error names the field that broke it. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SemperError('ERR_SCHEMA', `${what}: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}`);
  }
  return parsed.data;
}

export async function digestDelivered(good: Pick<DeliveredGood, 'content' | 'encoding'>): Promise<string> {
  const bytes = good.encoding === 'utf8' ? utf8(good.content) : decodeBase64url(good.content);
  return encodeBase64url(await sha256(bytes));
}

/** The shopper's order must meet the demand the merchant signed into its offer. */
export function checkSignatureDemand(demand: OrderSignatureDemand | undefined, alg: string, userVerified: boolean | undefined): void {
  if (!demand) return;
  if (demand.hardwareToken && alg !== 'webauthn-ES256') {
    throw new SemperError('ERR_HARDWARE_TOKEN_REQUIRED', 'this offer must be ordered with a hardware security key');
  }
  if (demand.userVerification && userVerified !== true) {
    throw new SemperError('ERR_HARDWARE_TOKEN_REQUIRED', 'this offer must be ordered with a security key that verified the user (PIN or biometrics)');
  }
}
