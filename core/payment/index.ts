export * from './types.js';
export * from './manager.js';
export * from './modules.js';
export * from './signing.js';
export * as cash from './cash/index.js';
export * as account from './account/index.js';
export * as cheque from './cheque/index.js';
export * as card from './card/index.js';
