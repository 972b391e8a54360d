// A proxy in the test process (so a test can read its internals, such as the read-buffer pool counts), in
// front of one backend, on a free loopback port, with a silent log.
import { pino } from 'pino';
import { buildServeConfig } from '../../src/config/index.js';
import { createProxyServer } from '../../src/server/index.js';
import type { ProxyServer } from '../../src/server/index.js';

export async function startInProcessProxy(backendUrl: string): Promise<{ proxy: ProxyServer; port: number }> {
  const config = buildServeConfig({ listen: ['ldap://127.0.0.1:0'], backend: [backendUrl] }, {});
  const proxy = createProxyServer(config, { log: pino({ level: 'silent' }) });
  await proxy.start();
  return { proxy, port: Number(new URL(proxy.urls[0] as string).port) };
}
