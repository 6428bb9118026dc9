import { purchaseFixture } from './purchase.js';
import { parseBody } from '../core/commerce/common.js';
import { OfferBody, OrderBody, ConfirmationBody, DeliveryBody, OfferRequest } from '../core/protocol/commerce.js';
import { verifyStatement } from '../core/statements/index.js';
const f = await purchaseFixture();
let st: any;
await f.runOnce((s) => { st = s; });
const req = f.req();
const pairs: [string, any, any][] = [];
for (const [k, schema] of [['offer', OfferBody], ['order', OrderBody], ['confirmation', ConfirmationBody], ['delivery', DeliveryBody]] as const) {
  const v = await verifyStatement(st[k], { trust: { roots: f.ctx.roots, now: new Date() } });
  pairs.push([k, schema, v.statement.body]);
}
pairs.push(['request', OfferRequest, req]);
for (let r = 0; r < 3; r++) for (const [k, schema, body] of pairs) {
  const n = 20000; const t = performance.now();
  for (let i = 0; i < n; i++) parseBody(schema, body, k);
  console.log(k, ((performance.now() - t) / n * 1000).toFixed(2), 'µs');
}
for (let r = 0; r < 3; r++) {
  const n = 20000; const t = performance.now();
  for (let i = 0; i < n; i++) for (const [k, schema, body] of pairs) parseBody(schema, body, k);
  console.log('round robin all 5', ((performance.now() - t) / n * 1000).toFixed(2), 'µs');
}
