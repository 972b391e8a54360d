// Fault injection between shrtok-proxy and a real slapd with the test fault proxy: slow, sliced and
// throttled links change nothing; cut and reset links give the client a Notice of Disconnection at once;
// a backend that refuses connections is marked down and the second backend takes new clients; a backend
// that stops answering is answered through --backend-operation-timeout-ms and marked down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyOptions, ProxyProcess } from '../helpers/proxy.js';
import { run, sleep, waitFor } from '../helpers/run.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { LdapClient } from './ldap-client.js';
import { fdCount } from './ldap-wire.js';
import { rootDseSearch, searchRequest } from './pdus.js';

let slapd: Slapd;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  slapd = await startSlapd();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await slapd?.destroy();
});

async function faultProxy(): Promise<FaultProxy> {
  const fp = await FaultProxy.start({ port: slapd.port });
  cleanups.push(() => fp.stop());
  return fp;
}

async function proxyTo(
  backends: string[],
  extra: string[] = [],
  opts: Partial<ProxyOptions> = {},
): Promise<ProxyProcess> {
  const p = await startProxy({ backends, extraArgs: ['--log-level', 'warn', ...extra], ...opts });
  cleanups.push(async () => {
    await p.stop();
  });
  return p;
}

const SEARCH = ['-x', '-LLL', '-b', 'ou=People,dc=example,dc=com', '(objectClass=inetOrgPerson)'];

test('latency with jitter, 1-byte slices and a bandwidth limit leave results byte-identical', async (t) => {
  const fp = await faultProxy();
  const proxy = await proxyTo([fp.url]);
  const direct = await run('ldapsearch', ['-H', slapd.url, ...SEARCH]);
  assert.equal(direct.code, 0, direct.stderr);
  const cases: [string, Parameters<FaultProxy['set']>[0], 'up' | 'down' | 'both'][] = [
    ['latency 20 ms + jitter 30 ms', { latencyMs: 20, jitterMs: 30 }, 'both'],
    ['1-byte slices both ways', { slice: true }, 'both'],
    ['bandwidth 64 KiB/s down', { bandwidth: 65536 }, 'down'],
    ['bandwidth 2 KiB/s up', { bandwidth: 2048 }, 'up'],
  ];
  for (const [name, faults, dir] of cases) {
    await fp.clear();
    fp.set(faults, dir);
    const t0 = performance.now();
    const r = await run('ldapsearch', ['-H', proxy.url(), ...SEARCH, '-E', 'pr=7/noprompt'], {
      timeoutMs: 30_000,
    });
    t.diagnostic(`${name}: ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const strip = (s: string): string => s.replace(/^# pagedresults.*\n/gm, '');
    assert.equal(strip(r.stdout).replace(/\n+/g, '\n'), direct.stdout.replace(/\n+/g, '\n'), name);
  }
  await fp.clear();
  assert.ok(proxy.alive);
});

test('a backend link cut after N bytes or reset mid-response: Notice of Disconnection (52) and close', async (t) => {
  const fp = await faultProxy();
  const proxy = await proxyTo([fp.url]);
  const fds0 = fdCount(proxy.pid);
  for (const [name, arm] of [
    ['cut after 300 bytes down', () => fp.set({ cutAfterBytes: 300 }, 'down')],
    ['cut after 20 bytes up', () => fp.set({ cutAfterBytes: 20 }, 'up')],
    [
      'reset while the response is delayed',
      () => {
        fp.set({ latencyMs: 300 }, 'down');
        setTimeout(() => fp.resetAll(), 100);
      },
    ],
  ] as const) {
    await fp.clear();
    arm();
    const client = await LdapClient.open(proxy.port());
    const id = client.id();
    const t0 = performance.now();
    const r = await client.sendWithin(
      id,
      searchRequest(id, {
        base: 'ou=People,dc=example,dc=com',
        scope: 1,
        filter: { present: 'objectClass' },
      }),
      5000,
      name,
    );
    t.diagnostic(`${name}: ${r.kind}, notice ${client.notice}, ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(r.kind, 'closed', name);
    assert.equal(client.notice, 52, `${name}: expected a Notice of Disconnection with unavailable (52)`);
    client.close();
  }
  await fp.clear();
  await waitFor(() => fdCount(proxy.pid) <= fds0, 10_000, 'proxy descriptors back to the baseline');
  // The proxy still serves once the link is healthy.
  const c = await LdapClient.open(proxy.port());
  await c.ping();
  c.close();
});

test('a backend connect that does not complete in time answers unavailable (52) instead of hanging', async (t) => {
  // With --backend-starttls the StartTLS exchange is part of the connect deadline; a backend that accepts
  // TCP and then says nothing must not hold the client.
  const fp = await faultProxy();
  fp.set({ hold: true });
  const proxy = await proxyTo([fp.url], ['--backend-starttls', '--backend-connect-timeout-ms', '1000']);
  const client = await LdapClient.open(proxy.port());
  const t0 = performance.now();
  const id = client.id();
  const r = await client.sendWithin(id, rootDseSearch(id), 8000, 'search during a held connect');
  t.diagnostic(`answered after ${(performance.now() - t0).toFixed(0)} ms (connect timeout 1000 ms)`);
  assert.equal(r.kind, 'response');
  assert.equal(r.kind === 'response' && r.message.resultCode, 52);
  client.close();
  await fp.clear();
});

test('a client that gives up on a backend that stopped answering leaves no socket behind', async () => {
  const fp = await faultProxy();
  const proxy = await proxyTo([fp.url]);
  const client = await LdapClient.open(proxy.port());
  await client.ping();
  const fds0 = fdCount(proxy.pid);
  fp.set({ hold: true }, 'down');
  const pending = client.findUid('user1', 60_000);
  await sleep(500);
  assert.equal(fp.connections.size, 1);
  client.close();
  assert.equal((await pending).kind, 'closed');
  await waitFor(() => fp.connections.size === 0, 5000, 'the proxy to close its backend connection');
  await waitFor(() => fdCount(proxy.pid) <= fds0 - 2, 5000, 'proxy descriptors released');
  await fp.clear();
});

test('per-operation timeout: an operation on a backend that stopped answering is answered with 52', async (t) => {
  const fp = await faultProxy();
  const proxy = await proxyTo([fp.url], ['--backend-operation-timeout-ms', '1000']);
  const client = await LdapClient.open(proxy.port());
  await client.ping();
  fp.set({ hold: true }, 'down');
  try {
    const t0 = performance.now();
    const r = await client.findUid('user1', 8000);
    t.diagnostic(`answered after ${(performance.now() - t0).toFixed(0)} ms (operation timeout 1000 ms)`);
    assert.equal(r.kind, 'response');
    assert.equal(r.kind === 'response' && r.message.resultCode, 52);
  } finally {
    client.close();
    await fp.clear();
  }
});

test('a backend that refuses connections is marked down and the second backend takes new clients', async () => {
  const a = await faultProxy();
  const b = await faultProxy();
  const proxy = await proxyTo([a.url, b.url], ['--backend-down-ms', '30000']);
  let c = await LdapClient.open(proxy.port());
  await c.ping();
  c.close();
  assert.deepEqual([a.accepted, b.accepted], [1, 0], 'the first backend is used while healthy');
  await a.setAcceptMode('refuse');
  for (let i = 0; i < 3; i++) {
    c = await LdapClient.open(proxy.port());
    await c.ping();
    c.close();
  }
  // A refused connect marks A down; every client went to B, and A was not tried again.
  assert.deepEqual([a.accepted, b.accepted], [1, 3]);
  await a.setAcceptMode('forward');
  c = await LdapClient.open(proxy.port());
  await c.ping();
  c.close();
  assert.deepEqual([a.accepted, b.accepted], [1, 4], 'A stays down for --backend-down-ms');
});

test('a backend that accepts connections but never answers is marked down by the operation timeout', async () => {
  const a = await faultProxy();
  const b = await faultProxy();
  const proxy = await proxyTo(
    [a.url, b.url],
    ['--backend-operation-timeout-ms', '1000', '--backend-down-ms', '30000'],
  );
  await a.setAcceptMode('hold');
  const first = await LdapClient.open(proxy.port());
  try {
    const id = first.id();
    const r = await first.sendWithin(id, rootDseSearch(id), 8000, 'search on a silent backend');
    assert.equal(
      r.kind === 'response' && r.message.resultCode,
      52,
      'the silent backend is reported, not waited on',
    );
  } finally {
    first.close();
  }
  // The timeout marked A down: the next client goes to B and is served.
  const second = await LdapClient.open(proxy.port());
  try {
    await second.ping(5000);
    assert.equal(b.accepted, 1);
  } finally {
    second.close();
    await a.clear();
  }
});

test('a backend that accepts and resets at once: the client is told (52) and closed, nothing hangs', async (t) => {
  const a = await faultProxy();
  await a.setAcceptMode('reset');
  const proxy = await proxyTo([a.url]);
  const c = await LdapClient.open(proxy.port());
  const id = c.id();
  const t0 = performance.now();
  const r = await c.sendWithin(id, rootDseSearch(id), 8000, 'search on a resetting backend');
  t.diagnostic(`${r.kind} (notice ${c.notice}) after ${(performance.now() - t0).toFixed(0)} ms`);
  // Either answered unavailable (the connect failed) or told by a Notice of Disconnection and closed.
  assert.ok(
    (r.kind === 'response' && r.message.resultCode === 52) || (r.kind === 'closed' && c.notice === 52),
    JSON.stringify({ kind: r.kind, notice: c.notice }),
  );
  c.close();
});

test('a backend that accepts and resets at once is marked down; the second backend takes new clients', async () => {
  const a = await faultProxy();
  const b = await faultProxy();
  await a.setAcceptMode('reset');
  const proxy = await proxyTo([a.url, b.url]);
  const results: string[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await LdapClient.open(proxy.port());
    try {
      await c.ping(5000);
      results.push('ok');
    } catch (e) {
      results.push((e as Error).message);
    } finally {
      c.close();
    }
  }
  assert.deepEqual(results.slice(1), ['ok', 'ok'], `clients after the first: ${results.join('; ')}`);
});
