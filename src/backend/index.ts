export { BackendPool } from './pool.js';
export type { Backend, BackendPoolOptions } from './pool.js';
export { BackendLink } from './backend-link.js';
export type { BackendLinkOwner, LinkState } from './backend-link.js';
export { connectBackend } from './connect.js';
export type { ConnectOptions } from './connect.js';
