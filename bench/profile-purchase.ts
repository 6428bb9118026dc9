/**
 * Where a purchase's time goes beyond its inherent bound (issue 13). Two measurements, each over
 * the real run, the inherent work besides ES256 (bench/purchase-bound.ts, in process) and the
 * ES256 floor, in alternating rounds so that the load falls on all three:
 *
 *   - V8's sampling profiler: self time summed by group of code, µs per purchase, and the real
 *     run's excess over bound + floor by the same groups. A sampling profiler charges native calls
 *     unevenly, so ES256 itself is measured directly instead:
 *   - node:crypto's sign and verify timed call by call (performance.now around each): what the
 *     same ES256 operations cost inside a purchase against the floor's tight loop.
 *
 * Not part of `npm run bench`:   npx tsx bench/profile-purchase.ts [runs=20000]
 */
import { Session } from 'node:inspector/promises';
import { inherentWork, type PurchaseStatements } from './purchase-bound.js';
import { purchaseFixture } from './purchase.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const GROUPS: [string, (url: string, fn: string) => boolean][] = [
  [
    'ES256 (node:crypto sign/verify, as sampled)',
    (u, f) => u.startsWith('node:internal/crypto/sig') || u.endsWith('core/crypto/keys.ts') || (!u && (f === 'run' || f === 'SignJob')),
  ],
  ['RFC 8785 text and sealed copies (core/encoding canonical-json)', (u) => u.endsWith('encoding/canonical-json.ts')],
  ['UTF-8 (TextEncoder)', (u, f) => u === 'node:internal/encoding' || (!u && f === 'encodeUtf8String')],
  ['SHA-256', (u, f) => u.startsWith('node:internal/crypto/hash') || u.endsWith('encoding/digest.ts') || (!u && f === 'oneShotDigest')],
  ['base64url', (u, f) => u.endsWith('encoding/base64url.ts') || u === 'node:buffer' || (!u && f.startsWith('base64url'))],
  ['body schema checks (core/commerce/accept.ts, zod)', (u) => u.endsWith('commerce/accept.ts') || u.includes('node_modules/zod')],
  ['envelope checks (core/statements/schema.ts)', (u) => u.endsWith('statements/schema.ts')],
  ['statement signing and verification glue (core/statements)', (u) => u.includes('/core/statements/')],
  ['certificate chain (core/pki)', (u) => u.includes('/core/pki/')],
  ['purchase logic and states (core/commerce)', (u) => u.includes('/core/commerce/')],
  ['random ids (core/machine.ts)', (u) => u.endsWith('core/machine.ts') || u.startsWith('node:internal/crypto/random')],
  ['garbage collection', (u, f) => !u && f === '(garbage collector)'],
  ['the bench itself', (u) => u.includes('/bench/')],
];

function group(frame: ProfileNode['callFrame']): string {
  for (const [name, test] of GROUPS) if (test(frame.url, frame.functionName)) return name;
  return 'other (V8 builtins, (program), node internals)';
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

const runs = Number(process.argv[2] ?? 20000);
const rounds = 10;
const f = await purchaseFixture();
let captured: PurchaseStatements | undefined;
await f.runOnce((s) => {
  captured = s;
});
const bound = await inherentWork(captured!, { merchant: f.m.signer, shopper: f.shopper });
const ops = { real: f.run, inherent: bound.inProcess, floor: f.cryptoOfRun, least: bound.inProcessWithEs256 };
for (const op of Object.values(ops)) for (let i = 0; i < 300; i++) await op();

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 1000 });
const sampled = { real: new Map<string, number>(), inherent: new Map<string, number>(), floor: new Map<string, number>() };
for (let r = 0; r < rounds; r++) {
  for (const name of ['real', 'inherent', 'floor'] as const) await profile(session, runs / rounds, ops[name], sampled[name]);
}
session.disconnect();
for (const m of Object.values(sampled)) for (const [g, t] of m) m.set(g, t / runs);

// ES256 timed call by call: node:crypto's functions are looked up on its module object at each call (core/crypto/keys.ts).
const nodeCrypto = process.getBuiltinModule('node:crypto') as unknown as Record<'sign' | 'verify', (...a: unknown[]) => unknown>;
const clock = { sign: 0, verify: 0, signs: 0, verifies: 0 };
for (const fn of ['sign', 'verify'] as const) {
  const original = nodeCrypto[fn];
  nodeCrypto[fn] = (...a: unknown[]) => {
    const t = performance.now();
    const out = original(...a);
    clock[fn] += performance.now() - t;
    clock[fn === 'sign' ? 'signs' : 'verifies']++;
    return out;
  };
}
const timed: Record<string, { sign: number[]; verify: number[]; purchase: number[] }> = {};
const per = 1000;
for (let r = 0; r < 7; r++) {
  for (const [name, op] of Object.entries(ops)) {
    Object.assign(clock, { sign: 0, verify: 0, signs: 0, verifies: 0 });
    const t = performance.now();
    for (let i = 0; i < per; i++) await op();
    timed[name] ??= { sign: [], verify: [], purchase: [] };
    const row = timed[name];
    row.purchase.push(((performance.now() - t) / per) * 1000);
    row.sign.push((clock.sign / clock.signs) * 1000);
    row.verify.push((clock.verify / clock.verifies) * 1000);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const us = (n: number) => n.toFixed(1).padStart(7);

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const names = new Set([...sampled.real.keys(), ...sampled.inherent.keys(), ...sampled.floor.keys()]);
const rows = [...names]
  .map((g) => ({ g, real: sampled.real.get(g) ?? 0, inherent: sampled.inherent.get(g) ?? 0, floor: sampled.floor.get(g) ?? 0 }))
  .map((r) => ({ ...r, excess: r.real - r.inherent - r.floor }))
  .sort((a, b) => b.excess - a.excess);
console.log(`sampled self time, µs per purchase (${runs} runs each, 1 ms sampling, ${rounds} alternating rounds)`);
console.log(`total: real ${us(sum(sampled.real))}, inherent besides ES256 ${us(sum(sampled.inherent))}, ES256 floor ${us(sum(sampled.floor))}`);
console.log(`${'group'.padEnd(66)}    real inherent   floor  excess`);
for (const r of rows) console.log(`${r.g.padEnd(66)} ${us(r.real)} ${us(r.inherent)} ${us(r.floor)} ${us(r.excess)}`);
console.log(`\nES256 timed call by call (medians of 7 rounds of ${per}), µs:`);
for (const [name, row] of Object.entries(timed)) {
  const purchase = median(row.purchase);
  // The inherent work makes no signature: only its time per purchase.
  if (name === 'inherent') {
    console.log(`${name.padEnd(9)} no ES256; per purchase ${us(purchase)}`);
    continue;
  }
  const es = 4 * median(row.sign) + 4 * median(row.verify);
  console.log(
    `${name.padEnd(9)} sign ${us(median(row.sign))}  verify ${us(median(row.verify))}  its 4 + 4: ${us(es)}  per purchase ${us(purchase)}  the rest ${us(purchase - es)}`,
  );
}
