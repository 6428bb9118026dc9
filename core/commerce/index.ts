export * from './shopper.js';
export * from './merchant.js';
export * from './view.js';
export * from './exchange-deal.js';
export * from './exchange-shopper.js';
export * from './exchange-merchant.js';
export { parseBody, digestDelivered } from './common.js';
