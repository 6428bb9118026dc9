import { purchaseFixture } from './purchase.js';
const f = await purchaseFixture();
(globalThis as any).__COUNT = {};
for (let i = 0; i < 10; i++) await f.run();
console.log((globalThis as any).__COUNT);
