// Connection limit, idle timeout, failover across backends, certificate reload, and draining on shutdown.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { Attribute, Change, Client } from 'ldapts';
import { BerWriter } from '../../src/ber/index.js';
import { pino } from 'pino';
import { buildServeConfig } from '../../src/config/index.js';
import type { ServeConfig } from '../../src/config/index.js';
import {
  Oid,
  ProtocolOp,
  ResultCode,
  decodeExtendedResponse,
  decodeSearchResultEntry,
  encodeBindRequest,
  encodeExtendedRequest,
  encodeMessage,
} from '../../src/ldap/index.js';
import { createProxyServer } from '../../src/server/index.js';
import type { ProxyServer } from '../../src/server/index.js';
import { freePort } from '../helpers/run.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SUFFIX, startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { WireClient } from './ldap-wire.js';

let slapd: Slapd;
let pki: TestPki;
let pki2: TestPki;
const servers: ProxyServer[] = [];

before(async () => {
  [slapd, pki, pki2] = await Promise.all([startSlapd(), makeTestPki('127.0.0.1'), makeTestPki('127.0.0.1')]);
});

after(async () => {
  for (const s of servers) await s.shutdown(0);
  await slapd?.destroy();
  pki?.destroy();
  pki2?.destroy();
});

async function startProxy(overrides: Partial<ServeConfig>): Promise<{ server: ProxyServer; port: number }> {
  const config = buildServeConfig({ listen: ['ldap://127.0.0.1:0'], backend: [slapd.url], ...overrides }, {});
  const server = createProxyServer(config, { log: pino({ level: 'silent' }) });
  servers.push(server);
  await server.start();
  return { server, port: Number(new URL(server.urls[0] as string).port) };
}

function noticeOf(frame: Buffer | undefined): { code: number; message: string } {
  assert.ok(frame, 'expected a Notice of Disconnection, the connection closed');
  const n = decodeExtendedResponse(frame);
  assert.equal(n.responseName, Oid.noticeOfDisconnection);
  return { code: n.resultCode, message: n.diagnosticMessage };
}

test('max_connections: the connection over the limit gets unavailable and is closed', async () => {
  const { port } = await startProxy({ max_connections: 1 });
  const first = await WireClient.open(port);
  first.write(
    encodeBindRequest({
      messageId: 1,
      version: 3,
      name: '',
      authentication: { kind: 'simple', password: Buffer.alloc(0) },
    }),
  );
  await first.until(1, ProtocolOp.bindResponse);
  const second = await WireClient.open(port);
  const n = noticeOf((await second.next())?.frame);
  assert.deepEqual(n, { code: ResultCode.unavailable, message: 'too many connections' });
  await second.waitClosed();
  first.destroy();
});

// A syncrepl refreshAndPersist search (RFC 4533): an operation that stays in progress until abandoned.
function persistentSearch(messageId: number): Buffer {
  const w = new BerWriter();
  w.startSequence(ProtocolOp.searchRequest)
    .writeOctetString(PEOPLE)
    .writeEnumerated(1)
    .writeEnumerated(0)
    .writeInteger(0)
    .writeInteger(0)
    .writeBoolean(false)
    .writeOctetString('objectClass', 0x87)
    .startSequence()
    .writeOctetString('description')
    .endSequence()
    .endSequence();
  const syncRequest = {
    type: '1.3.6.1.4.1.4203.1.9.1.1',
    critical: true,
    value: Buffer.from('30030a0103', 'hex'),
  };
  return encodeMessage(messageId, w.toBuffer(), [syncRequest]);
}

async function setDescription(uid: string, value: string): Promise<void> {
  const admin = new Client({ url: slapd.url });
  await admin.bind(ADMIN_DN, ADMIN_PASSWORD);
  await admin.modify(
    `uid=${uid},${PEOPLE}`,
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: 'description', values: [value] }),
    }),
  );
  await admin.unbind();
}

/** Reads frames until an entry for `uid` arrives (the persistent search saw a change). */
async function awaitEntry(c: WireClient, uid: string): Promise<void> {
  for (;;) {
    const f = await c.next();
    assert.ok(f, 'persistent search connection closed');
    if (
      f.opTag === ProtocolOp.searchResEntry &&
      decodeSearchResultEntry(f.frame).objectName.startsWith(`uid=${uid},`)
    )
      return;
  }
}

test('idle_timeout_ms: an idle connection is told and closed; one with an operation in progress is not', async () => {
  const { port } = await startProxy({ idle_timeout_ms: 300 });
  // Opened first, so its idle timer would fire before the idle client's.
  const busy = await WireClient.open(port);
  busy.write(persistentSearch(1));
  const idle = await WireClient.open(port);
  const n = noticeOf((await idle.next())?.frame);
  assert.deepEqual(n, { code: ResultCode.unavailable, message: 'idle timeout' });
  await idle.waitClosed();
  await setDescription('user11', 'seen by a persistent search');
  await awaitEntry(busy, 'user11');
  assert.equal(busy.closed, false);
  busy.destroy();
});

test('idle_timeout_ms also bounds the time one PDU may take to arrive (a client dripping bytes)', async () => {
  const { port } = await startProxy({ idle_timeout_ms: 300 });
  const c = await WireClient.open(port);
  const pdu = encodeExtendedRequest({ messageId: 1, requestName: Oid.whoAmI });
  for (let i = 0; i < pdu.length - 1 && !c.closed; i++) {
    c.write(pdu.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 100));
  }
  const n = noticeOf((await c.next())?.frame);
  assert.equal(n.code, ResultCode.protocolError);
  assert.match(n.message, /not received in full within 300 ms/);
  await c.waitClosed();
});

test('several backends: a closed first backend is marked down and the second serves', async () => {
  const dead = `ldap://127.0.0.1:${await freePort()}`;
  const { server, port } = await startProxy({ backend: [dead, slapd.url], backend_down_ms: 60_000 });
  for (let i = 0; i < 2; i++) {
    const client = new Client({ url: `ldap://127.0.0.1:${port}` });
    await client.bind(ADMIN_DN, ADMIN_PASSWORD);
    const { searchEntries } = await client.search(SUFFIX, { scope: 'base' });
    assert.equal(searchEntries.length, 1);
    await client.unbind();
  }
  const [first, second] = server.pool.backends;
  assert.ok(first && first.downUntil > Date.now(), 'first backend marked down');
  assert.match(first.lastError, /ECONNREFUSED/);
  assert.equal(second?.downUntil, 0);
  assert.equal(server.pool.candidates()[0], second, 'the healthy backend is tried first');
});

test('certificate reload: new connections get the new certificate, an established TLS session keeps working', async () => {
  const certPath = join(pki.dir, 'live.pem');
  const keyPath = join(pki.dir, 'live.key');
  copyFileSync(pki.certPath, certPath);
  copyFileSync(pki.keyPath, keyPath);
  const { server } = await startProxy({
    listen: ['ldaps://127.0.0.1:0'],
    tls_cert: certPath,
    tls_key: keyPath,
  });
  const port = Number(new URL(server.urls[0] as string).port);
  const open = (ca: string) =>
    new Promise<ReturnType<typeof tlsConnect>>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
      s.once('secureConnect', () => resolve(s)).once('error', reject);
    });
  const before = await open(pki.caCertPem);
  copyFileSync(pki2.certPath, certPath);
  copyFileSync(pki2.keyPath, keyPath);
  server.reloadTls();
  await assert.rejects(open(pki.caCertPem), /self[- ]signed|unable to verify|certificate/i);
  const afterReload = await open(pki2.caCertPem);
  afterReload.destroy();
  // The connection made before the reload still carries LDAP.
  const reply = new Promise<Buffer>((resolve) => before.once('data', resolve));
  before.write(encodeExtendedRequest({ messageId: 1, requestName: Oid.whoAmI }));
  assert.equal(decodeExtendedResponse(await reply).resultCode, 0);
  before.destroy();
});

test('shutdown: idle sessions close at once; one with an operation in progress keeps it, new requests get 52', async () => {
  const { server, port } = await startProxy({});
  const idle = await WireClient.open(port);
  idle.write(
    encodeBindRequest({
      messageId: 1,
      version: 3,
      name: ADMIN_DN,
      authentication: { kind: 'simple', password: Buffer.from(ADMIN_PASSWORD) },
    }),
  );
  await idle.until(1, ProtocolOp.bindResponse);
  const busy = await WireClient.open(port);
  busy.write(persistentSearch(1));
  busy.write(encodeExtendedRequest({ messageId: 2, requestName: Oid.whoAmI }));
  await busy.until(2, ProtocolOp.extendedResp); // the persistent search is now in progress at slapd
  const stopped = server.shutdown(1500);
  assert.equal(noticeOf((await idle.next())?.frame).code, ResultCode.unavailable);
  await idle.waitClosed();
  // Still draining: the operation in progress keeps delivering, a new one is refused.
  await assert.rejects(WireClient.open(port), /ECONNREFUSED/);
  busy.write(encodeExtendedRequest({ messageId: 3, requestName: Oid.whoAmI }));
  const refused = (await busy.until(3, ProtocolOp.extendedResp)).pop()!;
  assert.deepEqual(
    [
      decodeExtendedResponse(refused.frame).resultCode,
      decodeExtendedResponse(refused.frame).diagnosticMessage,
    ],
    [ResultCode.unavailable, 'the proxy is shutting down'],
  );
  await setDescription('user12', 'seen while draining');
  await awaitEntry(busy, 'user12');
  // At the end of the grace period the session is told and closed.
  let last: Buffer | undefined;
  for (let f = await busy.next(); f; f = await busy.next()) last = f.frame;
  assert.equal(noticeOf(last).code, ResultCode.unavailable);
  await stopped;
});

test('ldaps:// backend: verified against backend_ca; a CA that does not match is a hard 52, and the log says why', async () => {
  // A real TLS endpoint in front of slapd, standing in for a directory that offers ldaps://.
  const terminator = createTlsServer({ cert: pki.certPem, key: pki.keyPem }, (tlsSide) => {
    const plain: Socket = netConnect(slapd.port, '127.0.0.1');
    tlsSide.pipe(plain).pipe(tlsSide);
    tlsSide.on('error', () => plain.destroy());
    plain.on('error', () => tlsSide.destroy());
  });
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  const backend = `ldaps://127.0.0.1:${(terminator.address() as { port: number }).port}`;
  try {
    const { port } = await startProxy({ backend: [backend], backend_ca: pki.caCertPath });
    const client = new Client({ url: `ldap://127.0.0.1:${port}` });
    await client.bind(ADMIN_DN, ADMIN_PASSWORD);
    assert.equal((await client.search(SUFFIX, { scope: 'base' })).searchEntries.length, 1);
    await client.unbind();

    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = buildServeConfig(
      { listen: ['ldap://127.0.0.1:0'], backend: [backend], backend_ca: pki2.caCertPath },
      {},
    );
    const wrongCa = createProxyServer(config, { log: pino({ level: 'warn' }, sink) });
    servers.push(wrongCa);
    await wrongCa.start();
    const refused = new Client({ url: wrongCa.urls[0] as string });
    await assert.rejects(refused.bind(ADMIN_DN, ADMIN_PASSWORD), (e: { code?: number }) => e.code === 52);
    await refused.unbind().catch(() => undefined);
    assert.ok(
      lines.some(
        (l) => /no backend available/.test(l) && /TLS to backend failed/.test(l) && /certificate/i.test(l),
      ),
      lines.join(''),
    );
  } finally {
    terminator.close();
  }
});

test('reload: new backends and limits apply to new connections; a listener change waits for a restart', async () => {
  const dead = `ldap://127.0.0.1:${await freePort()}`;
  const { server, port } = await startProxy({ backend: [dead] });
  const before = await WireClient.open(port);
  before.write(encodeExtendedRequest({ messageId: 1, requestName: Oid.whoAmI }));
  const refused = (await before.until(1, ProtocolOp.extendedResp)).pop()!;
  assert.equal(decodeExtendedResponse(refused.frame).resultCode, ResultCode.unavailable);

  const next = buildServeConfig(
    { listen: ['ldap://127.0.0.1:1'], backend: [slapd.url], max_pdu_bytes_anonymous: 200 },
    {},
  );
  const changed = server.reload(next);
  assert.deepEqual(changed.sort(), ['backend', 'max_pdu_bytes_anonymous']);
  assert.deepEqual(server.config.listen, ['ldap://127.0.0.1:0']);
  const after = await WireClient.open(port);
  after.write(encodeExtendedRequest({ messageId: 1, requestName: Oid.whoAmI }));
  const answered = (await after.until(1, ProtocolOp.extendedResp)).pop()!;
  assert.equal(decodeExtendedResponse(answered.frame).resultCode, ResultCode.success, 'the new backend');
  // 200 bytes is the new anonymous PDU limit: a larger request ends the connection with protocolError.
  after.write(
    encodeExtendedRequest({ messageId: 2, requestName: Oid.whoAmI, requestValue: Buffer.alloc(300) }),
  );
  const notice = await after.next();
  assert.ok(notice);
  assert.equal(notice.messageId, 0);
  assert.equal(decodeExtendedResponse(notice.frame).resultCode, ResultCode.protocolError);
  after.destroy();
  before.destroy();

  const broken = buildServeConfig(
    {
      listen: ['ldap://127.0.0.1:0'],
      backend: [dead],
      tls_cert: join(pki.dir, 'nope.pem'),
      tls_key: pki.keyPath,
    },
    {},
  );
  assert.throws(() => server.reload(broken), /ENOENT/);
  assert.deepEqual(server.config.backend, [slapd.url], 'a failed reload changes nothing');
});

test('backend_operation_timeout_ms: a silent backend gets the operation answered with 52 and is marked down', async () => {
  const silent = createNetServer((sock) => {
    sock.on('data', () => undefined); // accepts and reads, never answers
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentUrl = `ldap://127.0.0.1:${(silent.address() as { port: number }).port}`;
  try {
    const { server, port } = await startProxy({ backend: [silentUrl], backend_operation_timeout_ms: 300 });
    const c = await WireClient.open(port);
    c.write(encodeExtendedRequest({ messageId: 5, requestName: Oid.whoAmI }));
    const res = decodeExtendedResponse((await c.until(5, ProtocolOp.extendedResp)).pop()!.frame);
    assert.equal(res.resultCode, ResultCode.unavailable);
    assert.match(res.diagnosticMessage, /did not answer within 300 ms/);
    c.destroy();
    assert.ok((server.pool.backends[0]?.downUntil ?? 0) > Date.now(), 'the silent backend is marked down');
  } finally {
    silent.close();
  }
});

test('backend_operation_timeout_ms: a persistent search that has started answering is not cut off', async () => {
  const { port } = await startProxy({ backend_operation_timeout_ms: 300 });
  const c = await WireClient.open(port);
  c.write(persistentSearch(1));
  await awaitEntry(c, 'user13'); // refresh phase: the search has answered
  // Silent for longer than the limit, then a change arrives on the same search.
  await new Promise((r) => setTimeout(r, 700));
  await setDescription('user14', 'after a quiet period');
  await awaitEntry(c, 'user14');
  assert.equal(c.closed, false);
  c.destroy();
});
