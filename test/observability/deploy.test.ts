import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { assertDeployNamesIn, DASHBOARD, PROM_DIR, ruleFiles } from './deploy-names.js';
import type { Panel, RuleFile } from './deploy-names.js';
import { run, waitFor } from '../helpers/run.js';
import { parseExposition } from './exposition.js';
import { metricNames } from './promql-names.js';

test('promtool accepts the alert rules and the scrape config, and the rule unit tests pass', async () => {
  const rules = await run('promtool', ['check', 'rules', ...ruleFiles()]);
  assert.equal(rules.code, 0, rules.stdout + rules.stderr);
  assert.match(rules.stdout, /SUCCESS: \d+ rules found/);
  const config = await run('promtool', ['check', 'config', join(PROM_DIR, 'prometheus.yml')]);
  assert.equal(config.code, 0, config.stdout + config.stderr);
  const tests = readdirSync(join(PROM_DIR, 'tests')).map((f) => join(PROM_DIR, 'tests', f));
  const unit = await run('promtool', ['test', 'rules', ...tests]);
  assert.equal(unit.code, 0, unit.stdout + unit.stderr);
  assert.match(unit.stdout, /SUCCESS/);
});

test('alert rules cover the required conditions with for:, severity and summaries', () => {
  const alerts = ruleFiles().flatMap((f) =>
    (parseYaml(readFileSync(f, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules),
  );
  const byName = new Map(alerts.map((a) => [a.alert ?? '', a]));
  for (const [alert, metric] of [
    ['ShrtokBackendDown', 'shrtok_backend_up'],
    ['ShrtokHsmErrors', 'shrtok_hsm_errors_total'],
    ['ShrtokVerificationFailureRatioHigh', 'shrtok_verifications_total'],
    ['ShrtokLockoutSpike', 'shrtok_lockouts_total'],
    ['ShrtokAddedLatencyHigh', 'shrtok_proxy_added_latency_seconds_bucket'],
    ['ShrtokPduLimitViolations', 'shrtok_pdu_limit_violations_total'],
  ] as const) {
    const rule = byName.get(alert);
    assert.ok(rule, `${alert} missing`);
    assert.ok(metricNames(rule.expr).includes(metric), `${alert} does not read ${metric}`);
  }
  for (const a of alerts) {
    assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert} has no for:`);
    assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''), `${a.alert} severity`);
    assert.ok((a.annotations?.summary ?? '').length > 10, `${a.alert} summary`);
  }
});

test('the Grafana dashboard has the required panels, each with a query', () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };
  assert.equal(dash.uid, 'shrtok-proxy');
  const titles = dash.panels.filter((p) => p.type !== 'row').map((p) => p.title.toLowerCase());
  for (const needed of [
    'throughput',
    'latency percentiles',
    'verification outcomes',
    'cache hit ratio',
    'hsm latency',
    'backend up',
  ])
    assert.ok(
      titles.some((t) => t.includes(needed)),
      `no panel about ${needed}`,
    );
  for (const p of dash.panels.filter((x) => x.type !== 'row'))
    assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
});

test('the PromQL name extractor finds metric names and nothing else', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (instance, le) (rate(shrtok_x_seconds_bucket{a="b",c=~"$instance"}[$__rate_interval]))) > 0.001',
    ),
    ['shrtok_x_seconds_bucket'],
  );
  assert.deepEqual(
    metricNames('(sum(rate(a_total{r="failure"}[5m])) / sum(rate(a_total[5m]))) > 0.5 and sum(b) > 0.05'),
    ['a_total', 'b'],
  );
  assert.deepEqual(metricNames('up{job="shrtok-proxy"} == 0'), ['up']);
});

test('every metric named in the alert rules and the dashboard exists in a real /metrics scrape', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/observability/fixtures/metrics-process.ts'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  try {
    await waitFor(() => /metrics (\S+)/.test(out) || child.exitCode !== null, 30_000, 'the metrics process');
    const url = /metrics (\S+)/.exec(out)?.[1];
    assert.ok(url, `metrics process did not start: ${err}`);
    const res = await fetch(url);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const exp = parseExposition(await res.text());
    // This process exercised every helper, so every named metric must have samples too.
    const checked = assertDeployNamesIn(exp, { requireSamples: () => true });
    assert.ok(checked.length >= 25, `only ${checked.length} names checked: ${checked.join(' ')}`);
    assert.ok(checked.includes('nodejs_eventloop_lag_p99_seconds'));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
});
