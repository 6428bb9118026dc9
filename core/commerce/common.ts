import type { z } from 'zod';
import { SemperError } from '../errors.js';
import { decodeBase64url, encodeBase64url, sha256, utf8 } from '../encoding/index.js';
import type { DeliveredGood } from '../protocol/commerce.js';

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
