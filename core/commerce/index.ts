export * from './shopper.js';
export * from './merchant.js';
export * from './view.js';
export * from './exchange-deal.js';
export { parseBody, digestDelivered } from './common.js';
