export * from './shopper.js';
export * from './merchant.js';
export * from './view.js';
export { parseBody, digestDelivered } from './common.js';
