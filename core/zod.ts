/**
 * The zod every schema in core/ and extension/ is written with: `zod/mini` (issue 13).
 *
 * Classic zod's method-chaining classes cannot be tree-shaken and were the largest library the
 * background worker evaluated at start (docs/speed.md, "Worker start"); zod/mini is the same
 * parsing core behind functions (`z.optional(s)`, `s.check(z.maxLength(n))`), so a schema accepts
 * and refuses exactly what its classic spelling did, with the same issue codes and paths.
 *
 * What classic zod installs on its own and mini leaves to the caller, installed here before any
 * schema is built (every schema module imports `z` from this module, so this body runs first):
 *   - the English error map: issue messages are part of Semper's ERR_SCHEMA messages (tests and
 *     the UI show them); without it mini says only "Invalid input";
 *   - the memoizer, read when a schema is constructed: it lets one parse survive an input with
 *     reference cycles (a structured-cloned message can carry one) instead of overflowing the stack.
 * Both only where nothing is set yet, as classic zod does, so a process that loads both (the
 * servers) configures zod once and the same way.
 */
import { config, core, memoizer } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

if (!core.globalConfig.localeError) config(en());
if (!core.globalConfig.memoizer) config({ memoizer: memoizer() });

export * as z from 'zod/mini';
