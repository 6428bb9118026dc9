/**
 * The zod every schema in core/ and extension/ is written with: `zod/mini` (issue 13), set up in
 * core/zod-mini.ts. Import `{ z }` from here.
 *
 * Classic zod's method-chaining classes cannot be tree-shaken and were the largest library the
 * background worker evaluated at start (docs/speed.md, "Worker start"); zod/mini is the same
 * parsing core behind functions (`z.optional(s)`, `s.check(z.maxLength(n))`), so a schema accepts
 * and refuses exactly what its classic spelling did, with the same issue codes, paths and messages.
 */
export * as z from './zod-mini.js';
