// serve --install-schema: the proxy installs shrTok with its service account before it listens, idempotently,
// and refuses to start over a conflicting definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_DN, CONFIG_PASSWORD, startSlapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import { PROXY_BIN, proxyArgs } from '../helpers/proxy.js';
import { run } from '../helpers/run.js';
import { runCli } from './run-cli.js';
import { CONFLICTING_SHRTOK, TempDir, ldapTool } from './shared.js';

test('serve --install-schema installs shrTok once, then starts as a no-op, and refuses a conflict', async () => {
  const tmp = new TempDir();
  const slapd = await startSlapd({ syncprov: false });
  try {
    const pw = tmp.file('config.pw', CONFIG_PASSWORD);
    // cn=config is the account allowed to write the schema on this slapd; it doubles as the service account.
    const flags = ['--install-schema', '--service-bind-dn', CONFIG_DN, '--service-password-file', pw, '--log-level', 'info'];
    const check = () => runCli(['schema', 'check', '--url', slapd.url, '--bind-dn', CONFIG_DN, '--password-file', pw]);
    assert.equal((await check()).code, 3, 'missing before the proxy starts');

    for (const expected of ['added', 'unchanged']) {
      const proxy = await startProxy({ backends: [slapd.url], extraArgs: flags });
      const line = proxy.logs().find((l) => l.msg === 'schema: shrTok is installed') as { outcome: string } | undefined;
      assert.equal(line?.outcome, expected, proxy.stderr);
      await proxy.stop();
    }
    assert.equal((await check()).code, 0);

    const other = await startSlapd({ syncprov: false });
    try {
      const add = await ldapTool('ldapadd', other.url, CONFIG_DN, CONFIG_PASSWORD, [],
        `dn: cn=other,cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: other\nolcAttributeTypes: ${CONFLICTING_SHRTOK}\n`);
      assert.equal(add.code, 0, add.stderr);
      const refused = await run(process.execPath, [PROXY_BIN, ...(await proxyArgs({ backends: [other.url], extraArgs: flags }))], {
        timeoutMs: 30_000,
      });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /conflicting shrTok definition exists; left alone/);
      assert.doesNotMatch(refused.stdout, /^listening /m);
    } finally {
      await other.destroy();
    }
  } finally {
    await slapd.destroy();
    tmp.remove();
  }
});
