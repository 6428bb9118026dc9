/**
 * `zod/mini` as Semper uses it (core/zod.ts exports this module as `z`), with what classic zod
 * sets up by itself and mini leaves to the caller, so that a schema written here parses exactly as
 * its classic spelling did (issue 13):
 *   - the English error map: issue messages are part of Semper's ERR_SCHEMA messages (tests and
 *     the UI show them); without it mini says only "Invalid input";
 *   - the memoizer, read when a schema is constructed: it lets one parse survive an input with
 *     reference cycles (a structured-cloned message can carry one) instead of overflowing the stack;
 *   - objects with classic zod's compiled fast path ($ZodObjectJIT; mini's objects are the
 *     interpreted $ZodObject). Where `new Function` is allowed (Node: the parties, the tests) it
 *     parses statements and messages about twice as fast; under an extension's CSP it is not, and
 *     both take the interpreted path, as classic zod did there.
 * The first two only where nothing is set yet, as classic zod does, so a process that loads both
 * (the servers) configures zod once and the same way. Every schema module imports this one, so
 * this body runs before any schema is built.
 */
import { config, core, memoizer, never, unknown, type ZodMiniObject, ZodMiniType } from 'zod/mini';
import type { looseObject as miniLooseObject, object as miniObject, strictObject as miniStrictObject } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

if (!core.globalConfig.localeError) config(en());
if (!core.globalConfig.memoizer) config({ memoizer: memoizer() });

export * from 'zod/mini';

// The same trait name as mini's, so `instanceof ZodMiniObject` and zod's own checks hold.
const JitObject: core.$constructor<ZodMiniObject> = core.$constructor('ZodMiniObject', (inst, def) => {
  core.$ZodObjectJIT.init(inst, def);
  ZodMiniType.init(inst, def);
  core.util.installLazyProp(inst, 'shape', (self: ZodMiniObject) => self._zod.def.shape, false);
});

export const object = ((shape?: core.$ZodLooseShape, params?: string | core.$ZodObjectParams) =>
  new JitObject({ type: 'object', shape: shape ?? {}, ...core.util.normalizeParams(params) })) as typeof miniObject;

export const strictObject = ((shape: core.$ZodLooseShape, params?: string | core.$ZodObjectParams) =>
  new JitObject({ type: 'object', shape, catchall: never(), ...core.util.normalizeParams(params) })) as typeof miniStrictObject;

export const looseObject = ((shape: core.$ZodLooseShape, params?: string | core.$ZodObjectParams) =>
  new JitObject({ type: 'object', shape, catchall: unknown(), ...core.util.normalizeParams(params) })) as typeof miniLooseObject;
