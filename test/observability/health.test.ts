import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createMetrics } from '../../src/metrics/index.js';
import { parseListenAddress, Readiness, startHealthServer } from '../../src/health/index.js';
import { parseExposition } from './exposition.js';

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('health server on a loopback port: healthz, readyz 503 then 200, metrics with default metrics', async () => {
  const metrics = createMetrics();
  const readiness = new Readiness();
  const server = await startHealthServer({ host: '127.0.0.1', port: 0, metrics, readiness });
  try {
    assert.ok(server.port > 0);
    const health = await get(server.port, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });

    // Nothing registered: not ready, and the body says so.
    let ready = await get(server.port, '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.contentType, 'application/json');
    assert.match(ready.body, /no readiness checks registered/);

    let backendUp = false;
    let hsmLoggedIn = false;
    readiness.register('backend', () => ({
      ok: backendUp,
      detail: backendUp ? 'backend 0 answers' : 'no backend answers',
    }));
    readiness.register('hsm', () => Promise.resolve(hsmLoggedIn));
    ready = await get(server.port, '/readyz');
    assert.equal(ready.status, 503);
    interface ReadyBody {
      status: string;
      missing: { name: string; detail: string }[];
      checks: { name: string; ok: boolean }[];
    }
    let body = JSON.parse(ready.body) as ReadyBody;
    assert.equal(body.status, 'not ready');
    assert.deepEqual(
      body.missing.map((c) => [c.name, c.detail]),
      [
        ['backend', 'no backend answers'],
        ['hsm', 'not ready'],
      ],
    );

    backendUp = true;
    ready = await get(server.port, '/readyz');
    body = JSON.parse(ready.body) as ReadyBody;
    assert.equal(ready.status, 503);
    assert.deepEqual(
      body.missing.map((c) => c.name),
      ['hsm'],
    );

    hsmLoggedIn = true;
    ready = await get(server.port, '/readyz');
    assert.equal(ready.status, 200, ready.body);
    body = JSON.parse(ready.body) as ReadyBody;
    assert.equal(body.status, 'ready');
    assert.deepEqual(
      body.checks.map((c) => [c.name, c.ok]),
      [
        ['backend', true],
        ['hsm', true],
      ],
    );

    metrics.operation(0x63, 0, 0.001);
    const scrape = await get(server.port, '/metrics');
    assert.equal(scrape.status, 200);
    assert.equal(scrape.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const exp = parseExposition(scrape.body);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'shrtok_operations_total',
    ])
      assert.ok(exp.types.has(name), `${name} missing from /metrics`);
    assert.ok(exp.samples.some((s) => s.name === 'shrtok_operations_total' && s.value === 1));

    const head = await get(server.port, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await get(server.port, '/nope')).status, 404);
    assert.equal((await get(server.port, '/metrics', 'POST')).status, 405);
  } finally {
    await server.close();
  }
});

test('readiness checks are bounded by a timeout, and a throwing check reports only its error class', async () => {
  const readiness = new Readiness();
  readiness.register('hung', () => new Promise<boolean>(() => {}), { timeoutMs: 100 });
  readiness.register('throws', () => {
    throw new TypeError('password=hunter2 leaked in a message');
  });
  const remove = readiness.register('fine', () => true);
  const report = await readiness.evaluate();
  assert.equal(report.ready, false);
  const byName = new Map(report.checks.map((c) => [c.name, c]));
  assert.equal(byName.get('hung')?.detail, 'timed out after 100 ms');
  assert.equal(byName.get('throws')?.detail, 'check failed: TypeError');
  assert.ok(!JSON.stringify(report).includes('hunter2'));
  assert.equal(byName.get('fine')?.ok, true);
  remove();
  assert.deepEqual(readiness.names(), ['hung', 'throws']);
});

test('parseListenAddress accepts HOST:PORT and [v6]:PORT and names a bad value', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListenAddress('[::1]:9464'), { host: '::1', port: 9464 });
  assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9464', '127.0.0.1', '127.0.0.1:99999', ':9464', 'a:b', '::1:9464'])
    assert.throws(
      () => parseListenAddress(bad),
      new RegExp(`"${bad.replace(/[.[\]]/g, '\\$&')}" is not HOST:PORT`),
    );
});
