/**
 * The mutation manifests stay true to the code: every listed check's text is in its file exactly
 * once and every listed test file exists. A refactor that moves or rewrites a check must update its
 * entry (and re-run `npm run mutation`), or this fails — the tables in docs/mutation-*.md never
 * silently describe code that is gone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checks as exchange } from './exchange.js';
import { checks as pki } from './pki.js';
import { checks as fair } from './fair.js';
import { checks as purchase } from './purchase.js';
import { checks as extension } from './extension.js';
import { checks as servers } from './servers.js';
import { checks as money } from './money.js';
import { checks as evidence } from './evidence.js';
import type { SecurityCheck } from './types.js';

/** Each manifest with the fewest checks it may hold (a manifest emptied by mistake fails). */
const manifests: [string, SecurityCheck[], number][] = [
  ['exchange', exchange, 100],
  ['purchase', purchase, 100],
  ['pki', pki, 100],
  ['fair', fair, 30],
  ['extension', extension, 30],
  ['servers', servers, 15],
  ['money', money, 100],
  ['evidence', evidence, 100],
];

describe.each(manifests)('mutation manifest %s', (_name, checks, atLeast) => {
  it('names each check once, by text that occurs exactly once in its file, with existing test files', () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const c of checks) {
      if (ids.has(c.id)) problems.push(`${c.id}: duplicate id`);
      ids.add(c.id);
      if (!existsSync(c.file)) {
        problems.push(`${c.id}: ${c.file} does not exist`);
        continue;
      }
      const text = readFileSync(c.file, 'utf8');
      const at = text.indexOf(c.find);
      if (at < 0) problems.push(`${c.id}: its text is no longer in ${c.file}`);
      else if (text.indexOf(c.find, at + 1) >= 0) problems.push(`${c.id}: its text occurs more than once in ${c.file}`);
      if (c.find === c.replace) problems.push(`${c.id}: the mutation changes nothing`);
      for (const t of c.tests) if (!existsSync(t)) problems.push(`${c.id}: test file ${t} does not exist`);
    }
    expect(problems).toEqual([]);
    expect(checks.length).toBeGreaterThanOrEqual(atLeast);
  });
});
