/**
 * A/B of the whole purchase between two checkouts, in one process (issue 13). On this machine the
 * purchase's ratio to its ES256 floor moves by ±0.1 between runs minutes apart (1.47× and 1.70× for
 * the same code), more than most single changes are worth; two separate bench runs cannot tell
 * them apart. Here both checkouts' bench/purchase.ts are bundled (esbuild, as tsx transpiles),
 * loaded side by side, and measured in alternating rounds — the floor, A and B (their order swapped
 * every round), the floor again — so the load falls on both alike: the paired difference of the
 * per-round ratios is the figure. A checkout against itself gives 0.00 ± 0.01.
 *
 * Not part of `npm run bench`:
 *   npx tsx bench/ab-purchase.ts <checkout A> [checkout B = this one] [rounds = 21]
 * e.g. `git worktree add /tmp/base <commit>` (with node_modules linked) and compare against it.
 */
import { build } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type Fixture = { run(): Promise<void>; cryptoOfRun(): Promise<void> };

const here = resolve(import.meta.dirname, '..');
const [a, b = here, roundsArg = '21'] = process.argv.slice(2);
if (!a) {
  console.error('usage: npx tsx bench/ab-purchase.ts <checkout A> [checkout B] [rounds]');
  process.exit(2);
}
const out = mkdtempSync(join(tmpdir(), 'semper-ab-'));

async function fixtureOf(checkout: string, name: string): Promise<Fixture> {
  const dir = resolve(checkout);
  const file = join(out, `${name}.mjs`);
  await build({
    stdin: { contents: "export { purchaseFixture } from './bench/purchase.ts';", resolveDir: dir, sourcefile: 'ab-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: file,
    logLevel: 'warning',
  });
  const mod = (await import(pathToFileURL(file).href)) as { purchaseFixture(): Promise<Fixture> };
  return mod.purchaseFixture();
}

const fa = await fixtureOf(a, 'a');
const fb = await fixtureOf(b, 'b');
for (let i = 0; i < 2000; i++) {
  await fa.run();
  await fb.run();
  await fa.cryptoOfRun();
}
const timed = async (op: () => Promise<void>, n = 300) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await op();
  return performance.now() - t;
};
const rounds = Number(roundsArg);
const ra: number[] = [];
const rb: number[] = [];
for (let r = 0; r < rounds; r++) {
  const before = await timed(fa.cryptoOfRun);
  let ta: number;
  let tb: number;
  if (r % 2 === 0) {
    ta = await timed(fa.run);
    tb = await timed(fb.run);
  } else {
    tb = await timed(fb.run);
    ta = await timed(fa.run);
  }
  const floor = (before + (await timed(fa.cryptoOfRun))) / 2;
  ra.push(ta / floor);
  rb.push(tb / floor);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
console.log(`A ${a}: ${median(ra).toFixed(3)}× its ES256 floor`);
console.log(`B ${b}: ${median(rb).toFixed(3)}× its ES256 floor`);
console.log(`A − B, median of the ${rounds} paired rounds: ${median(ra.map((x, i) => x - rb[i]!)).toFixed(3)}× the floor`);
