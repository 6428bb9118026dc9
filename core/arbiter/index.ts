export * from './statements.js';
export * from './evidence.js';
export * from './rule.js';
export * from './judge.js';
export { cite } from './deal.js';
