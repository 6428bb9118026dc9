/**
 * Statements out of a deal's stored state, for export: every value shaped like a signed statement
 * (schema.ts), at any depth, including statements carried inside other statements' bodies (an
 * order's offer, a TTP answer's m1 and m2), outermost first, each once. Only the deal's own
 * statements go into its bundle (a bundle holds one deal); others are counted, not exported.
 */
import { Statement } from '../statements/schema.js';
import { statementDigest } from '../statements/sign.js';

export interface CollectedStatements {
  statements: Statement<unknown>[];
  /** Statements of other deals (dealId differs) found in the value, not collected. */
  otherDeals: number;
}

export async function collectStatements(value: unknown, dealId: string, maxDepth = 64): Promise<CollectedStatements> {
  const found: Statement<unknown>[] = [];
  let otherDeals = 0;
  const walk = (v: unknown, depth: number): void => {
    if (depth > maxDepth || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    if ('signature' in o && 'type' in o && 'dealId' in o) {
      const parsed = Statement.safeParse(o);
      if (parsed.success) {
        if (parsed.data.dealId === dealId) found.push(o as unknown as Statement<unknown>);
        else otherDeals++;
      }
    }
    for (const x of Object.values(o)) walk(x, depth + 1);
  };
  walk(value, 0);
  const seen = new Set<string>();
  const statements: Statement<unknown>[] = [];
  for (const s of found) {
    const id = await statementDigest(s);
    if (seen.has(id)) continue;
    seen.add(id);
    statements.push(s);
  }
  return { statements, otherDeals };
}

/** A role for a statement in a bundle: its type without the `semper.` prefix. */
export function roleOf(statement: Statement<unknown>): string {
  return statement.type.replace(/^semper\./, '');
}
