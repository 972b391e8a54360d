export { connectDirectory, escapeDnValue, escapeFilterValue, tlsOptionsFor } from './connect.js';
export type { DirectoryConnectOptions } from './connect.js';
export { DirectoryUnavailableError, ServicePool } from './service-pool.js';
export type { ServicePoolOptions } from './service-pool.js';
export { LookupFailure, REV_SHR_TOK_PREFIX, ServiceDirectory, equalityFilter } from './token-lookup.js';
export type { LookupFailureReason, TokenDirectory, TokenLookupOptions, TokenRecord } from './token-lookup.js';
export { ChangeWatcher, PERSISTENT_SEARCH_OID, SYNC_REQUEST_OID } from './change-watcher.js';
export type { ChangeWatcherOptions, DirectoryChange, WatchMechanism } from './change-watcher.js';
