import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Unit, protocol and server tests run in Node. e2e and attack suites drive the built extension
// in Chromium and have their own config (vitest.e2e.config.ts) so they run one file at a time.
export default defineConfig({
  test: {
    include: [
      'test/core/**/*.test.ts',
      'test/protocols/**/*.test.ts',
      'test/server/**/*.test.ts',
      'test/extension/**/*.test.ts',
      'test/mutation/**/*.test.ts',
      'test/scripts/**/*.test.ts',
    ],
    environment: 'node',
    // One module graph per worker instead of one per file: importing core, pkijs, x509, zod and
    // the servers again for each of 120 files cost more than a third of the suite. Files must not
    // rely on fresh module state (none do; a test that handed a server's Headers to fetch did).
    isolate: false,
    // Without isolation Vitest would run every file in one worker here (measured: 59 s → 40 s for
    // core + extension with two); at least two, more where the machine has them.
    maxWorkers: Math.max(2, availableParallelism()),
    // One throwaway PostgreSQL cluster per run: the server suites run on SQLite and PostgreSQL.
    globalSetup: ['test/global-postgres.ts', 'test/global-server-build.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
