import { purchaseFixture } from './purchase.js';
import { sealJson, canonicalJson } from '../core/encoding/index.js';
const f = await purchaseFixture();
let st: any;
await f.runOnce((s) => { st = s; });
const plain = JSON.parse(JSON.stringify(st));
for (let r = 0; r < 3; r++) {
  for (const k of ['offer', 'order', 'confirmation', 'delivery']) {
    const v = plain[k]; const n = 20000;
    let t = performance.now(); for (let i = 0; i < n; i++) sealJson(v); const a = (performance.now() - t) / n * 1000;
    t = performance.now(); for (let i = 0; i < n; i++) canonicalJson(v); const b = (performance.now() - t) / n * 1000;
    t = performance.now(); for (let i = 0; i < n; i++) structuredClone(v); const c = (performance.now() - t) / n * 1000;
    console.log(k.padEnd(13), 'seal', a.toFixed(2), 'canonical', b.toFixed(2), 'structuredClone', c.toFixed(2), 'chars', JSON.stringify(v).length);
  }
}
