import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createMetrics,
  LATENCY_BUCKETS,
  NO_RESULT,
  OP_NAMES,
  RESULT_NAMES,
  opSlot,
  peekResultCode,
  resultSlot,
} from '../../src/metrics/index.js';
import type { FailedCheckLabel, TokenWriteRejectReason } from '../../src/metrics/index.js';
import { find, parseExposition, value } from './exposition.js';

async function scrape(m: ReturnType<typeof createMetrics>) {
  return parseExposition((await m.scrape()).body);
}

test('every shrtok_ metric uses the prefix and a Prometheus base-unit suffix', async () => {
  const m = createMetrics();
  const exp = await scrape(m);
  assert.deepEqual([...exp.types.keys()].sort(), [
    'shrtok_backend_connect_failures_total',
    'shrtok_backend_failovers_total',
    'shrtok_backend_up',
    'shrtok_build_info',
    'shrtok_cache_entries',
    'shrtok_cache_evictions_total',
    'shrtok_cache_hits_total',
    'shrtok_cache_misses_total',
    'shrtok_client_connections_accepted_total',
    'shrtok_client_connections_open',
    'shrtok_client_connections_rejected_total',
    'shrtok_hsm_errors_total',
    'shrtok_hsm_operation_duration_seconds',
    'shrtok_hsm_operations_total',
    'shrtok_hsm_session_logged_in',
    'shrtok_lockouts_active',
    'shrtok_lockouts_total',
    'shrtok_operation_duration_seconds',
    'shrtok_operations_total',
    'shrtok_pdu_limit_violations_total',
    'shrtok_proxy_added_latency_seconds',
    'shrtok_token_writes_rejected_total',
    'shrtok_verification_duration_seconds',
    'shrtok_verifications_total',
  ]);
  for (const [name, type] of exp.types) {
    assert.match(name, /^shrtok_[a-z0-9_]+$/);
    if (type === 'counter') assert.match(name, /_total$/, name);
    if (type === 'histogram') assert.match(name, /_seconds$/, name);
    if (type === 'gauge') assert.doesNotMatch(name, /_total$/, name);
  }
});

test('operations count by op tag and result-code name, with histogram buckets from 50 µs to 5 s', async () => {
  const m = createMetrics();
  m.operation(0x63, 0, 0.0003); // search, success
  m.operation(0x63, 0, 0.00004);
  m.operation(0x63, 32, 0.002); // noSuchObject
  m.operation(0x60, 49, 0.01); // bind, invalidCredentials
  m.operation(0x42, NO_RESULT, -1); // unbind: no response, no latency
  m.operation(0x99, 9999, 7); // unknown tag and code, beyond the last bucket
  const exp = await scrape(m);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'search', result: 'success' }), 2);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'search', result: 'noSuchObject' }), 1);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'bind', result: 'invalidCredentials' }), 1);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'unbind', result: 'none' }), 1);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'other', result: 'unknown' }), 1);
  // Pre-set zero series for the success path of every real operation.
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'compare', result: 'success' }), 0);

  const buckets = find(exp, 'shrtok_operation_duration_seconds_bucket', { op: 'search' });
  assert.deepEqual(
    buckets.map((b) => b.labels.le),
    [...LATENCY_BUCKETS.map(String), '+Inf'],
  );
  assert.equal(buckets[0]!.labels.le, '0.00005');
  assert.equal(buckets.at(-2)!.labels.le, '5');
  const at = (le: string) => buckets.find((b) => b.labels.le === le)!.value;
  assert.equal(at('0.00005'), 1); // 40 µs
  assert.equal(at('0.0005'), 2); // + 300 µs
  assert.equal(at('0.0025'), 3); // + 2 ms (cumulative)
  assert.equal(at('+Inf'), 3);
  assert.equal(value(exp, 'shrtok_operation_duration_seconds_count', { op: 'search' }), 3);
  assert.ok(
    Math.abs(value(exp, 'shrtok_operation_duration_seconds_sum', { op: 'search' }) - 0.00234) < 1e-12,
  );
  const other = find(exp, 'shrtok_operation_duration_seconds_bucket', { op: 'other' });
  assert.equal(other.find((b) => b.labels.le === '5')!.value, 0);
  assert.equal(other.find((b) => b.labels.le === '+Inf')!.value, 1);
  assert.equal(find(exp, 'shrtok_operation_duration_seconds_count', { op: 'unbind' }).length, 0);
});

test('op and result slots are bounded whatever the bytes say', () => {
  const ops = new Set<number>();
  const results = new Set<number>();
  for (let tag = 0; tag < 512; tag++) ops.add(opSlot(tag));
  for (const code of [-5, -1, 0, 1, 49, 127, 128, 4096, 65535, 2 ** 31, Number.NaN])
    results.add(resultSlot(code));
  for (const s of ops) assert.ok(s >= 0 && s < OP_NAMES.length);
  for (const s of results) assert.ok(s >= 0 && s < RESULT_NAMES.length);
  assert.equal(OP_NAMES[opSlot(0x77)], 'extended');
  assert.equal(RESULT_NAMES[resultSlot(4096)], 'e-syncRefreshRequired');
  assert.equal(RESULT_NAMES[resultSlot(52)], 'unavailable');
});

test('labels stay bounded: unknown values become other, no free text reaches a label', async () => {
  const m = createMetrics();
  const dn = 'uid=alice,ou=People,dc=example,dc=com';
  m.verification('bind', 'failure', dn as unknown as FailedCheckLabel, 0.001);
  m.verification('cmc', 'failure', 'pop_link', 0.002);
  m.verification('extop', 'success', 'identity_proof', 0.003); // a success never carries a check
  m.verification('nonsense' as 'bind', 'maybe' as 'success', null, 0.001);
  m.tokenWriteRejected('10.0.0.1' as TokenWriteRejectReason);
  m.tokenWriteRejected('unwrap');
  m.hsmOperation('decrypt', 0.004, true);
  m.hsmOperation('decrypt', 0.5, false);
  m.hsmOperation('serial-XYZZY' as 'decrypt', 0.001, true);
  m.connectionRejected('limit');
  m.connectionRejected('bogusreasonqq' as 'limit');
  m.lockoutStarted('identity');
  m.cacheEviction('invalidated');
  const body = (await m.scrape()).body;
  assert.ok(
    !body.includes('alice') &&
      !body.includes('10.0.0.1') &&
      !body.includes('XYZZY') &&
      !body.includes('bogusreasonqq'),
  );
  const exp = parseExposition(body);
  assert.equal(
    value(exp, 'shrtok_verifications_total', { kind: 'bind', result: 'failure', failed_check: 'other' }),
    2,
  );
  assert.equal(
    value(exp, 'shrtok_verifications_total', { kind: 'cmc', result: 'failure', failed_check: 'pop_link' }),
    1,
  );
  assert.equal(
    value(exp, 'shrtok_verifications_total', { kind: 'extop', result: 'success', failed_check: 'none' }),
    1,
  );
  assert.equal(value(exp, 'shrtok_token_writes_rejected_total', { reason: 'other' }), 1);
  assert.equal(value(exp, 'shrtok_token_writes_rejected_total', { reason: 'unwrap' }), 1);
  assert.equal(value(exp, 'shrtok_hsm_operations_total', { op: 'decrypt' }), 2);
  assert.equal(value(exp, 'shrtok_hsm_operations_total', { op: 'other' }), 1);
  assert.equal(value(exp, 'shrtok_hsm_errors_total', { op: 'decrypt' }), 1);
  assert.equal(value(exp, 'shrtok_hsm_operation_duration_seconds_count', { op: 'decrypt' }), 2);
  assert.equal(value(exp, 'shrtok_client_connections_rejected_total', { reason: 'limit' }), 1);
  assert.equal(value(exp, 'shrtok_client_connections_rejected_total', { reason: 'tls_failure' }), 0);
  assert.equal(value(exp, 'shrtok_lockouts_total', { scope: 'identity' }), 1);
  assert.equal(value(exp, 'shrtok_cache_evictions_total', { reason: 'invalidated' }), 1);

  const allowed: Record<string, RegExp> = {
    op: /^[a-z]+$/,
    result: /^[a-zA-Z-]+$/,
    listener: /^\d+$/,
    backend: /^\d+$/,
    tls: /^(true|false)$/,
    le: /^([\d.e-]+|\+Inf)$/,
    kind: /^(bind|extop|cmc|revocation)$/,
    failed_check: /^[a-z0-9_]+$/,
    reason: /^[a-z0-9_]+$/,
    scope: /^[a-z_]+$/,
    source: /^(client|backend)$/,
    version: /^[\d.]+$/,
    node_version: /^[\d.]+$/,
  };
  for (const s of exp.samples)
    for (const [k, v] of Object.entries(s.labels)) {
      assert.ok(allowed[k], `unexpected label ${k} on ${s.name}`);
      assert.match(v, allowed[k], `${s.name}{${k}="${v}"}`);
    }
});

test('connections, StartTLS upgrades and backends keep their gauges consistent', async () => {
  const m = createMetrics();
  m.declareBackends(2);
  m.connectionOpened(0, false);
  m.connectionOpened(0, false);
  m.connectionOpened(1, true);
  m.connectionUpgraded(0);
  m.connectionClosed(0, true);
  m.backendUp(1, false);
  m.backendConnectFailure(1);
  m.backendFailover();
  m.pduLimitViolation('client');
  m.addedLatencySeconds(0.00002);
  const exp = await scrape(m);
  assert.equal(value(exp, 'shrtok_client_connections_open', { listener: '0', tls: 'false' }), 1);
  assert.equal(value(exp, 'shrtok_client_connections_open', { listener: '0', tls: 'true' }), 0);
  assert.equal(value(exp, 'shrtok_client_connections_open', { listener: '1', tls: 'true' }), 1);
  assert.equal(value(exp, 'shrtok_client_connections_accepted_total', { listener: '0', tls: 'false' }), 2);
  assert.equal(value(exp, 'shrtok_backend_up', { backend: '0' }), 1);
  assert.equal(value(exp, 'shrtok_backend_up', { backend: '1' }), 0);
  assert.equal(value(exp, 'shrtok_backend_connect_failures_total', { backend: '0' }), 0);
  assert.equal(value(exp, 'shrtok_backend_connect_failures_total', { backend: '1' }), 1);
  assert.equal(value(exp, 'shrtok_backend_failovers_total'), 1);
  assert.equal(value(exp, 'shrtok_pdu_limit_violations_total', { source: 'client' }), 1);
  assert.equal(value(exp, 'shrtok_pdu_limit_violations_total', { source: 'backend' }), 0);
  assert.equal(value(exp, 'shrtok_proxy_added_latency_seconds_bucket', { le: '0.00005' }), 1);
});

test('two factories have independent registries; default metrics include event-loop lag', async () => {
  const a = createMetrics({ defaultMetrics: true });
  const b = createMetrics();
  a.cacheHit();
  a.enableDefaultMetrics(); // idempotent
  const ea = await scrape(a);
  const eb = await scrape(b);
  assert.equal(value(ea, 'shrtok_cache_hits_total'), 1);
  assert.equal(value(eb, 'shrtok_cache_hits_total'), 0);
  assert.ok(ea.types.has('nodejs_eventloop_lag_seconds'));
  assert.ok(ea.types.has('process_cpu_user_seconds_total'));
  assert.ok(!eb.types.has('nodejs_eventloop_lag_seconds'));
  assert.equal((await a.scrape()).contentType, 'text/plain; version=0.0.4; charset=utf-8');
});

test('peekResultCode reads the resultCode of response frames in place', () => {
  const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
  // searchResDone, messageID 5, success, matchedDN "", diagnosticMessage ""
  assert.equal(peekResultCode(hex('30 0c 02 01 05 65 07 0a 01 00 04 00 04 00')), 0);
  // long-form lengths everywhere, noSuchObject (32)
  assert.equal(peekResultCode(hex('30 84 00 00 00 10 02 01 05 65 84 00 00 00 07 0a 01 20 04 00 04 00')), 32);
  // bindResponse with a two-byte messageID and invalidCredentials (49)
  assert.equal(peekResultCode(hex('30 0d 02 02 01 00 61 07 0a 01 31 04 00 04 00')), 49);
  // e-syncRefreshRequired (4096) as a two-octet ENUMERATED
  assert.equal(peekResultCode(hex('30 0e 02 01 07 65 08 0a 02 10 00 04 00 04 00')), 4096);
  // not an LDAPResult: a searchResEntry starts with an OCTET STRING, and garbage or truncation
  assert.equal(peekResultCode(hex('30 0c 02 01 05 64 07 04 03 64 63 3d 30 00')), -2);
  assert.equal(peekResultCode(hex('31 0c 02 01 05 65 07 0a 01 00 04 00 04 00')), -2);
  assert.equal(peekResultCode(hex('30 0c 02 01 05 65 07 0a')), -2);
  assert.equal(peekResultCode(hex('30 85 00 00 00 00 10')), -2);
  assert.equal(peekResultCode(Buffer.alloc(0)), -2);
  assert.equal(RESULT_NAMES[resultSlot(-2)], 'unknown');
});

test('operationResponse counts by the response tag and the result code in the frame', async () => {
  const m = createMetrics();
  const done = Buffer.from('300c02010565070a012004000400', 'hex'); // searchResDone noSuchObject
  const bind = Buffer.from('300c02010261070a010004000400', 'hex'); // bindResponse success
  m.operationResponse(0x65, done, performance.now());
  m.operationResponse(0x61, bind, performance.now());
  m.operationResponse(0x61, Buffer.from('3000', 'hex'), performance.now());
  const exp = await scrape(m);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'search', result: 'noSuchObject' }), 1);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'bind', result: 'success' }), 1);
  assert.equal(value(exp, 'shrtok_operations_total', { op: 'bind', result: 'unknown' }), 1);
  assert.equal(value(exp, 'shrtok_operation_duration_seconds_count', { op: 'bind' }), 2);
});

test('lockouts_active is read from its provider at every scrape', async () => {
  const m = createMetrics();
  let locked = 3;
  m.lockoutsActiveFrom(() => locked);
  assert.equal(value(await scrape(m), 'shrtok_lockouts_active'), 3);
  locked = 0;
  assert.equal(value(await scrape(m), 'shrtok_lockouts_active'), 0);
});

test('declareBackends after a reload keeps known states and drops removed indexes', async () => {
  const m = createMetrics();
  m.declareBackends(3);
  m.backendUp(1, false);
  m.backendConnectFailure(2);
  m.declareBackends(2);
  const exp = await scrape(m);
  assert.equal(value(exp, 'shrtok_backend_up', { backend: '0' }), 1);
  assert.equal(value(exp, 'shrtok_backend_up', { backend: '1' }), 0);
  assert.equal(find(exp, 'shrtok_backend_up', { backend: '2' }).length, 0);
  assert.equal(find(exp, 'shrtok_backend_connect_failures_total', { backend: '2' }).length, 0);
});
