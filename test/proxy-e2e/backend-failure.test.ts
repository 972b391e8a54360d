// Backend failures seen through the proxy: a backend killed mid-traffic gives clients prompt errors (Notice of
// Disconnection, unavailable 52), a restarted backend serves new connections, and a dead first backend URL
// falls over to the next one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEOPLE } from '../helpers/slapd.js';
import { freePort, waitFor } from '../helpers/run.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { ldapTool, runPython, startStack } from './fixture.js';
import type { Stack } from './fixture.js';
import { NOTICE_OF_DISCONNECTION, RawClient, bindRequest, searchRequest } from './raw-ldap.js';

let stack: Stack;
const extraProxies: ProxyProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'shrtok-e2e-'));

before(async () => {
  // a failed backend is skipped for backend_down_ms; keep it short so a restart is picked up quickly
  stack = await startStack({}, { extraArgs: ['--backend-down-ms', '500'] });
});
after(async () => {
  for (const p of extraProxies) await p.stop();
  await stack?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const SEARCH = ['-x', '-LLL', '-b', PEOPLE, '(uid=user1)', 'uid'];

async function searchWorks(url: string): Promise<boolean> {
  const r = await ldapTool('ldapsearch', url, SEARCH);
  return r.code === 0 && /^uid: user1$/m.test(r.stdout);
}

/** The slapd child exists and has not exited (it may have been killed from outside the helper). */
function slapdRunning(): boolean {
  const p = stack.slapd.proc;
  return !!p && p.exitCode === null && p.signalCode === null;
}

async function backendUp(): Promise<void> {
  if (!slapdRunning()) await stack.slapd.start();
  // a backend that just failed may be marked down for a while; a new connection must work once it is retried
  await waitFor(() => searchWorks(stack.proxy.url()), 45_000, 'the proxy to serve again');
}

test('a bound client gets a Notice of Disconnection when the backend dies, then the socket closes', async () => {
  await backendUp();
  const c = await RawClient.open(stack.proxy.port());
  try {
    c.write(bindRequest(1, `uid=user3,${PEOPLE}`, 'pass3'));
    assert.equal((await c.next())?.resultCode, 0);
    c.write(searchRequest(2, PEOPLE, 2, ['uid', 'user3']));
    assert.equal((await c.next())?.opTag, 0x64);
    assert.equal((await c.next())?.resultCode, 0);
    await stack.slapd.stop('SIGKILL');
    const notice = await c.next(15_000);
    assert.ok(notice, 'connection closed without a Notice of Disconnection');
    assert.equal(notice.id, 0);
    assert.equal(notice.opTag, 0x78);
    assert.equal(notice.responseName, NOTICE_OF_DISCONNECTION);
    assert.equal(notice.resultCode, 52);
    await c.waitClosed(15_000);
  } finally {
    c.destroy();
  }
});

test('while the backend is down, a new client gets unavailable (52) with a diagnostic message', async () => {
  if (slapdRunning()) await stack.slapd.stop('SIGKILL');
  const r = await ldapTool('ldapsearch', stack.proxy.url(), SEARCH);
  assert.equal(r.code, 52, r.stdout + r.stderr);
  assert.match(r.stderr, /unavailable/i);
  assert.match(r.stderr, /additional info: \S+/);
});

test('while the backend is down, a raw bind gets a 52 result for its own message ID', async () => {
  if (slapdRunning()) await stack.slapd.stop('SIGKILL');
  const c = await RawClient.open(stack.proxy.port());
  try {
    c.write(bindRequest(7));
    const m = await c.next(15_000);
    assert.ok(m, 'closed without any answer');
    // either the bind is answered with 52, or the session is refused with a 52 notice
    if (m.id === 7) assert.equal(m.resultCode, 52);
    else assert.deepEqual([m.id, m.responseName, m.resultCode], [0, NOTICE_OF_DISCONNECTION, 52]);
  } finally {
    c.destroy();
  }
});

test('a restarted backend serves new connections through the same proxy', async () => {
  if (slapdRunning()) await stack.slapd.stop('SIGKILL');
  await stack.slapd.start();
  await waitFor(() => searchWorks(stack.proxy.url()), 45_000, 'the proxy to serve again');
  assert.ok(stack.proxy.alive);
});

test('python-ldap searching in a loop gets a prompt error when the backend is killed', async () => {
  await backendUp();
  const src = `
import json, os, signal, sys, time, ldap
url, pid = sys.argv[1], int(sys.argv[2])
c = ldap.initialize(url)
c.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
c.set_option(ldap.OPT_TIMEOUT, 20)
c.simple_bind_s('uid=user4,${PEOPLE}', 'pass4')
ok = 0
err = None
for i in range(100000):
    if i == 50:
        os.kill(pid, signal.SIGKILL)
    try:
        c.search_s('${PEOPLE}', ldap.SCOPE_ONELEVEL, '(uid=user4)', ['uid'])
        ok += 1
    except ldap.LDAPError as e:
        err = type(e).__name__
        break
print(json.dumps({'ok_before_kill': ok >= 50, 'error': err}))
`;
  const r = await runPython(src, [stack.proxy.url(), String(stack.slapd.proc!.pid)], 40_000);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json as { ok_before_kill: boolean; error: string };
  assert.equal(j.ok_before_kill, true);
  assert.ok(['SERVER_DOWN', 'UNAVAILABLE', 'CONNECT_ERROR'].includes(j.error), j.error);
  await backendUp();
});

test('with several --backend URLs and the first one down, the second serves', async () => {
  await backendUp();
  const dead = `ldap://127.0.0.1:${await freePort()}`;
  const p = await startProxy({ backends: [dead, stack.slapd.url] });
  extraProxies.push(p);
  const via = await ldapTool('ldapsearch', p.url(), SEARCH);
  const direct = await ldapTool('ldapsearch', stack.slapd.url, SEARCH);
  assert.equal(via.code, 0, via.stderr);
  assert.ok(via.stdoutBytes.equals(direct.stdoutBytes));
  // and again, now that the first is marked down
  assert.ok(await searchWorks(p.url()));
});

test('with every backend down, clients get unavailable (52)', async () => {
  const p = await startProxy({
    backends: [`ldap://127.0.0.1:${await freePort()}`, `ldap://127.0.0.1:${await freePort()}`],
  });
  extraProxies.push(p);
  const r = await ldapTool('ldapsearch', p.url(), SEARCH);
  assert.equal(r.code, 52, r.stdout + r.stderr);
  assert.ok(p.alive);
});

test('--pid-file holds the proxy pid and SIGTERM exits cleanly', async () => {
  const pidFile = join(tmp, 'proxy.pid');
  const p = await startProxy({ backends: [stack.slapd.url], pidFile });
  extraProxies.push(p);
  assert.equal(readFileSync(pidFile, 'utf8').trim(), String(p.pid));
  assert.ok(await searchWorks(p.url()));
  const st = await p.stop(15_000);
  assert.deepEqual(st, { code: 0, signal: null });
  assert.equal(existsSync(pidFile), false, 'pid file left behind');
});

test('the main proxy survived every backend failure', () => {
  assert.ok(stack.proxy.alive, stack.proxy.stderr);
});
