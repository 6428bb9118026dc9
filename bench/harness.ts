/** Tiny benchmark harness: run an async op repeatedly for a time budget, report ops per second. */
export interface Rate {
  name: string;
  opsPerSecond: number;
  iterations: number;
}

export async function measure(name: string, op: () => Promise<unknown>, budgetMs = 1500, minIterations = 20): Promise<Rate> {
  // Warm up (JIT, key import caches) before timing.
  for (let i = 0; i < 5; i++) await op();
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs || iterations < minIterations) {
    await op();
    iterations++;
    elapsed = performance.now() - start;
  }
  return { name, opsPerSecond: (iterations * 1000) / elapsed, iterations };
}

export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(2);
}
