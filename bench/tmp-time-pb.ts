import { purchaseFixture } from './purchase.js';
import * as common from '../core/commerce/common.js';
const f = await purchaseFixture();
const g = globalThis as any;
g.__T = { t: 0, n: 0 };
for (let i = 0; i < 3000; i++) await f.run();
for (let r = 0; r < 3; r++) {
  g.__T = { t: 0, n: 0 };
  const t = performance.now();
  for (let i = 0; i < 2000; i++) await f.run();
  const all = performance.now() - t;
  console.log('per purchase', (all / 2000 * 1000).toFixed(1), 'µs; parseBody', (g.__T.t / 2000 * 1000).toFixed(1), 'µs over', g.__T.n / 2000, 'calls', Object.entries(g.__T).filter(([k]) => k.length > 1).map(([k, v]: any) => `${k} ${(v / 2000 * 1000).toFixed(1)}`).join(', '));
}
