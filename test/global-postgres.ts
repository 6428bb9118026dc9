/**
 * Vitest global setup: one throwaway PostgreSQL cluster per test run (scripts/postgres-cluster.ts),
 * handed to the test files as `inject('postgresUrl')`; each suite works in a schema of its own
 * (test/helpers/engines.ts). Without PostgreSQL installed the PostgreSQL variants are skipped,
 * unless SEMPER_REQUIRE_POSTGRES=1 (CI), where its absence fails the run.
 */
import type { TestProject } from 'vitest/node';
import { postgresBin, startCluster } from '../scripts/postgres-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | null;
  }
}

export default function setup(project: TestProject): () => void {
  if (!postgresBin()) {
    if (process.env.SEMPER_REQUIRE_POSTGRES === '1') throw new Error('SEMPER_REQUIRE_POSTGRES=1 but PostgreSQL is not installed (apt-get install postgresql)');
    console.warn('PostgreSQL not installed: the server suites run on SQLite only (apt-get install postgresql for both engines)');
    project.provide('postgresUrl', null);
    return () => undefined;
  }
  const cluster = startCluster();
  project.provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}
