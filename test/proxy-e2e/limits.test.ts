// Connection limits and lifecycle seen from real sockets: maximum client connections, idle timeout, and a
// SIGTERM that drains instead of hanging.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEOPLE } from '../helpers/slapd.js';
import { startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { ldapTool } from './fixture.js';
import { NOTICE_OF_DISCONNECTION, RawClient, bindRequest, searchRequest, unbindRequest } from './raw-ldap.js';
import { freePort, run, waitFor } from '../helpers/run.js';

let slapd: Slapd;
const proxies: ProxyProcess[] = [];
before(async () => {
  slapd = await startSlapd();
});
after(async () => {
  for (const p of proxies) await p.stop();
  await slapd?.destroy();
});

async function proxyWith(...extraArgs: string[]): Promise<ProxyProcess> {
  const p = await startProxy({ backends: [slapd.url], extraArgs });
  proxies.push(p);
  return p;
}

async function boundClient(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  c.write(bindRequest(1, `uid=user1,${PEOPLE}`, 'pass1'));
  const m = await c.next();
  assert.equal(m?.resultCode, 0);
  return c;
}

test('beyond --max-connections a client is told unavailable and closed; a freed slot is reused', async () => {
  const p = await proxyWith('--max-connections', '2');
  const a = await boundClient(p.port());
  const b = await boundClient(p.port());
  const c = await RawClient.open(p.port());
  try {
    c.write(bindRequest(1));
    const m = await c.next(15_000);
    if (m) {
      // a Notice of Disconnection, or the bind answered with unavailable/busy
      assert.ok(
        m.responseName === NOTICE_OF_DISCONNECTION || m.id === 1,
        `unexpected message ${m.raw.toString('hex')}`,
      );
      assert.ok(m.resultCode === 52 || m.resultCode === 51, `result ${m.resultCode}`);
    }
    await c.waitClosed(15_000);
    a.destroy();
    await a.closed;
    // the slot is free again (the proxy notices the close asynchronously)
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      const r = await ldapTool('ldapwhoami', p.url(), ['-x']);
      served = r.code === 0;
      if (!served) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(served, 'a freed connection slot was not reused');
  } finally {
    a.destroy();
    b.destroy();
    c.destroy();
  }
});

test('--idle-timeout-ms closes a connection with nothing in progress', async () => {
  const p = await proxyWith('--idle-timeout-ms', '500');
  const c = await boundClient(p.port());
  try {
    const m = await c.next(15_000);
    if (m) assert.deepEqual([m.id, m.responseName], [0, NOTICE_OF_DISCONNECTION]);
    await c.waitClosed(15_000);
  } finally {
    c.destroy();
  }
});

test('a busy connection is not closed by the idle timeout while it keeps working', async () => {
  const p = await proxyWith('--idle-timeout-ms', '2500');
  const c = await boundClient(p.port());
  try {
    for (let i = 0; i < 8; i++) {
      c.write(searchRequest(10 + i, PEOPLE, 1, ['uid', 'user2']));
      assert.equal((await c.next())?.opTag, 0x64);
      assert.equal((await c.next())?.resultCode, 0);
      await new Promise((res) => setTimeout(res, 300));
    }
    assert.equal(c.ended, false);
  } finally {
    c.destroy();
  }
});

/** Established TCP connections to slapd's port (the proxy's backend links and any direct client). */
async function backendConnections(): Promise<number> {
  const r = await run('ss', ['-Htn', 'state', 'established', `( dport = :${slapd.port} )`]);
  return r.stdout.split('\n').filter((l) => l.trim()).length;
}

test('backend connections are closed when their clients unbind or hang up', async () => {
  const p = await proxyWith();
  await waitFor(async () => (await backendConnections()) === 0, 15_000, 'no backend connections at start');
  const clients = await Promise.all(Array.from({ length: 10 }, () => boundClient(p.port())));
  assert.equal(await backendConnections(), 10);
  for (const [i, c] of clients.entries()) {
    if (i % 2 === 0) c.write(unbindRequest(2));
    else c.destroy();
  }
  await waitFor(async () => (await backendConnections()) === 0, 15_000, 'backend connections to close');
  for (const c of clients) c.destroy();
});

test('SIGTERM with a connected client exits 0 within the grace period and closes the client', async () => {
  const p = await proxyWith('--shutdown-grace-ms', '1000');
  const c = await boundClient(p.port());
  try {
    const st = await p.stop(20_000);
    assert.deepEqual(st, { code: 0, signal: null });
    await c.waitClosed(5000);
  } finally {
    c.destroy();
  }
});

test('after SIGTERM the listener no longer accepts connections', async () => {
  const p = await proxyWith();
  const port = p.port();
  await p.stop();
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
  assert.equal(refused, true);
});

test('--config FILE (YAML) alone is enough to serve, and a flag wins over the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-cfg-'));
  try {
    const file = join(dir, 'proxy.yaml');
    const dead = `ldap://127.0.0.1:${await freePort()}`;
    writeFileSync(file, `listen:\n  - ldap://127.0.0.1:${await freePort()}\nbackend:\n  - ${slapd.url}\n`);
    const fromFile = await startProxy({ backends: [], listen: [], configFile: file });
    proxies.push(fromFile);
    assert.equal((await ldapTool('ldapwhoami', fromFile.url(), ['-x'])).stdout.trim(), 'anonymous');
    // the file names a dead backend; --backend on the command line replaces it
    writeFileSync(file, `listen:\n  - ldap://127.0.0.1:${await freePort()}\nbackend:\n  - ${dead}\n`);
    const flagWins = await startProxy({ backends: [slapd.url], listen: [], configFile: file });
    proxies.push(flagWins);
    assert.equal((await ldapTool('ldapwhoami', flagWins.url(), ['-x'])).stdout.trim(), 'anonymous');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
