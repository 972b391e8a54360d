// The real proxy (bin/shrtok-proxy serve) in front of a real slapd, with --metrics-listen: health
// endpoints, metrics that move with real LDAP traffic, and every metric deploy/ names in a live scrape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, PROXY_BIN, REPO_ROOT } from '../helpers/proxy.js';
import { freePort, run, waitFor } from '../helpers/run.js';
import { makeTestPki } from '../helpers/tls.js';
import { ADMIN_DN, PEOPLE, startSlapd } from '../helpers/slapd.js';
import { assertDeployNamesIn } from './deploy-names.js';
import { find, parseExposition } from './exposition.js';
import type { Exposition } from './exposition.js';

async function scrape(port: number): Promise<Exposition> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

function sum(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  return find(exp, name, labels).reduce((a, s) => a + s.value, 0);
}

/** Sends a PDU header declaring 2^31-1 bytes and waits for the proxy to close the connection. */
function lengthBomb(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(Buffer.from('30847fffffff', 'hex')));
    s.on('data', () => undefined);
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

test('serve --metrics-listen: health, readiness, traffic metrics and the deployed metric names', async () => {
  const slapd = await startSlapd();
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-obs-'));
  const metricsPort = await freePort();
  const auditFile = join(dir, 'audit.jsonl');
  const proxy = await startProxy({
    backends: [slapd.url],
    extraArgs: [
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
      '--audit-log',
      auditFile,
      '--log-level',
      'debug',
    ],
  });
  try {
    const base = `http://127.0.0.1:${metricsPort}`;
    await waitFor(() => proxy.stdout.includes(`metrics ${base}/metrics`), 5000, 'the metrics line');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.equal(((await ready.json()) as { status: string }).status, 'ready');
    assert.equal(statSync(auditFile).mode & 0o777, 0o600);

    const url = proxy.url();
    const ok = await run('ldapsearch', [
      '-x',
      '-LLL',
      '-H',
      url,
      '-b',
      PEOPLE,
      '-s',
      'one',
      '(uid=user1)',
      'uid',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const missing = await run('ldapsearch', ['-x', '-LLL', '-H', url, '-b', `ou=nowhere,${PEOPLE}`]);
    assert.equal(missing.code, 32);
    const badBind = await run('ldapwhoami', ['-x', '-H', url, '-D', ADMIN_DN, '-w', 'wrong']);
    assert.equal(badBind.code, 49);
    await lengthBomb(proxy.port());

    // Connections close asynchronously: wait until the open gauge is back to zero.
    let exp = await scrape(metricsPort);
    await waitFor(
      async () => {
        exp = await scrape(metricsPort);
        return sum(exp, 'shrtok_client_connections_open') === 0;
      },
      10_000,
      'connections to close',
    );
    assert.equal(sum(exp, 'shrtok_operations_total', { op: 'search', result: 'success' }), 1);
    assert.equal(sum(exp, 'shrtok_operations_total', { op: 'search', result: 'noSuchObject' }), 1);
    assert.equal(sum(exp, 'shrtok_operations_total', { op: 'bind', result: 'invalidCredentials' }), 1);
    assert.equal(sum(exp, 'shrtok_operations_total', { op: 'bind', result: 'success' }), 2);
    assert.equal(sum(exp, 'shrtok_operations_total', { op: 'unbind', result: 'none' }), 3);
    assert.equal(sum(exp, 'shrtok_operation_duration_seconds_count', { op: 'search' }), 2);
    // Every forwarded request with a response (2 searches, 3 binds); unbinds are not measured.
    assert.equal(sum(exp, 'shrtok_proxy_added_latency_seconds_count'), 5);
    assert.equal(sum(exp, 'shrtok_client_connections_accepted_total', { listener: '0', tls: 'false' }), 4);
    assert.equal(sum(exp, 'shrtok_client_connections_rejected_total', { reason: 'protocol_error' }), 1);
    assert.equal(sum(exp, 'shrtok_pdu_limit_violations_total', { source: 'client' }), 1);
    assert.equal(sum(exp, 'shrtok_backend_up', { backend: '0' }), 1);
    assert.ok(exp.types.has('nodejs_eventloop_lag_seconds'), 'default metrics');

    const exercised =
      /^shrtok_(operations|operation_duration|proxy_added|client_connections|backend_up|pdu_limit)|^(process|nodejs)_/;
    const names = assertDeployNamesIn(exp, { requireSamples: (n) => exercised.test(n) });
    assert.ok(names.length >= 25, `${names.length} names`);

    // Backend gone: readiness says which check fails and why; a client attempt marks the backend down.
    await slapd.stop();
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    const body = (await notReady.json()) as { missing: { name: string; detail: string }[] };
    assert.deepEqual(
      body.missing.map((m) => m.name),
      ['backend'],
    );
    assert.match(body.missing[0]!.detail, /^no backend answers: backend 0: /);
    // The readiness probe alone (no client traffic yet) already shows the backend down.
    assert.equal(sum(await scrape(metricsPort), 'shrtok_backend_up', { backend: '0' }), 0);
    const down = await run('ldapsearch', ['-x', '-LLL', '-H', url, '-b', PEOPLE, '-s', 'base']);
    assert.equal(down.code, 52);
    exp = await scrape(metricsPort);
    assert.equal(sum(exp, 'shrtok_backend_up', { backend: '0' }), 0);
    assert.ok(sum(exp, 'shrtok_backend_connect_failures_total', { backend: '0' }) >= 1, 'connect failures');
    // ldapsearch binds first; the bind gets unavailable (52) and the search is never sent.
    assert.equal(sum(exp, 'shrtok_operations_total', { op: 'bind', result: 'unavailable' }), 1);

    await slapd.start();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000, 'ready again');
    assert.equal(sum(await scrape(metricsPort), 'shrtok_backend_up', { backend: '0' }), 1);
  } finally {
    await proxy.stop();
    await slapd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve refuses a bad --metrics-listen with a one-line error naming the flag', async () => {
  const r = await run(
    process.execPath,
    [
      PROXY_BIN,
      'serve',
      '--listen',
      'ldap://127.0.0.1:0',
      '--backend',
      'ldap://127.0.0.1:1',
      '--metrics-listen',
      'nonsense',
    ],
    { cwd: REPO_ROOT },
  );
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    'shrtok-proxy: flag --metrics-listen: "nonsense" is not HOST:PORT (e.g. 127.0.0.1:9464)\n',
  );
  const level = await run(process.execPath, [PROXY_BIN, 'serve', '--log-level', 'loud'], { cwd: REPO_ROOT });
  assert.equal(level.code, 2);
  assert.match(
    level.stderr,
    /^shrtok-proxy: flag --log-level: "loud" is not one of fatal, error, warn, info, debug, trace, silent\n$/,
  );
  const help = await run(process.execPath, [PROXY_BIN, 'serve', '--help'], { cwd: REPO_ROOT });
  for (const flag of ['--metrics-listen HOST:PORT', '--log-level LEVEL', '--audit-log FILE'])
    assert.ok(help.stdout.includes(flag), flag);
});

test('rejected connections are counted by reason: limit and TLS failures (ldaps:// and after StartTLS)', async () => {
  const slapd = await startSlapd();
  const pki = await makeTestPki();
  const metricsPort = await freePort();
  const proxy = await startProxy({
    backends: [slapd.url],
    listen: ['ldap', 'ldaps'],
    tlsCertPath: pki.certPath,
    tlsKeyPath: pki.keyPath,
    extraArgs: [
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
      '--max-connections',
      '1',
      '--log-level',
      'debug',
    ],
  });
  const held = connect(proxy.port('ldap'), '127.0.0.1');
  try {
    await new Promise((r) => held.once('connect', r));
    await waitFor(
      async () => sum(await scrape(metricsPort), 'shrtok_client_connections_open') === 1,
      5000,
      'one open',
    );
    // Over the limit: told unavailable and closed.
    const refused = await run('ldapsearch', ['-x', '-LLL', '-H', proxy.url('ldap'), '-b', '', '-s', 'base']);
    assert.notEqual(refused.code, 0);
    held.destroy();
    await waitFor(
      async () => sum(await scrape(metricsPort), 'shrtok_client_connections_open') === 0,
      5000,
      'closed',
    );
    // Plain text on the ldaps:// port, then a StartTLS client that does not trust the proxy certificate.
    await new Promise<void>((resolve) => {
      const s = connect(proxy.port('ldaps'), '127.0.0.1', () => s.write('not a TLS client hello\r\n\r\n'));
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
    // StartTLS accepted, then bytes that are not a TLS handshake. (A client that rejects the certificate
    // after a TLS 1.3 handshake is invisible to the server: its 'secure' event has already fired.)
    await new Promise<void>((resolve) => {
      const oid = Buffer.from('1.3.6.1.4.1.1466.20037');
      const startTls = Buffer.concat([
        Buffer.from([0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16]),
        oid,
      ]);
      const s = connect(proxy.port('ldap'), '127.0.0.1', () => s.write(startTls));
      s.once('data', () => s.write('still plain text after StartTLS\r\n\r\n'));
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
    await waitFor(
      async () =>
        sum(await scrape(metricsPort), 'shrtok_client_connections_rejected_total', {
          reason: 'tls_failure',
        }) === 2,
      5000,
      'two TLS failures counted',
    );
    const exp = await scrape(metricsPort);
    assert.equal(sum(exp, 'shrtok_client_connections_rejected_total', { reason: 'limit' }), 1);
    assert.equal(sum(exp, 'shrtok_client_connections_rejected_total', { reason: 'protocol_error' }), 0);
    assert.equal(sum(exp, 'shrtok_client_connections_accepted_total', { listener: '0', tls: 'false' }), 2);
    // --log-level debug: JSON lines on stderr include the debug-level handshake failure.
    assert.ok(proxy.logs().some((l) => l.level === 'debug' && l.msg === 'TLS handshake failed'));
  } finally {
    held.destroy();
    await proxy.stop();
    await slapd.destroy();
    pki.destroy();
  }
});
