import { Session } from 'node:inspector/promises';
import { purchaseFixture } from './purchase.js';
const runs = Number(process.argv[2] ?? 10000);
const f = await purchaseFixture();
for (let i = 0; i < 1000; i++) await f.run();
const session = new Session(); session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
await session.post('Profiler.start');
for (let i = 0; i < runs; i++) await f.run();
const { profile } = (await session.post('Profiler.stop')) as any;
(await import('node:fs')).writeFileSync('/tmp/prof/profile.json', JSON.stringify(profile));
const byId = new Map(profile.nodes.map((n: any) => [n.id, n]));
const self = new Map<string, number>();
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const incl = new Map<string, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const n: any = byId.get(profile.samples[i]);
  const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/main\//, '')}:${n.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + profile.timeDeltas[i]);
  const seen = new Set<string>();
  let id: number | undefined = n.id;
  while (id !== undefined) { const m: any = byId.get(id); const k = `${m.callFrame.functionName || '(anon)'} ${m.callFrame.url.replace(/.*\/main\//, '')}:${m.callFrame.lineNumber + 1}`; if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + profile.timeDeltas[i]); } id = parentOf.get(id); }
}
const tot = [...self.values()].reduce((a, b) => a + b, 0);
console.log('total µs/purchase', (tot / runs).toFixed(1));
console.log('--- self');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 45)) console.log((v / runs).toFixed(2).padStart(8), k);
console.log('--- inclusive');
for (const [k, v] of [...incl].filter(([k]) => k.includes('core/')).sort((a, b) => b[1] - a[1]).slice(0, 50)) console.log((v / runs).toFixed(2).padStart(8), k);
