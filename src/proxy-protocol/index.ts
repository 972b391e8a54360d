export { parseProxyHeader, ProxyProtocolError } from './parse.js';
export type { ProxyAddress, ProxyHeader } from './parse.js';
