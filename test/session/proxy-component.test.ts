// The proxy in-process in front of a real slapd: pass-through with ldapts and ldap-utils, StartTLS, local
// interceptor answers between backend frames, limits, and backend failures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, Client } from 'ldapts';
import { BerWriter } from '../../src/ber/index.js';
import { buildServeConfig } from '../../src/config/index.js';
import type { ServeConfig } from '../../src/config/index.js';
import {
  Oid,
  ProtocolOp,
  ResultCode,
  decodeExtendedResponse,
  decodeResultResponse,
  decodeSearchResultEntry,
  encodeBindRequest,
  encodeExtendedRequest,
  encodeExtendedResponse,
  encodeMessage,
  encodeModifyRequest,
  encodeSearchResultEntry,
  readResultCode,
} from '../../src/ldap/index.js';
import { createProxyServer } from '../../src/server/index.js';
import type { ProxyServer } from '../../src/server/index.js';
import { FORWARD, PASS, forward, respond } from '../../src/session/index.js';
import type { Interceptor } from '../../src/session/index.js';
import { freePort, run } from '../helpers/run.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SUFFIX, startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { WireClient } from './ldap-wire.js';
import { pino } from 'pino';

const LOCAL_OID = '1.3.6.1.4.1.55555.1';

function searchRequest(messageId: number, base: string, scope: 0 | 1 | 2, attrs: string[] = []): Buffer {
  const w = new BerWriter();
  w.startSequence(ProtocolOp.searchRequest)
    .writeOctetString(base)
    .writeEnumerated(scope)
    .writeEnumerated(0)
    .writeInteger(0)
    .writeInteger(0)
    .writeBoolean(false)
    .writeOctetString('objectClass', 0x87)
    .startSequence();
  for (const a of attrs) w.writeOctetString(a);
  w.endSequence().endSequence();
  return encodeMessage(messageId, w.toBuffer());
}

const bind = (id: number, dn: string, pw: string): Buffer =>
  encodeBindRequest({
    messageId: id,
    version: 3,
    name: dn,
    authentication: { kind: 'simple', password: Buffer.from(pw) },
  });

// Answers LOCAL_OID after a macrotask, so the answer is written while backend frames are flowing.
const localExop: Interceptor = {
  name: 'test-local-exop',
  opTags: [ProtocolOp.extendedReq],
  intercept(req) {
    if (req.extended.requestName !== LOCAL_OID) return PASS;
    return new Promise((resolve) =>
      setImmediate(() =>
        resolve(
          respond(
            encodeExtendedResponse(req.messageId, {
              resultCode: 0,
              matchedDN: '',
              diagnosticMessage: '',
              responseValue: Buffer.alloc(3000, 0x5a),
            }),
          ),
        ),
      ),
    );
  },
};

// For sessions bound (through the backend) as user7, drop `mail` from every entry: the read-filter shape.
const seenBindStates: string[] = [];
const mailFilter: Interceptor = {
  name: 'test-mail-filter',
  opTags: [ProtocolOp.searchRequest],
  intercept(_req, session) {
    seenBindStates.push(
      session.bindState.kind === 'anonymous'
        ? 'anonymous'
        : `${session.bindState.kind}:${session.bindState.dn}`,
    );
    if (session.bindState.kind !== 'backend' || !session.bindState.dn.startsWith('uid=user7,'))
      return FORWARD;
    return forward({
      observe: {
        onResponse(frame, opTag) {
          if (opTag !== ProtocolOp.searchResEntry) return frame;
          const entry = decodeSearchResultEntry(frame);
          return encodeSearchResultEntry({
            ...entry,
            attributes: entry.attributes.filter((a) => a.type !== 'mail'),
          });
        },
      },
    });
  },
};

let slapd: Slapd;
let pki: TestPki;
let proxy: ProxyServer;
let port: number;
const silent = pino({ level: 'silent' });

async function startProxy(
  overrides: Partial<ServeConfig>,
  interceptors: Interceptor[] = [],
): Promise<ProxyServer> {
  const config = buildServeConfig(
    {
      listen: ['ldap://127.0.0.1:0'],
      backend: [slapd.url],
      tls_cert: pki.certPath,
      tls_key: pki.keyPath,
      ...overrides,
    },
    {},
  );
  const server = createProxyServer(config, { interceptors, log: silent });
  await server.start();
  return server;
}

const portOf = (s: ProxyServer): number => Number(new URL(s.urls[0] as string).port);

before(async () => {
  [slapd, pki] = await Promise.all([startSlapd(), makeTestPki('127.0.0.1')]);
  proxy = await startProxy(
    { max_pdu_bytes_anonymous: 2000, max_pdu_bytes: 100_000, max_outstanding_anonymous: 3 },
    [localExop, mailFilter],
  );
  port = portOf(proxy);
});

after(async () => {
  await proxy?.shutdown(0);
  await slapd?.destroy();
  pki?.destroy();
});

test('ldapts: bind, search, modify and compare pass through', async () => {
  const client = new Client({ url: `ldap://127.0.0.1:${port}` });
  try {
    await client.bind(ADMIN_DN, ADMIN_PASSWORD);
    const { searchEntries } = await client.search(PEOPLE, {
      scope: 'one',
      filter: '(uid=user1)',
      attributes: ['cn', 'mail'],
    });
    assert.deepEqual(searchEntries, [{ dn: `uid=user1,${PEOPLE}`, cn: 'User 1', mail: 'user1@example.com' }]);
    await client.modify(
      `uid=user2,${PEOPLE}`,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'mail', values: ['changed@example.com'] }),
      }),
    );
    assert.equal(await client.compare(`uid=user2,${PEOPLE}`, 'mail', 'changed@example.com'), true);
    await assert.rejects(
      client.bind(`uid=user1,${PEOPLE}`, 'wrong'),
      (e: { code?: number }) => e.code === 49,
    );
  } finally {
    await client.unbind();
  }
});

test('ldapsearch output through the proxy is byte-identical to slapd directly, also over StartTLS', async () => {
  const args = ['-LLL', '-x', '-b', PEOPLE, '-E', 'pr=5/noprompt', '(|(uid=photo)(uid=user1*))'];
  const env = { ...process.env, LDAPTLS_CACERT: pki.caCertPath, LDAPTLS_REQCERT: 'demand' };
  const direct = await run('ldapsearch', ['-H', slapd.url, ...args]);
  const proxied = await run('ldapsearch', ['-H', `ldap://127.0.0.1:${port}`, ...args]);
  const starttls = await run('ldapsearch', ['-ZZ', '-H', `ldap://127.0.0.1:${port}`, ...args], { env });
  assert.equal(direct.code, 0, direct.stderr);
  assert.ok(direct.stdoutBytes.includes('jpegPhoto::'), 'the binary entry is in the output');
  assert.equal(proxied.code, 0, proxied.stderr);
  assert.ok(proxied.stdoutBytes.equals(direct.stdoutBytes));
  assert.equal(starttls.code, 0, starttls.stderr);
  assert.ok(starttls.stdoutBytes.equals(direct.stdoutBytes));
  const whoami = await run(
    'ldapwhoami',
    ['-ZZ', '-x', '-H', `ldap://127.0.0.1:${port}`, '-D', `uid=user4,${PEOPLE}`, '-w', 'pass4'],
    { env },
  );
  assert.equal(whoami.stdout.trim(), `dn:uid=user4,${PEOPLE}`);
});

test('StartTLS is refused while operations are outstanding and once TLS is active', async () => {
  const c = await WireClient.open(port);
  try {
    // Same chunk: the search is outstanding when StartTLS is read.
    c.write(
      Buffer.concat([
        searchRequest(1, PEOPLE, 1),
        encodeExtendedRequest({ messageId: 2, requestName: Oid.startTls }),
      ]),
    );
    const frames = await c.until(1, ProtocolOp.searchResDone);
    const refusal =
      frames.find((f) => f.messageId === 2) ?? (await c.until(2, ProtocolOp.extendedResp)).pop();
    assert.ok(refusal);
    assert.equal(decodeExtendedResponse(refusal.frame).resultCode, ResultCode.operationsError);
  } finally {
    c.destroy();
  }
  const { connect } = await import('node:tls');
  const c2 = await WireClient.open(port);
  try {
    c2.write(encodeExtendedRequest({ messageId: 1, requestName: Oid.startTls }));
    const ok = await c2.next();
    assert.equal(ok && decodeExtendedResponse(ok.frame).resultCode, 0);
    c2.socket.removeAllListeners('data');
    const secure = connect({ socket: c2.socket, ca: pki.caCertPem, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const reply = new Promise<Buffer>((resolve) => secure.once('data', resolve));
    secure.write(encodeExtendedRequest({ messageId: 2, requestName: Oid.startTls }));
    const again = decodeExtendedResponse(await reply);
    assert.equal(again.resultCode, ResultCode.operationsError);
    assert.match(again.diagnosticMessage, /already active/);
    secure.destroy();
  } finally {
    c2.destroy();
  }
});

test('a local answer written while backend frames stream never lands inside a backend PDU', async () => {
  const c = await WireClient.open(port);
  try {
    c.write(bind(1, ADMIN_DN, ADMIN_PASSWORD));
    assert.equal(readResultCode((await c.until(1, ProtocolOp.bindResponse)).pop()!.frame), 0);
    // search (many entries) | local exop (async answer) | search: all in one segment.
    c.write(
      Buffer.concat([
        searchRequest(2, SUFFIX, 2),
        encodeExtendedRequest({ messageId: 3, requestName: LOCAL_OID }),
        searchRequest(4, SUFFIX, 2),
      ]),
    );
    const counts = new Map<number, number>();
    let done = 0;
    let localSeen = false;
    while (done < 2 || !localSeen) {
      const f = await c.next();
      assert.ok(f, 'connection closed early');
      counts.set(f.messageId, (counts.get(f.messageId) ?? 0) + 1);
      if (f.opTag === ProtocolOp.searchResDone) {
        assert.equal(decodeResultResponse(f.frame).resultCode, 0);
        done++;
      }
      if (f.messageId === 3) {
        const res = decodeExtendedResponse(f.frame);
        assert.deepEqual(res.responseValue, Buffer.alloc(3000, 0x5a));
        localSeen = true;
      }
    }
    // Every frame parsed as a whole LDAPMessage (WireClient's FrameReader would have failed otherwise).
    assert.equal(counts.get(2), counts.get(4));
    assert.ok((counts.get(2) ?? 0) > 40);
    assert.equal(counts.get(3), 1);
  } finally {
    c.destroy();
  }
});

test('a response observer rewrites entries, keyed on the bind identity the session tracked', async () => {
  seenBindStates.length = 0;
  const client = new Client({ url: `ldap://127.0.0.1:${port}` });
  try {
    await client.bind(`uid=user7,${PEOPLE}`, 'pass7');
    const { searchEntries } = await client.search(`uid=user8,${PEOPLE}`, {
      scope: 'base',
      attributes: ['cn', 'mail'],
    });
    // ldapts lists a requested attribute that did not come back as [].
    assert.deepEqual(searchEntries, [{ dn: `uid=user8,${PEOPLE}`, cn: 'User 8', mail: [] }]);
  } finally {
    await client.unbind();
  }
  const other = new Client({ url: `ldap://127.0.0.1:${port}` });
  try {
    await other.bind(`uid=user6,${PEOPLE}`, 'pass6');
    const { searchEntries } = await other.search(`uid=user8,${PEOPLE}`, {
      scope: 'base',
      attributes: ['cn', 'mail'],
    });
    assert.deepEqual(searchEntries, [{ dn: `uid=user8,${PEOPLE}`, cn: 'User 8', mail: 'user8@example.com' }]);
  } finally {
    await other.unbind();
  }
  assert.deepEqual(seenBindStates, [`backend:uid=user7,${PEOPLE}`, `backend:uid=user6,${PEOPLE}`]);
});

test('PDU limit: anonymous limit before bind, larger limit after a successful bind', async () => {
  const bigModify = (id: number): Buffer =>
    encodeModifyRequest({
      messageId: id,
      object: `uid=user9,${PEOPLE}`,
      changes: [{ operation: 2, modification: { type: 'description', values: [Buffer.alloc(5000, 0x41)] } }],
    });
  const anon = await WireClient.open(port);
  anon.write(bigModify(1));
  const notice = await anon.next();
  assert.ok(notice);
  assert.equal(notice.messageId, 0);
  const n = decodeExtendedResponse(notice.frame);
  assert.equal(n.responseName, Oid.noticeOfDisconnection);
  assert.equal(n.resultCode, ResultCode.protocolError);
  assert.match(n.diagnosticMessage, /over the limit of 2000/);
  await anon.waitClosed();

  const bound = await WireClient.open(port);
  try {
    bound.write(bind(1, `uid=user9,${PEOPLE}`, 'pass9'));
    assert.equal(readResultCode((await bound.until(1, ProtocolOp.bindResponse)).pop()!.frame), 0);
    bound.write(bigModify(2));
    assert.equal(readResultCode((await bound.until(2, ProtocolOp.modifyResponse)).pop()!.frame), 0);
  } finally {
    bound.destroy();
  }
});

test('outstanding limit: requests past it wait unread and are then answered, none refused', async () => {
  const c = await WireClient.open(port);
  try {
    c.write(Buffer.concat([1, 2, 3, 4, 5, 6, 7].map((id) => searchRequest(id, SUFFIX, 2))));
    const codes = new Map<number, number>();
    while (codes.size < 7) {
      const m = await c.next();
      assert.ok(m, `closed after ${codes.size} results`);
      if (m.opTag === ProtocolOp.searchResDone)
        codes.set(m.messageId, decodeResultResponse(m.frame).resultCode);
    }
    assert.deepEqual([...codes.values()], [0, 0, 0, 0, 0, 0, 0]);
  } finally {
    c.destroy();
  }
});

test('garbage, length of length 5 and messageID 0 get a protocolError notice, then close', async () => {
  for (const bytes of [
    Buffer.from('GET / HTTP/1.0\r\n\r\n'),
    Buffer.from('308500000000010201', 'hex'),
    Buffer.from('3084ffffffff', 'hex'),
    Buffer.from('30050201004200', 'hex'),
  ]) {
    const c = await WireClient.open(port);
    c.write(bytes);
    const notice = await c.next();
    assert.ok(notice, bytes.toString('hex'));
    assert.equal(decodeExtendedResponse(notice.frame).resultCode, ResultCode.protocolError);
    await c.waitClosed();
  }
  const ok = new Client({ url: `ldap://127.0.0.1:${port}` });
  await ok.bind(ADMIN_DN, ADMIN_PASSWORD);
  await ok.unbind();
});

test('unbind closes the client connection', async () => {
  const c = await WireClient.open(port);
  c.write(Buffer.from('30050201014200', 'hex'));
  await c.waitClosed();
  assert.equal(await c.next(), undefined);
});

test('a closed backend port: every operation gets unavailable (52) in its own response type', async () => {
  const dead = await startProxy({ backend: [`ldap://127.0.0.1:${await freePort()}`] });
  try {
    const r = await run('ldapsearch', ['-x', '-H', dead.urls[0] as string, '-b', SUFFIX, '-s', 'base']);
    assert.equal(r.code, 52, r.stderr);
    assert.match(r.stderr, /no directory server is available/);
    const c = await WireClient.open(portOf(dead));
    c.write(Buffer.concat([bind(5, '', ''), searchRequest(6, SUFFIX, 0)]));
    const frames = await c.until(6, ProtocolOp.searchResDone);
    const bindRes = frames.find((f) => f.messageId === 5);
    assert.equal(bindRes?.opTag, ProtocolOp.bindResponse);
    assert.equal(readResultCode(bindRes.frame), ResultCode.unavailable);
    assert.equal(readResultCode(frames.pop()!.frame), ResultCode.unavailable);
    c.destroy();
  } finally {
    await dead.shutdown(0);
  }
});

test('SIGTERM-style shutdown: an idle client gets a Notice of Disconnection', async () => {
  const p = await startProxy({});
  const c = await WireClient.open(portOf(p));
  c.write(bind(1, ADMIN_DN, ADMIN_PASSWORD));
  await c.until(1, ProtocolOp.bindResponse);
  await p.shutdown(5000);
  const notice = await c.next();
  assert.ok(notice);
  assert.equal(decodeExtendedResponse(notice.frame).responseName, Oid.noticeOfDisconnection);
  await c.waitClosed();
});

// Last: kills slapd.
test('slapd killed mid-session: Notice of Disconnection (unavailable), then the connection closes', async () => {
  const c = await WireClient.open(port);
  c.write(bind(1, ADMIN_DN, ADMIN_PASSWORD));
  assert.equal(readResultCode((await c.until(1, ProtocolOp.bindResponse)).pop()!.frame), 0);
  c.write(searchRequest(2, SUFFIX, 0));
  await c.until(2, ProtocolOp.searchResDone);
  await slapd.stop('SIGKILL');
  const notice = await c.next();
  assert.ok(notice);
  assert.equal(notice.messageId, 0);
  const n = decodeExtendedResponse(notice.frame);
  assert.deepEqual([n.responseName, n.resultCode], [Oid.noticeOfDisconnection, ResultCode.unavailable]);
  await c.waitClosed();
  // A new client now gets 52 promptly instead of hanging.
  const r = await run('ldapsearch', ['-x', '-H', `ldap://127.0.0.1:${port}`, '-b', SUFFIX, '-s', 'base']);
  assert.equal(r.code, 52, r.stderr);
});
