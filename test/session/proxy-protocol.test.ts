// PROXY protocol on listeners: the session sees the address from the load balancer's header, on ldap://
// and ldaps:// listeners, with LDAP bytes in the same segment as the header or after it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { buildServeConfig } from '../../src/config/index.js';
import { Oid, ProtocolOp, decodeExtendedResponse, encodeExtendedRequest } from '../../src/ldap/index.js';
import { createProxyServer } from '../../src/server/index.js';
import type { ProxyServer } from '../../src/server/index.js';
import { PASS } from '../../src/session/index.js';
import type { Interceptor } from '../../src/session/index.js';
import { startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { WireClient } from './ldap-wire.js';

const seen: string[] = [];
const recordAddress: Interceptor = {
  name: 'record-client-address',
  opTags: [ProtocolOp.extendedReq],
  intercept(_req, session) {
    seen.push(`${session.clientAddress}:${session.clientPort}`);
    return PASS;
  },
};

let slapd: Slapd;
let pki: TestPki;
let proxy: ProxyServer;
let plainPort: number;
let tlsPort: number;

before(async () => {
  [slapd, pki] = await Promise.all([startSlapd(), makeTestPki('127.0.0.1')]);
  const config = buildServeConfig(
    {
      listen: ['ldap://127.0.0.1:0', 'ldaps://127.0.0.1:0'],
      backend: [slapd.url],
      tls_cert: pki.certPath,
      tls_key: pki.keyPath,
      proxy_protocol: true,
    },
    {},
  );
  proxy = createProxyServer(config, { interceptors: [recordAddress], log: pino({ level: 'silent' }) });
  await proxy.start();
  [plainPort, tlsPort] = proxy.urls.map((u) => Number(new URL(u).port)) as [number, number];
});

after(async () => {
  await proxy?.shutdown(0);
  await slapd?.destroy();
  pki?.destroy();
});

const whoAmI = (id: number): Buffer => encodeExtendedRequest({ messageId: id, requestName: Oid.whoAmI });

function v2Header(address: [number, number, number, number], port: number): Buffer {
  const h = Buffer.alloc(28);
  Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]).copy(h);
  h[12] = 0x21; // version 2, PROXY
  h[13] = 0x11; // AF_INET, STREAM
  h.writeUInt16BE(12, 14);
  Buffer.from(address).copy(h, 16);
  Buffer.from([127, 0, 0, 1]).copy(h, 20);
  h.writeUInt16BE(port, 24);
  h.writeUInt16BE(389, 26);
  return h;
}

test('ldap:// listener: v1 header and the first request in one segment', async () => {
  seen.length = 0;
  const c = await WireClient.open(plainPort);
  c.write(Buffer.concat([Buffer.from('PROXY TCP4 192.0.2.7 127.0.0.1 40001 389\r\n'), whoAmI(1)]));
  const res = (await c.until(1, ProtocolOp.extendedResp)).pop()!;
  assert.equal(decodeExtendedResponse(res.frame).resultCode, 0);
  c.destroy();
  assert.deepEqual(seen, ['192.0.2.7:40001']);
});

test('ldap:// listener: v2 header alone, then requests', async () => {
  seen.length = 0;
  const c = await WireClient.open(plainPort);
  c.write(v2Header([198, 51, 100, 9], 50123));
  c.write(whoAmI(1));
  await c.until(1, ProtocolOp.extendedResp);
  c.destroy();
  assert.deepEqual(seen, ['198.51.100.9:50123']);
});

test('ldaps:// listener: the header precedes the TLS handshake', async () => {
  seen.length = 0;
  for (const [addr, port] of [
    [[203, 0, 113, 5], 1111],
    [[203, 0, 113, 6], 2222],
  ] as const) {
    const raw = netConnect(tlsPort, '127.0.0.1');
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    raw.write(v2Header([...addr], port));
    // The second connection lets the header arrive on its own first (TLS then wraps the socket directly).
    if (port === 2222) await new Promise((r) => setTimeout(r, 100));
    const secure = tlsConnect({ socket: raw, ca: pki.caCertPem, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const reply = new Promise<Buffer>((resolve) => secure.once('data', resolve));
    secure.write(whoAmI(1));
    assert.equal(decodeExtendedResponse(await reply).resultCode, 0);
    secure.destroy();
  }
  assert.deepEqual(seen, ['203.0.113.5:1111', '203.0.113.6:2222']);
});

test('a connection without a valid PROXY header is closed and nothing reaches the backend', async () => {
  seen.length = 0;
  const c = await WireClient.open(plainPort);
  c.write(whoAmI(1));
  await c.waitClosed();
  assert.equal(await c.next(), undefined);
  assert.deepEqual(seen, []);
});
