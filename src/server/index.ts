export { ProxyServer, createProxyServer } from './proxy-server.js';
export type { ProxyServerOptions } from './proxy-server.js';
export { createLogger } from './log.js';
