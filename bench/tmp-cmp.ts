import { purchaseFixture } from './purchase.js';
const f = await purchaseFixture();
for (let i = 0; i < 2000; i++) { await f.run(); await f.cryptoOfRun(); }
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
const time = async (op: () => Promise<unknown>) => { const c = cpu(); const t = performance.now(); for (let i = 0; i < 300; i++) await op(); return [cpu() - c, performance.now() - t]; };
const rc: number[] = [], rw: number[] = [];
for (let r = 0; r < 15; r++) { const a = await time(f.cryptoOfRun); const b = await time(f.run); const c = await time(f.cryptoOfRun); rc.push(2 * b[0]! / (a[0]! + c[0]!)); rw.push(2 * b[1]! / (a[1]! + c[1]!)); }
const m = (x: number[]) => [...x].sort((a, b) => a - b)[7]!.toFixed(3);
console.log(process.cwd().includes('wt-base') ? 'BASE' : 'NEW ', 'wall', m(rw), 'cpu', m(rc));
