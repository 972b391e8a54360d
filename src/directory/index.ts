export { connectDirectory, escapeDnValue, escapeFilterValue, tlsOptionsFor } from './connect.js';
export type { DirectoryConnectOptions } from './connect.js';
