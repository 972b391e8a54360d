import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProxyHeader, ProxyProtocolError } from '../../src/proxy-protocol/index.js';
import { freePort, waitFor } from '../helpers/run.js';

/** Starts haproxy in front of a capture server and returns the first bytes it sends for one client. */
async function captureFromHaproxy(
  sendProxy: 'send-proxy' | 'send-proxy-v2',
): Promise<{ bytes: Buffer; clientPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-haproxy-'));
  const received: Buffer[] = [];
  let gotData!: () => void;
  const dataSeen = new Promise<void>((r) => (gotData = r));
  const capture = createServer((s) => {
    s.on('data', (b: Buffer) => {
      received.push(b);
      if (Buffer.concat(received).includes('hello')) gotData();
    });
  });
  await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
  const targetPort = (capture.address() as { port: number }).port;
  const frontPort = await freePort();
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${frontPort}
  default_backend be
backend be
  server s1 127.0.0.1:${targetPort} ${sendProxy}
`,
  );
  const haproxy = spawn('/usr/sbin/haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  let client: Socket | undefined;
  try {
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = connect(frontPort, '127.0.0.1');
          probe.once('connect', () => {
            probe.destroy();
            resolve(true);
          });
          probe.once('error', () => resolve(false));
        }),
      10_000,
      'haproxy to listen',
    );
    // The probe connections above reach the capture server too; only count what follows.
    await new Promise((r) => setTimeout(r, 200));
    received.length = 0;
    client = connect(frontPort, '127.0.0.1');
    await new Promise<void>((r) => client!.once('connect', () => r()));
    const clientPort = client.localPort as number;
    client.write('hello');
    await dataSeen;
    return { bytes: Buffer.concat(received), clientPort };
  } finally {
    client?.destroy();
    haproxy.kill('SIGKILL');
    capture.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const mode of ['send-proxy-v2', 'send-proxy'] as const) {
  test(`parses the header real haproxy sends with ${mode}`, async () => {
    const { bytes, clientPort } = await captureFromHaproxy(mode);
    const header = parseProxyHeader(bytes);
    assert.ok(header.complete);
    assert.equal(header.version, mode === 'send-proxy-v2' ? 2 : 1);
    assert.deepEqual(header.source, { address: '127.0.0.1', port: clientPort });
    assert.equal(header.destination?.address, '127.0.0.1');
    assert.equal(bytes.subarray(header.length).toString(), 'hello');
    // Every proper prefix of a valid header asks for more bytes instead of failing.
    for (let i = 0; i < header.length; i++)
      assert.deepEqual(parseProxyHeader(bytes.subarray(0, i)), { complete: false });
  });
}

const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

test('v2 LOCAL command (health checks) carries no address', () => {
  const h = parseProxyHeader(Buffer.concat([sig, Buffer.from([0x20, 0x00, 0x00, 0x00])]));
  assert.deepEqual(h, { complete: true, length: 16, version: 2 });
});

test('v2 IPv6 addresses are decoded and compressed', () => {
  const body = Buffer.alloc(36);
  body[15] = 1; // ::1
  Buffer.from('20010db8000000000000000000000042', 'hex').copy(body, 16);
  body.writeUInt16BE(40000, 32);
  body.writeUInt16BE(636, 34);
  const h = parseProxyHeader(Buffer.concat([sig, Buffer.from([0x21, 0x21, 0x00, 36]), body]));
  assert.ok(h.complete);
  assert.deepEqual(h.source, { address: '::1', port: 40000 });
  assert.deepEqual(h.destination, { address: '2001:db8::42', port: 636 });
});

test('v2 TLVs after the address block are skipped', () => {
  const body = Buffer.concat([
    Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x01, 0x85]),
    Buffer.from([0x04, 0x00, 0x02, 0xaa, 0xbb]),
  ]);
  const h = parseProxyHeader(
    Buffer.concat([sig, Buffer.from([0x21, 0x11, 0x00, body.length]), body, Buffer.from('x')]),
  );
  assert.ok(h.complete);
  assert.equal(h.length, 16 + body.length);
  assert.deepEqual(h.source, { address: '10.0.0.1', port: 12345 });
});

test('malformed headers are refused with ProxyProtocolError', () => {
  const cases: Buffer[] = [
    Buffer.from('0\x84\x00\x00\x00\x05', 'latin1'), // an LDAP PDU without a header
    Buffer.concat([sig, Buffer.from([0x31, 0x11, 0x00, 0x0c]), Buffer.alloc(12)]), // version 3
    Buffer.concat([sig, Buffer.from([0x22, 0x11, 0x00, 0x0c]), Buffer.alloc(12)]), // command 2
    Buffer.concat([sig, Buffer.from([0x21, 0x11, 0x00, 0x04]), Buffer.alloc(4)]), // truncated IPv4 block
    Buffer.concat([sig, Buffer.from([0x21, 0x11, 0xff, 0xff])]), // 64 KiB header
    Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n'),
    Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'),
    Buffer.from('PROXY TCP4 a.b.c.d 5.6.7.8 1 2\r\n'),
    Buffer.from(`PROXY ${'x'.repeat(120)}`),
  ];
  for (const c of cases) assert.throws(() => parseProxyHeader(c), ProxyProtocolError, c.toString('hex'));
});

test('v1 UNKNOWN is accepted without an address', () => {
  const h = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\nrest'));
  assert.deepEqual(h, { complete: true, length: 15, version: 1 });
});
