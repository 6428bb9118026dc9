import { purchaseFixture } from './purchase.js';
const flag = process.argv[2] ?? '__E1';
const g = globalThis as any;
const f = await purchaseFixture();
for (let i = 0; i < 2000; i++) { await f.run(); await f.cryptoOfRun(); }
const base: number[] = [], vari: number[] = [];
const time = async (op: () => Promise<unknown>) => { const t = performance.now(); for (let i = 0; i < 300; i++) await op(); return performance.now() - t; };
for (let r = 0; r < 21; r++) {
  const fl = await time(f.cryptoOfRun);
  let a = 0, b = 0;
  if (r % 2 === 0) { g[flag] = false; a = await time(f.run); g[flag] = true; b = await time(f.run); }
  else { g[flag] = true; b = await time(f.run); g[flag] = false; a = await time(f.run); }
  g[flag] = false;
  const fl2 = await time(f.cryptoOfRun);
  base.push(2 * a / (fl + fl2)); vari.push(2 * b / (fl + fl2));
}
const med = (x: number[]) => [...x].sort((a, b) => a - b)[10]!;
const diffs = base.map((b, i) => b - vari[i]!);
console.log(flag, 'base', med(base).toFixed(3), 'variant', med(vari).toFixed(3), 'saved (median of paired)', med(diffs).toFixed(3));
