/**
 * The storage engines a server suite runs on (issue 10): SQLite always, PostgreSQL when the run has
 * a cluster (test/global-postgres.ts). `describe.each(ENGINES)` runs a suite on each; `pgSchema()`
 * gives the suite an empty schema of its own in the run's cluster.
 */
import { inject } from 'vitest';
import { freshSchema } from '../../scripts/postgres-cluster.js';

export type EngineName = 'sqlite' | 'postgres';

// Outside a run with the global setup (the e2e config) there is no cluster: SQLite only.
const clusterUrl = (() => {
  try {
    return inject('postgresUrl') ?? null;
  } catch {
    return null;
  }
})();

export const ENGINES: EngineName[] = clusterUrl ? ['sqlite', 'postgres'] : ['sqlite'];

/** A fresh schema's URL in this run's cluster (only when ENGINES has postgres). */
export function pgSchema(prefix = 's'): Promise<string> {
  if (!clusterUrl) throw new Error('no PostgreSQL cluster in this run');
  return freshSchema(clusterUrl, prefix);
}

/** Per name, one location for the suite: the same name twice is the same database (two processes, a restart). */
export function locations<L>(engine: EngineName, sqlite: (name: string) => L, postgres: (url: string) => L): (name: string) => Promise<L> {
  const urls = new Map<string, Promise<string>>();
  return async (name) => {
    if (engine === 'sqlite') return sqlite(name);
    let url = urls.get(name);
    if (!url) {
      url = pgSchema();
      urls.set(name, url);
    }
    return postgres(await url);
  };
}
