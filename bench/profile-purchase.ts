/**
 * Where a purchase's time goes beyond its inherent bound (issue 13): V8's sampling profiler over
 * N real runs, N runs of the inherent work besides ES256 (bench/purchase-bound.ts, in process) and
 * N runs of the ES256 floor, profiled in this process in alternating rounds (the same load on each); self time per sample summed by
 * code (the module a function is in, or V8's own entries such as GC), in µs per purchase, and the
 * real run's excess over bound + floor by the same groups. Not part of `npm run bench`:
 *
 *   npx tsx bench/profile-purchase.ts [runs=6000]
 */
import { Session } from 'node:inspector/promises';
import { inherentWork, type PurchaseStatements } from './purchase-bound.js';
import { purchaseFixture } from './purchase.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The group a function's self time counts under. */
function group(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `V8 builtin ${functionName || '(anonymous)'}`;
  if (url.includes('node_modules/zod')) return 'zod';
  if (url.includes('node_modules/')) return `package ${url.split('node_modules/')[1]!.split('/')[0]}`;
  if (url.startsWith('node:internal/crypto/sig')) return 'ES256 (node:crypto sign/verify)';
  if (url.startsWith('node:')) return `node ${url.replace(/^node:internal\//, '')}`;
  const core = url.match(/\/(core|bench|test)\/(.+?)(\.ts)?$/);
  if (core) return `${core[1]}/${core[2]}`;
  return url;
}

/** Self time by group over `runs` runs of `op`, added to `total` (µs in all). */
async function profile(session: Session, runs: number, op: () => Promise<unknown>, total: Map<string, number>): Promise<void> {
  await session.post('Profiler.start');
  for (let i = 0; i < runs; i++) await op();
  const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const g = group(byId.get(profile.samples[i]!)!.callFrame);
    total.set(g, (total.get(g) ?? 0) + profile.timeDeltas[i]!);
  }
}

const runs = Number(process.argv[2] ?? 6000);
const f = await purchaseFixture();
let captured: PurchaseStatements | undefined;
await f.runOnce((s) => {
  captured = s;
});
const bound = await inherentWork(captured!, { merchant: f.m.signer, shopper: f.shopper });
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
// Interleaved in rounds, so that the three are profiled under the same load.
const rounds = 10;
const real = new Map<string, number>();
const inherent = new Map<string, number>();
const floor = new Map<string, number>();
for (const op of [f.run, bound.inProcess, f.cryptoOfRun]) for (let i = 0; i < 300; i++) await op();
for (let r = 0; r < rounds; r++) {
  await profile(session, runs / rounds, f.run, real);
  await profile(session, runs / rounds, bound.inProcess, inherent);
  await profile(session, runs / rounds, f.cryptoOfRun, floor);
}
for (const m of [real, inherent, floor]) for (const [g, t] of m) m.set(g, t / runs);
session.disconnect();

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const groups = new Set([...real.keys(), ...inherent.keys(), ...floor.keys()]);
const rows = [...groups]
  .map((g) => ({ g, real: real.get(g) ?? 0, inherent: inherent.get(g) ?? 0, floor: floor.get(g) ?? 0 }))
  .map((r) => ({ ...r, excess: r.real - r.inherent - r.floor }))
  .sort((a, b) => b.excess - a.excess);
const us = (n: number) => n.toFixed(1).padStart(7);
console.log(`µs per purchase (self time, ${runs} runs each; sampling 100 µs)`);
console.log(`total: real ${us(sum(real))}, inherent besides ES256 ${us(sum(inherent))}, ES256 floor ${us(sum(floor))}`);
console.log(`${'group'.padEnd(48)}    real inherent   floor  excess`);
for (const r of rows) {
  if (Math.max(Math.abs(r.excess), r.real) < 2) continue;
  console.log(`${r.g.padEnd(48)} ${us(r.real)} ${us(r.inherent)} ${us(r.floor)} ${us(r.excess)}`);
}
