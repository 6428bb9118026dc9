/** Tiny benchmark harness: run an async op repeatedly for a time budget, report ops per second (wall) and CPU per op. */
export interface Rate {
  name: string;
  opsPerSecond: number;
  iterations: number;
  /** Process CPU time (all threads: main thread and WebCrypto's thread pool) per op, ms. */
  cpuMsPerOp: number;
}

export async function measure(name: string, op: () => Promise<unknown>, budgetMs = 1500, minIterations = 20): Promise<Rate> {
  // Warm up (JIT, key import caches) before timing.
  for (let i = 0; i < 5; i++) await op();
  let iterations = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs || iterations < minIterations) {
    await op();
    iterations++;
    elapsed = performance.now() - start;
  }
  const cpu = process.cpuUsage(cpu0);
  return { name, opsPerSecond: (iterations * 1000) / elapsed, iterations, cpuMsPerOp: (cpu.user + cpu.system) / 1000 / iterations };
}

/** Run `count` ops with `concurrency` in flight; ops per second (wall). */
export async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
  return items.length / ((performance.now() - t0) / 1000);
}

export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(2);
}

/** One figure of issue 13's table: the measured value against its honest floor, and its goal. */
export interface Figure {
  figure: string;
  ratio: number;
  /** How the ratio reads, e.g. '× its crypto' */
  unit: string;
  goal: { op: '<=' | '>='; value: number };
  detail: string;
}

export function figureLine(f: Figure): string {
  const met = f.goal.op === '<=' ? f.ratio <= f.goal.value : f.ratio >= f.goal.value;
  return `${f.figure}: ${f.ratio.toFixed(2)}${f.unit}  (goal ${f.goal.op} ${f.goal.value}: ${met ? 'met' : 'NOT met'})  — ${f.detail}`;
}

export interface InterleavedRatio {
  ratio: number;
  a: Rate;
  b: Rate;
  /** The same rounds by CPU time (all threads), whichever clock `ratio` is by. */
  cpuRatio: number;
  /** The middle half of the per-round ratios (first and third quartile, by `ratio`'s clock): how far the rounds spread. */
  spread: { low: number; high: number };
}

/**
 * The ratio of two ops' costs (ms per op, wall or CPU), measured interleaved: `rounds` rounds of
 * `a` then `b`, each for `budgetMs`, and the median of the per-round ratios cost(a) / cost(b). On a
 * shared machine the load changes from second to second; interleaving puts both under the same load.
 */
export async function interleavedRatio(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  options: { rounds?: number; budgetMs?: number; cpu?: boolean } = {},
): Promise<InterleavedRatio> {
  const rounds = options.rounds ?? 7;
  const budget = options.budgetMs ?? 400;
  const cost = (r: Rate) => (options.cpu ? r.cpuMsPerOp : 1000 / r.opsPerSecond);
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  let lastA!: Rate;
  let lastB!: Rate;
  for (let i = 0; i < rounds; i++) {
    lastA = await measure('a', a, budget, 10);
    lastB = await measure('b', b, budget, 10);
    ratios.push(cost(lastA) / cost(lastB));
    cpuRatios.push(lastA.cpuMsPerOp / lastB.cpuMsPerOp);
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(rounds / 2)]!;
  const ratio = median(ratios);
  // `ratios` is sorted now.
  const spread = { low: ratios[Math.floor((rounds - 1) / 4)]!, high: ratios[Math.ceil((3 * (rounds - 1)) / 4)]! };
  return { ratio, a: lastA, b: lastB, cpuRatio: median(cpuRatios), spread };
}

export interface InterleavedRatios {
  /** Per op: the median over the rounds of cost(op) / cost(base), wall and CPU. */
  ratio: Record<string, number>;
  cpuRatio: Record<string, number>;
  /** Per op and round, cost(op) / cost(base) (wall, CPU): for figures that combine ops within one round. */
  rounds: { ratio: Record<string, number>; cpuRatio: Record<string, number> }[];
}

/** The median of a list of numbers (the upper one of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * interleavedRatio for several ops against one base: each round measures the base, then every op,
 * so all ratios of a round are under the same load; medians of the per-round ratios.
 */
export async function interleavedRatios(
  base: () => Promise<unknown>,
  ops: Record<string, () => Promise<unknown>>,
  options: { rounds?: number; budgetMs?: number } = {},
): Promise<InterleavedRatios> {
  const rounds = options.rounds ?? 7;
  const budget = options.budgetMs ?? 400;
  const names = Object.keys(ops);
  const perRound: InterleavedRatios['rounds'] = [];
  for (let i = 0; i < rounds; i++) {
    const b = await measure('base', base, budget, 10);
    const round: InterleavedRatios['rounds'][number] = { ratio: {}, cpuRatio: {} };
    for (const name of names) {
      const r = await measure(name, ops[name]!, budget, 10);
      round.ratio[name] = 1000 / r.opsPerSecond / (1000 / b.opsPerSecond);
      round.cpuRatio[name] = r.cpuMsPerOp / b.cpuMsPerOp;
    }
    perRound.push(round);
  }
  const ratio: Record<string, number> = {};
  const cpuRatio: Record<string, number> = {};
  for (const name of names) {
    ratio[name] = median(perRound.map((r) => r.ratio[name]!));
    cpuRatio[name] = median(perRound.map((r) => r.cpuRatio[name]!));
  }
  return { ratio, cpuRatio, rounds: perRound };
}
