// Resource exhaustion by connections: thousands of idle clients up to --max-connections, slowloris drips,
// and length bombs. Each is cut off at its limit (connection limit: unavailable notice; PDU limit:
// protocolError notice) while another client keeps being served; its latency before and during each attack
// is reported (asserted only against the generous 5 s liveness bound).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startSlapd, ADMIN_DN, ADMIN_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { sleep, waitFor } from '../helpers/run.js';
import { encodeBindRequest } from '../../src/ldap/index.js';
import { Canary } from './canary.js';
import { LdapClient } from './ldap-client.js';
import { NOTICE_OF_DISCONNECTION, fdCount, openSocket, probe, rssBytes } from './ldap-wire.js';

const MAX_CONNECTIONS = 2000;
let slapd: Slapd;
let proxy: ProxyProcess;
let canary: Canary;

before(async () => {
  slapd = await startSlapd();
  proxy = await startProxy({
    backends: [slapd.url],
    extraArgs: ['--log-level', 'error', '--max-connections', String(MAX_CONNECTIONS)],
  });
  canary = await Canary.open(proxy.port());
});
after(async () => {
  canary?.close();
  await proxy?.stop();
  await slapd?.destroy();
});

const MiB = 1048576;

async function openMany(n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 200) {
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => openSocket(proxy.port())))),
    );
  }
  for (const s of out) s.on('error', () => undefined);
  return out;
}

test(
  `thousands of idle connections up to --max-connections ${MAX_CONNECTIONS}; the next one is refused`,
  { timeout: 60_000 },
  async (t) => {
    const pid = proxy.pid;
    const rss0 = rssBytes(pid);
    let idle: Socket[] = [];
    const report = await canary.compare(async () => {
      idle = await openMany(MAX_CONNECTIONS - 1); // the canary holds one
      await sleep(1000);
    });
    t.diagnostic(report);
    await sleep(500);
    const perConn = (rssBytes(pid) - rss0) / (MAX_CONNECTIONS - 1);
    t.diagnostic(
      `proxy RSS: ${(rss0 / MiB).toFixed(1)} MiB -> ${(rssBytes(pid) / MiB).toFixed(1)} MiB, ${(perConn / 1024).toFixed(1)} KiB per idle connection (client + backend socket)`,
    );
    // One more: unavailable in a Notice of Disconnection, then closed.
    const over = await probe(proxy.port(), Buffer.alloc(0), { deadlineMs: 5000 });
    assert.equal(over.outcome, 'closed');
    assert.equal(over.messages[0]?.responseName, NOTICE_OF_DISCONNECTION);
    assert.equal(over.messages[0]?.resultCode, 52);
    await canary.compare(() => Promise.resolve(), 200);
    for (const s of idle.splice(0, 100)) s.destroy();
    await waitFor(
      async () => {
        const c = await LdapClient.open(proxy.port());
        try {
          await c.ping(2000);
          return true;
        } catch {
          return false;
        } finally {
          c.close();
        }
      },
      10_000,
      'a new connection to be accepted once some idle ones closed',
    );
    for (const s of idle) s.destroy();
    await waitFor(() => fdCount(pid) < 40, 15_000, 'proxy descriptors to be released');
    assert.ok(proxy.alive);
  },
);

function dripper(
  bytes: Buffer,
  everyMs: number,
  port = proxy.port(),
): Promise<{ sock: Socket; stop: () => void }> {
  return openSocket(port).then((sock) => {
    sock.on('error', () => undefined);
    let i = 0;
    const timer = setInterval(() => {
      if (i < bytes.length && !sock.destroyed) sock.write(bytes.subarray(i, ++i));
    }, everyMs);
    return { sock, stop: () => clearInterval(timer) };
  });
}

const bindFrame = encodeBindRequest({
  messageId: 1,
  version: 3,
  name: `uid=user1,ou=People,dc=example,dc=com`,
  authentication: { kind: 'simple', password: Buffer.from('pass1') },
});

test('slowloris: 300 clients dripping a bind at 1 byte/s do not slow the others', async (t) => {
  const rss0 = rssBytes(proxy.pid);
  let drips: { sock: Socket; stop: () => void }[] = [];
  t.diagnostic(
    await canary.compare(async () => {
      drips = await Promise.all(Array.from({ length: 300 }, () => dripper(bindFrame, 1000)));
      await sleep(4000);
    }),
  );
  t.diagnostic(
    `proxy RSS growth with 300 dripping clients: ${((rssBytes(proxy.pid) - rss0) / MiB).toFixed(1)} MiB`,
  );
  for (const d of drips) {
    d.stop();
    d.sock.destroy();
  }
  assert.ok(proxy.alive);
});

test('slowloris: a client dripping one PDU at 1 byte/s is cut off by --idle-timeout-ms', async () => {
  const withTimeout = await startProxy({ backends: [slapd.url], extraArgs: ['--idle-timeout-ms', '3000'] });
  const d = await dripper(bindFrame, 1000, withTimeout.port());
  const closed = new Promise<boolean>((resolve) => {
    d.sock.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 7000);
  });
  const wasClosed = await closed;
  d.stop();
  d.sock.destroy();
  await withTimeout.stop();
  assert.ok(wasClosed, 'still open after 7 s of 1 byte/s with --idle-timeout-ms 3000');
});

test('length bombs: refused from the header with protocolError, before any body is buffered', async (t) => {
  for (const header of ['30847fffffff', '3084ffffffff', '30830400ff', '3085000000000001', '3080']) {
    const r = await probe(proxy.port(), Buffer.from(header, 'hex'), { deadlineMs: 2000 });
    assert.equal(r.outcome, 'closed', header);
    assert.equal(r.messages[0]?.resultCode, 2, `${header}: expected protocolError`);
  }
  // A complete PDU one byte over the anonymous limit (262143) is refused the same way.
  const big = Buffer.alloc(262144 - 5);
  const r = await probe(proxy.port(), Buffer.concat([Buffer.from([0x30, 0x83, 0x03, 0xff, 0xff]), big]), {
    deadlineMs: 3000,
  });
  assert.equal(r.messages[0]?.resultCode, 2);

  // Headers just under the limits, then silence: what each connection costs while it waits.
  const rss0 = rssBytes(proxy.pid);
  const anon = await openMany(300);
  for (const s of anon) s.write(Buffer.from([0x30, 0x83, 0x03, 0xff, 0xf0, 0x02, 0x01, 0x01]));
  const bound: Socket[] = [];
  for (let i = 0; i < 100; i++) {
    const c = await LdapClient.open(proxy.port());
    assert.equal(await c.bind(ADMIN_DN, ADMIN_PASSWORD), 0);
    c.socket.write(Buffer.from([0x30, 0x83, 0x3f, 0xff, 0xf0, 0x02, 0x01, 0x05]));
    bound.push(c.socket);
  }
  t.diagnostic(
    await canary.compare(async () => {
      await sleep(1500);
    }),
  );
  const grown = rssBytes(proxy.pid) - rss0;
  t.diagnostic(
    `300 anonymous 256 KiB and 100 bound 4 MiB announced PDUs, body never sent: proxy RSS +${(grown / MiB).toFixed(1)} MiB`,
  );
  assert.ok(grown < 100 * MiB, `announced lengths cost ${(grown / MiB).toFixed(1)} MiB`);
  for (const s of [...anon, ...bound]) s.destroy();
  assert.ok(proxy.alive);
});
