import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/firefox: the Firefox smoke run (skipped without a Firefox unless SEMPER_REQUIRE_FIREFOX=1).
    include: ['test/e2e/**/*.test.ts', 'test/attacks/**/*.test.ts', 'test/firefox/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // expect.poll's own default (1 s) is shorter than a trusted window takes to verify an offer on a
    // loaded 2-core machine; a poll that never succeeds still fails, after 10 s.
    expect: { poll: { timeout: 10_000 } },
    // Two files at a time (each its own Chromium, marketplace and ports): much of an e2e test is
    // waiting — arming delays, windows, TTP timeouts — so two share the 2 cores well (whole suite
    // 465 → 331 s here, all passing); more would starve the timing-sensitive ones.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
