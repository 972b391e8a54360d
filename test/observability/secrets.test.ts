// Issue 7: run the verification scenarios with a marker passphrase and grep every log line, audit line,
// stdout and the /metrics output for the marker, its base64 and its hex.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { freePort } from '../helpers/run.js';
import { ADMIN_DN, SERVICE_PASSWORD, PEOPLE } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { startTokenSlapd, verificationArgs } from '../verify/fixtures.js';
import { assertDeployNamesIn } from './deploy-names.js';
import { find, parseExposition } from './exposition.js';
import { addMarkerEntries, MARKER, runSecretScenarios, secretForms } from './secret-scenarios.js';

test('secretForms covers the marker, its hex and its base64 at every alignment', () => {
  const forms = secretForms(MARKER);
  assert.ok(forms.includes(MARKER));
  assert.ok(forms.includes(Buffer.from(MARKER).toString('hex')));
  for (const pad of [0, 1, 2]) {
    const blob = Buffer.concat([Buffer.alloc(pad, 7), Buffer.from(MARKER), Buffer.from('tail')]).toString(
      'base64',
    );
    assert.ok(
      forms.some((f) => f !== MARKER && blob.includes(f)),
      `base64 with ${pad} leading bytes not recognised`,
    );
  }
});

test('no log line, audit line or /metrics output carries the marker passphrase', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-secrets-'));
  let slapd: Slapd | undefined;
  let pki: TestPki | undefined;
  let proxy: ProxyProcess | undefined;
  try {
    [slapd, pki] = await Promise.all([startTokenSlapd(), makeTestPki()]);
    await addMarkerEntries(slapd.url);
    writeFileSync(join(dir, 'svc.pw'), `${SERVICE_PASSWORD}\n`);
    const auditPath = join(dir, 'audit.jsonl');
    const metricsPort = await freePort();
    proxy = await startProxy({
      backends: [slapd.url],
      tlsCertPath: pki.certPath,
      tlsKeyPath: pki.keyPath,
      extraArgs: [
        ...verificationArgs({
          passwordFile: join(dir, 'svc.pw'),
          certRepository: true,
          verifierDn: `uid=user1,${PEOPLE}`,
          tokenReaderDn: ADMIN_DN,
        }),
        '--metrics-listen',
        `127.0.0.1:${metricsPort}`,
        '--audit-log',
        auditPath,
        // The most verbose level: every debug and trace line is searched too.
        '--log-level',
        'trace',
      ],
    });
    const { expected } = await runSecretScenarios({ url: proxy.url(), pki, dir });

    const metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const readyText = await (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).text();
    await proxy.stop();
    const audit = readFileSync(auditPath, 'utf8');

    // The scenarios really ran and were recorded: one audit line per verification, counted in metrics.
    const lines = audit
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; result: string });
    const tally = (xs: { kind: string; result: string }[]) =>
      xs.reduce<Record<string, number>>(
        (t, x) => ({ ...t, [`${x.kind}/${x.result}`]: (t[`${x.kind}/${x.result}`] ?? 0) + 1 }),
        {},
      );
    assert.deepEqual(tally(lines), tally(expected));
    const exp = parseExposition(metricsText);
    for (const kind of ['bind', 'extop', 'cmc', 'revocation'])
      assert.ok(
        find(exp, 'shrtok_verifications_total', { kind, result: 'success' }).some((s) => s.value >= 1),
        kind,
      );
    assert.ok(find(exp, 'shrtok_lockouts_total', { scope: 'identity' }).some((s) => s.value >= 1));
    assert.ok(find(exp, 'shrtok_hsm_operations_total', { op: 'decrypt' }).some((s) => s.value >= 1));
    assert.ok(
      find(exp, 'shrtok_lockouts_active').some((s) => s.value >= 1),
      'an identity is locked',
    );
    assert.equal(find(exp, 'shrtok_hsm_session_logged_in')[0]?.value, 1);
    assert.ok(find(exp, 'shrtok_token_writes_rejected_total').some((s) => s.value >= 1));
    // With verification on, the deployed rules and dashboard find their verification series too.
    assertDeployNamesIn(exp, {
      requireSamples: (n) =>
        /^shrtok_(verification|lockouts|hsm_operation|cache_(hits|misses|entries)|token_writes)/.test(n),
    });
    const logged = proxy.stderr.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(logged.length >= 3, `the proxy logged only:\n${proxy.stderr}`);

    const sources: [string, string][] = [
      ['log (stderr)', proxy.stderr],
      ['stdout', proxy.stdout],
      ['audit log', audit],
      ['/metrics', metricsText],
      ['/readyz', readyText],
    ];
    // The marker, and the service account's password (read from its file) too.
    for (const secret of [MARKER, SERVICE_PASSWORD])
      for (const [name, text] of sources)
        for (const form of secretForms(secret))
          assert.ok(!text.includes(form), `${name} contains a secret as "${form}"`);
  } finally {
    await proxy?.stop();
    await slapd?.destroy();
    pki?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
