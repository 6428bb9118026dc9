/**
 * Reading JSON request bodies at the network edge: size-limited, media-type checked, parsed and
 * schema-validated before any handler logic sees them.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import { errorResponse } from './errors.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Refuse bodies over `maxBytes` with 413 before they are buffered (Content-Length and streamed bytes both count). */
export function jsonBodyLimit(maxBytes: number = DEFAULT_BODY_LIMIT): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => errorResponse(c, 'ERR_SCHEMA', `request body exceeds ${maxBytes} bytes`, 413),
  });
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed';
}

/**
 * Parse and validate a JSON body. Requires `Content-Type: application/json`: besides being
 * honest about the format, it means a plain HTML form on another site can never produce a
 * request these endpoints accept.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S, what: string): Promise<z.infer<S>> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new SemperError('ERR_SCHEMA', `${what}: Content-Type must be application/json`);
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new SemperError('ERR_SCHEMA', `${what}: body is not valid JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SemperError('ERR_SCHEMA', `${what}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}
