/**
 * Reading JSON request bodies at the network edge, before any handler logic (and before any rate
 * limit counts the request, http/rate-limit.ts), in this order:
 *
 *   1. Content-Type: must be application/json, checked before a byte of the body is read. Besides
 *      being honest about the format, a web page can only send another type without a CORS
 *      preflight (a no-cors fetch, a form, sendBeacon), so no other site can produce a request
 *      these endpoints accept.
 *   2. Size: a declared Content-Length over the endpoint's bound is refused at once (413); a
 *      streamed body is counted as it arrives and reading stops at the bound.
 *   3. Shape, while the body streams in: nesting deeper than `maxDepth` or more than `maxValues`
 *      values are refused as soon as they appear (400 ERR_SCHEMA), so no parser, schema or
 *      canonicaliser ever recurses through hostile depth, and a body is never parsed whole just
 *      to be refused.
 *   4. Parse, then the route's zod schema (readJson).
 * Every refusal is `{ error: { code: 'ERR_SCHEMA', message } }` with 400 or 413; nothing in the
 * reply comes from a stack.
 */
import { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { SemperError } from '../../core/errors.js';
import { MAX_JSON_DEPTH } from '../../core/json-limits.js';
import { errorResponse } from './errors.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;
/** Deepest nesting of arrays and objects accepted: the bound every parser of Semper's keeps (core/json-limits.ts). */
export { MAX_JSON_DEPTH };
/** Values (array elements and object members) accepted in one body by default. */
export const DEFAULT_MAX_VALUES = 20_000;

export interface JsonLimits {
  /** Bytes of body accepted (413 above). */
  maxBytes: number;
  /** Default MAX_JSON_DEPTH. */
  maxDepth?: number;
  /** Default DEFAULT_MAX_VALUES. */
  maxValues?: number;
}

const PARSED = 'semperJsonBody';

/** A refusal with its HTTP status (handleError, http/errors.ts, answers it as is). */
function refusal(message: string, status: ContentfulStatusCode): SemperError {
  return new SemperError('ERR_SCHEMA', message, { httpStatus: status });
}

/** The request's media type is application/json (parameters such as charset allowed). */
export function isJsonRequest(c: Context): boolean {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** Counts nesting and values of JSON text fed to it in pieces; throws at the first excess. */
function shapeScanner(what: string, maxDepth: number, maxValues: number): (piece: string) => void {
  let depth = 0;
  let values = 0;
  let inString = false;
  let escaped = false;
  return (piece) => {
    for (let i = 0; i < piece.length; i++) {
      const ch = piece.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === 0x5c) escaped = true;
        else if (ch === 0x22) inString = false;
        continue;
      }
      switch (ch) {
        case 0x22: // "
          inString = true;
          break;
        case 0x5b: // [
        case 0x7b: // {
          if (++depth > maxDepth) throw refusal(`${what}: JSON nested deeper than ${maxDepth} levels`, 400);
          values++;
          break;
        case 0x5d: // ]
        case 0x7d: // }
          depth--;
          break;
        case 0x2c: // ,
          if (++values > maxValues) throw refusal(`${what}: more than ${maxValues} JSON values`, 400);
          break;
      }
    }
  };
}

/** One chunk at a time, as a web stream's reader gives them: what readBodyText needs of a body. */
interface BodyReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Stop reading: whatever is left is the server's to drain or cut off once the answer is sent. */
  cancel(): Promise<void>;
}

const DONE: ReadableStreamReadResult<Uint8Array> = { done: true, value: undefined };

/**
 * The request's body as Node's IncomingMessage holds it, when the adaptor (@hono/node-server,
 * http/listen.ts) handed it over in `env` and nothing has touched it yet. Read from there, a body
 * costs what Node's own reading does; through `c.req.raw.body` the adaptor first builds a full
 * undici Request and wraps the message in two web streams, which cost the TTP more per request
 * than its own work outside the signatures (issue 13). The same chunks arrive either way, in the
 * same order, so the checks below see the same bytes; any other request (a Request built by hand,
 * HTTP/2, a body already being read) goes through the web stream.
 */
function incomingOf(c: Context): IncomingMessage | null {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (!(incoming instanceof IncomingMessage)) return null;
  if (incoming.readableDidRead || incoming.readableFlowing !== null || incoming.listenerCount('data') > 0 || c.req.raw.bodyUsed) return null;
  return incoming;
}

/** A reader over a paused IncomingMessage: its buffered bytes, else the next 'readable', 'end', 'error' or 'close'. */
function incomingReader(incoming: IncomingMessage): BodyReader {
  const aborted = () => incoming.errored ?? new Error('the client closed the connection before the body ended');
  return {
    read() {
      const chunk = incoming.read() as Buffer | null;
      if (chunk !== null) return Promise.resolve({ done: false as const, value: chunk });
      if (incoming.readableEnded) return Promise.resolve(DONE);
      if (incoming.destroyed) return Promise.reject(aborted());
      return new Promise((resolve, reject) => {
        const settle = () => {
          incoming.off('readable', onReadable);
          incoming.off('end', onEnd);
          incoming.off('error', onError);
          incoming.off('close', onClose);
        };
        const onReadable = () => {
          const next = incoming.read() as Buffer | null;
          if (next === null) return; // at the end: 'end' follows
          settle();
          resolve({ done: false as const, value: next });
        };
        const onEnd = () => {
          settle();
          resolve(DONE);
        };
        const onError = (e: Error) => {
          settle();
          reject(e);
        };
        const onClose = () => {
          settle();
          if (incoming.readableEnded) resolve(DONE);
          else reject(aborted());
        };
        incoming.on('readable', onReadable);
        incoming.on('end', onEnd);
        incoming.on('error', onError);
        incoming.on('close', onClose);
      });
    },
    // As the web stream's cancel does here (the adaptor's stream has no cancel of its own): reading
    // stops, the message is left paused, and the adaptor drains or closes it after the answer.
    cancel: () => Promise.resolve(),
  };
}

/** Read the body within `limits` (size, nesting, values) as text; see the module comment. */
async function readBodyText(c: Context, limits: JsonLimits, what: string): Promise<string> {
  const { maxBytes } = limits;
  const tooLarge = () => refusal(`request body exceeds ${maxBytes} bytes`, 413);
  const declared = c.req.header('content-length');
  const declaredTooLarge = declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes;
  const incoming = incomingOf(c);
  const body = incoming ? null : c.req.raw.body;
  const open = (): BodyReader | null => (incoming ? incomingReader(incoming) : body ? body.getReader() : null);
  if (!isJsonRequest(c)) {
    // Read (and drop) a body within the bound, so the client gets the answer rather than a closed connection.
    const reader = declaredTooLarge ? null : open();
    if (reader) await drain(reader, 0, maxBytes);
    throw refusal(`${what}: Content-Type must be application/json`, 400);
  }
  if (declaredTooLarge) throw tooLarge();
  const reader = open();
  if (!reader) return '';
  const scan = shapeScanner(what, limits.maxDepth ?? MAX_JSON_DEPTH, limits.maxValues ?? DEFAULT_MAX_VALUES);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const pieces: string[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge();
      const piece = decoder.decode(value, { stream: true });
      scan(piece);
      pieces.push(piece);
    }
    const rest = decoder.decode();
    scan(rest);
    pieces.push(rest);
  } catch (e) {
    const refused = e instanceof SemperError ? e : e instanceof TypeError ? refusal(`${what}: body is not UTF-8`, 400) : undefined;
    if (!refused) {
      await reader.cancel().catch(() => undefined);
      throw e;
    }
    // A refused shape: drop the rest within the bound unparsed, so the client reads the typed answer.
    if (statusOfRefusal(refused) !== 413) await drain(reader, size, maxBytes);
    else await reader.cancel().catch(() => undefined);
    throw refused;
  }
  return pieces.length === 1 ? pieces[0]! : pieces.join('');
}

/** Read and drop the rest of a body while it stays within `maxBytes`; past it, stop reading (the connection closes). */
async function drain(reader: BodyReader, size: number, maxBytes: number): Promise<void> {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
      if (size > maxBytes) break;
    }
  } catch {
    return;
  }
  await reader.cancel().catch(() => undefined);
}

async function readValue(c: Context, limits: JsonLimits, what: string): Promise<unknown> {
  const text = await readBodyText(c, limits, what);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw refusal(`${what}: body is not valid JSON`, 400);
  }
}

/**
 * The JSON edge of one POST route: Content-Type, size, nesting and value count are checked, the
 * body parsed, and kept for readJson. Put it first on the route, before any rate limit: what it
 * refuses never counts against anyone's budget.
 */
export function jsonBody(limits: JsonLimits, what = 'request'): MiddlewareHandler {
  return async (c, next) => {
    let value: unknown;
    try {
      value = await readValue(c, limits, what);
    } catch (e) {
      if (!(e instanceof SemperError)) throw e;
      // The body may not have been read to its end: the connection cannot carry another request.
      c.header('connection', 'close');
      return errorResponse(c, e.code, e.message, statusOfRefusal(e));
    }
    c.set(PARSED as never, { value } as never);
    await next();
  };
}

function statusOfRefusal(e: SemperError): ContentfulStatusCode {
  const status = e.details?.httpStatus;
  return typeof status === 'number' ? (status as ContentfulStatusCode) : 400;
}

/**
 * Refuse bodies over `maxBytes` with 413 (and anything else that is not JSON within the default
 * shape bounds, see jsonBody). Kept for routes mounted by others; new routes use jsonBody.
 */
export function jsonBodyLimit(maxBytes: number = DEFAULT_BODY_LIMIT): MiddlewareHandler {
  return jsonBody({ maxBytes });
}

function firstIssue(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed';
}

/**
 * The body, validated with `schema` (a classic or a zod/mini schema: core's are mini, core/zod.ts). The body was read by jsonBody on the route; a route without it
 * gets the same checks here with DEFAULT_BODY_LIMIT.
 */
export async function readJson<S extends z.core.$ZodType>(
  c: Context,
  schema: S,
  what: string,
  /**
   * Where the schema would only copy the value member for member, a check that takes it as it is
   * (a route's hot path; the route's test compares it with the schema). Anything else is the schema's.
   */
  asIs?: (value: unknown) => value is z.infer<S>,
): Promise<z.infer<S>> {
  const parsed = c.get(PARSED as never) as { value: unknown } | undefined;
  const value = parsed ? parsed.value : await readValue(c, { maxBytes: DEFAULT_BODY_LIMIT }, what);
  if (asIs?.(value)) return value;
  const result = z.safeParse(schema, value);
  if (!result.success) throw new SemperError('ERR_SCHEMA', `${what}: ${firstIssue(result.error)}`);
  return result.data;
}
