export * from './app.js';
export * from './client.js';
export * from './server.js';
export * from './service.js';
export * from './signature.js';
