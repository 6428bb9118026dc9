/**
 * core/zod.ts and zod-mini.ts: the schemas of core/ and the extension are zod/mini (issue 13: classic zod's
 * classes cannot be tree-shaken and were the largest library the worker evaluated at start), set
 * up as classic zod sets itself up. This file imports no classic zod, so what it sees is mini's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Amount } from '../../core/items/schema.js';
import { Statement } from '../../core/statements/schema.js';
import { z } from '../../core/zod.js';

describe('core/zod.ts', () => {
  it('issue messages are classic zod English (they are part of ERR_SCHEMA messages), not mini\'s bare "Invalid input"', () => {
    const parsed = Amount.safeParse({ amount: '1', currency: 'eur' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.code, i.path, i.message])).toEqual([
      ['invalid_type', ['amount'], 'Invalid input: expected number, received string'],
      ['invalid_format', ['currency'], 'ISO 4217 code'],
    ]);
  });

  it('an input with a reference cycle is parsed (the memoizer), not a stack overflow', () => {
    const body: Record<string, unknown> = { note: 'x' };
    body.self = body;
    expect(() => Statement.shape.body.safeParse(body)).not.toThrow();
  });

  it("objects are classic zod's compiled ones ($ZodObjectJIT: Node parses statements with generated code, twice as fast as mini's interpreted objects), still mini objects", () => {
    expect(Statement._zod.traits.has('$ZodObjectJIT')).toBe(true);
    expect(Amount._zod.traits.has('$ZodObjectJIT')).toBe(true);
    expect(Statement instanceof z.ZodMiniObject).toBe(true);
  });

  it('strict objects share one never for unknown keys (issue 13: one per object at every worker start) and each still refuses them', () => {
    const a = z.strictObject({ x: z.string() });
    const b = z.strictObject({ y: z.number() });
    expect(a._zod.def.catchall).toBe(b._zod.def.catchall);
    expect(a.safeParse({ x: 'x', extra: 1 }).error?.issues.map((i) => [i.code, i.path, i.message])).toEqual([
      ['unrecognized_keys', [], 'Unrecognized key: "extra"'],
    ]);
    expect(b.safeParse({ y: 1, z: 2, w: 3 }).error?.issues.map((i) => i.code)).toEqual(['unrecognized_keys']);
    expect(b.parse({ y: 1 })).toEqual({ y: 1 });
  });

  it('nothing in core/, extension/, popup/ or trusted-window/ imports classic zod: only core/zod-mini.ts imports zod, and only zod/mini', () => {
    const root = join(import.meta.dirname, '..', '..');
    const offenders: string[] = [];
    for (const dir of ['core', 'extension', 'popup', 'trusted-window']) {
      for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
        const file = join(entry.parentPath, entry.name);
        const rel = file.slice(root.length + 1);
        for (const m of readFileSync(file, 'utf8').matchAll(/from\s+['"](zod(?:\/[^'"]*)?)['"]/g)) {
          if (rel === join('core', 'zod-mini.ts') && (m[1] === 'zod/mini' || m[1]!.startsWith('zod/v4/locales/'))) continue;
          offenders.push(`${rel}: ${m[1]}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
