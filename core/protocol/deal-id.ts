/**
 * A deal's id on the wire and in every store (core/protocol/commerce.ts re-exports it). Its own
 * module so the service worker's start script can check a request naming a deal without building
 * the purchase flow's schemas (issue 13, worker start).
 */
import { z } from '../zod.js';

export const DealId = z.string().check(z.regex(/^[A-Za-z0-9_-]{16,64}$/, 'deal id'));
