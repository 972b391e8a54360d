// /readyz and the shrtok_hsm_* metrics with the key in a real SoftHSM2 token that disappears and comes back
// under the running proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { freePort, run, waitFor } from '../helpers/run.js';
import { PEOPLE, SERVICE_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { createSoftHsmToken } from '../helpers/softhsm.js';
import type { SoftHsmToken } from '../helpers/softhsm.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { KEY_PEM, passphraseOf, startTokenSlapd, verificationArgs } from '../verify/fixtures.js';
import { find, parseExposition } from './exposition.js';

interface Ready {
  status: number;
  missing: string[];
  details: Record<string, string | undefined>;
}

test('readyz needs the HSM when one is configured; hsm metrics follow the token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-hsm-ready-'));
  let slapd: Slapd | undefined;
  let pki: TestPki | undefined;
  let hsm: SoftHsmToken | undefined;
  let proxy: ProxyProcess | undefined;
  try {
    writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
    [slapd, pki, hsm] = await Promise.all([
      startTokenSlapd(),
      makeTestPki(),
      createSoftHsmToken({ importKeyPem: KEY_PEM, setProcessEnv: false }),
    ]);
    const metricsPort = await freePort();
    const base = `http://127.0.0.1:${metricsPort}`;
    proxy = await startProxy({
      backends: [slapd.url],
      tlsCertPath: pki.certPath,
      tlsKeyPath: pki.keyPath,
      env: hsm.env,
      extraArgs: [
        ...verificationArgs({ passwordFile: join(dir, 'svc.pw'), hsm, verifierDn: `uid=user1,${PEOPLE}` }),
        ...['--metrics-listen', `127.0.0.1:${metricsPort}`, '--log-level', 'warn'],
      ],
    });
    const ready = async (): Promise<Ready> => {
      const res = await fetch(`${base}/readyz`);
      const body = (await res.json()) as { checks: { name: string; ok: boolean; detail?: string }[] };
      return {
        status: res.status,
        missing: body.checks.filter((c) => !c.ok).map((c) => c.name),
        details: Object.fromEntries(body.checks.map((c) => [c.name, c.detail])),
      };
    };
    const scrape = async () => parseExposition(await (await fetch(`${base}/metrics`)).text());
    const whoami = async (uid: string, password: Buffer): Promise<number | null> => {
      const pwFile = join(dir, 'bind.pw');
      writeFileSync(pwFile, password);
      const dn = `uid=${uid},cn=shared-token`;
      const r = await run('ldapwhoami', ['-x', '-ZZ', '-H', proxy!.url(), '-D', dn, '-y', pwFile], {
        env: { ...process.env, LDAPTLS_CACERT: pki!.caCertPath },
      });
      return r.code;
    };

    const up = await ready();
    assert.equal(up.status, 200, JSON.stringify(up));
    assert.deepEqual(Object.keys(up.details).sort(), ['backend', 'hsm']);
    assert.equal(await whoami('alice', passphraseOf('t01')), 0);
    let exp = await scrape();
    assert.equal(find(exp, 'shrtok_hsm_session_logged_in')[0]?.value, 1);
    assert.equal(find(exp, 'shrtok_hsm_operations_total', { op: 'decrypt' })[0]?.value, 1);
    assert.equal(find(exp, 'shrtok_hsm_errors_total', { op: 'decrypt' })[0]?.value, 0);
    assert.equal(find(exp, 'shrtok_hsm_operation_duration_seconds_count', { op: 'decrypt' })[0]?.value, 1);

    await hsm.removeToken();
    try {
      // carol's token was never decrypted: the HSM is needed and cannot answer.
      assert.equal(await whoami('carol', passphraseOf('t06')), 52);
      const down = await ready();
      assert.equal(down.status, 503);
      assert.deepEqual(down.missing, ['hsm']);
      assert.match(down.details.hsm ?? '', /not logged in|timed out/);
      exp = await scrape();
      assert.equal(find(exp, 'shrtok_hsm_session_logged_in')[0]?.value, 0);
      assert.ok((find(exp, 'shrtok_hsm_errors_total', { op: 'decrypt' })[0]?.value ?? 0) >= 1);
      assert.ok(
        find(exp, 'shrtok_verifications_total', { kind: 'bind', result: 'unavailable' }).some(
          (s) => s.value >= 1,
        ),
      );
    } finally {
      await hsm.restoreToken();
    }
    await waitFor(async () => (await ready()).status === 200, 20_000, 'readiness after the token is back');
    assert.equal(find(await scrape(), 'shrtok_hsm_session_logged_in')[0]?.value, 1);
    // The token PIN (read from its file) never reaches the log or /metrics.
    const metricsText = await (await fetch(`${base}/metrics`)).text();
    for (const text of [proxy.stderr, proxy.stdout, metricsText]) assert.ok(!text.includes(hsm.pin));
  } finally {
    await proxy?.stop();
    await slapd?.destroy();
    await hsm?.destroy();
    pki?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
