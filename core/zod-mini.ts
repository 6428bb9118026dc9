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
 *     parses statements and messages about 2.5× as fast; under the extension's CSP it is not, both
 *     take the interpreted path, and the extension's builds use mini's objects (below).
 * The first two only where nothing is set yet, as classic zod does, so a process that loads both
 * (the servers) configures zod once and the same way. Every schema module imports this one, so
 * this body runs before any schema is built.
 */
import { config, core, memoizer, never, unknown, type ZodMiniNever, ZodMiniObject, ZodMiniType } from 'zod/mini';
import { looseObject as miniLooseObject, object as miniObject, type strictObject as miniStrictObject } from 'zod/mini';
import { array, boolean, lazy, null as jsonNull, number, record, string, union } from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { MAX_JSON_DEPTH } from './json-limits.js';

if (!core.globalConfig.localeError) config(en());
if (!core.globalConfig.memoizer) config({ memoizer: memoizer() });

export * from 'zod/mini';

/**
 * False in the extension's builds (vite.config.ts and vite.config.firefox.ts `define` it): its CSP
 * refuses `new Function`, so compiled objects would be code the worker carries and never runs
 * (1.1 KB gzip), and probing for eval at start is a refused evaluation the browser reports.
 */
declare const __SEMPER_ZOD_COMPILED_OBJECTS__: boolean | undefined;
const COMPILED = typeof __SEMPER_ZOD_COMPILED_OBJECTS__ === 'undefined' ? true : __SEMPER_ZOD_COMPILED_OBJECTS__;

// The same trait name as mini's, so `instanceof ZodMiniObject` and zod's own checks hold.
const JitObject: core.$constructor<ZodMiniObject> = /* @__PURE__ */ core.$constructor('ZodMiniObject', (inst, def) => {
  core.$ZodObjectJIT.init(inst, def);
  ZodMiniType.init(inst, def);
  core.util.installLazyProp(inst, 'shape', (self: ZodMiniObject) => self._zod.def.shape, false);
});

export const object: typeof miniObject = COMPILED
  ? (((shape?: core.$ZodLooseShape, params?: string | core.$ZodObjectParams) =>
      new JitObject({ type: 'object', shape: shape ?? {}, ...core.util.normalizeParams(params) })) as typeof miniObject)
  : miniObject;

/**
 * One `never` for every strict object's unknown keys, where mini builds one per object: it holds no
 * state, and the worker built 209 of them at every start (issue 13, docs/speed.md "Worker start").
 */
let strictCatchall: ZodMiniNever | undefined;
const unknownKeys = () => (strictCatchall ??= never());

export const strictObject: typeof miniStrictObject = ((shape: core.$ZodLooseShape, params?: string | core.$ZodObjectParams) =>
  new (COMPILED ? JitObject : ZodMiniObject)({
    type: 'object',
    shape,
    catchall: unknownKeys(),
    ...core.util.normalizeParams(params),
  })) as typeof miniStrictObject;

export const looseObject: typeof miniLooseObject = COMPILED
  ? (((shape: core.$ZodLooseShape, params?: string | core.$ZodObjectParams) =>
      new JitObject({ type: 'object', shape, catchall: unknown(), ...core.util.normalizeParams(params) })) as typeof miniLooseObject)
  : miniLooseObject;

/**
 * `z.json()` with its nesting bounded at MAX_JSON_DEPTH (RFC 8259 §9 lets a parser limit it), as
 * the canonicaliser bounds it. mini's json() is one lazy schema that refers to itself, so a value
 * nested thousands deep overflowed the stack (a RangeError, not a failed parse) wherever a message
 * carrying a statement was parsed from a party's reply (a bank's answer, a TTP's). Here each level
 * refers to the next and the last takes only strings, numbers, booleans and null: the same parse
 * and the same copy to that depth, a failed parse below it. Levels are made on first use.
 */
const jsonLevels: ZodMiniType<core.util.JSONType>[] = [];
function jsonLevel(depth: number): ZodMiniType<core.util.JSONType> {
  let level = jsonLevels[depth];
  if (!level) {
    level =
      depth === 0
        ? union([string(), number(), boolean(), jsonNull()])
        : lazy(() => union([string(), number(), boolean(), jsonNull(), array(jsonLevel(depth - 1)), record(string(), jsonLevel(depth - 1))]));
    jsonLevels[depth] = level;
  }
  return level;
}
export function json(): ZodMiniType<core.util.JSONType> {
  return jsonLevel(MAX_JSON_DEPTH);
}
