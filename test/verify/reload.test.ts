// SIGHUP with --config: lockout and cache limits and the backend list change without a restart; settings
// that need a restart are named in the log and keep their running values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KEY_PEM, passphraseOf, startTokenSlapd } from './fixtures.js';
import { SERVICE_DN, SERVICE_PASSWORD, SUFFIX } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { freePort, run, waitFor } from '../helpers/run.js';

async function bind(proxy: ProxyProcess, uid: string, pw: Buffer): Promise<number | null> {
  const r = await run('ldapwhoami', [
    '-x',
    '-H',
    proxy.url(),
    '-D',
    `uid=${uid},cn=shared-token`,
    '-w',
    pw.toString(),
  ]);
  return r.code;
}

test('SIGHUP applies new lockout limits and backends from the config file and names restart-only keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-reload-'));
  const slapd = await startTokenSlapd();
  let proxy: ProxyProcess | undefined;
  try {
    writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
    const base = {
      listen: [`ldap://127.0.0.1:${await freePort()}`],
      backend: [slapd.url],
      users_base: SUFFIX,
      service_bind_dn: SERVICE_DN,
      service_password_file: join(dir, 'svc.pw'),
      key_pem: KEY_PEM,
      allow_plaintext_virtual_bind: true,
      lockout_max_failures: 3,
      log_level: 'info',
    };
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(base));
    // The listener comes from the file, so no --listen flag is added here.
    proxy = await startProxy({ backends: [], configFile, listen: [] });
    await waitFor(() => proxy!.stdout.includes('listening '), 20_000, 'the proxy to listen');
    if (proxy.listening.length === 0) proxy.listening.push(/listening (\S+)/.exec(proxy.stdout)![1]!);

    const wrong = Buffer.from('not the passphrase');
    // Under the first limit (3), two failures do not lock.
    assert.equal(await bind(proxy, 'bob', wrong), 49);
    assert.equal(await bind(proxy, 'bob', wrong), 49);
    assert.equal(await bind(proxy, 'bob', passphraseOf('t05')), 0);

    writeFileSync(
      configFile,
      stringify({
        ...base,
        lockout_max_failures: 2,
        backend: [slapd.url, 'ldap://127.0.0.1:9'],
        cache_mode: 'ttl',
      }),
    );
    proxy.signal('SIGHUP');
    await waitFor(() => proxy!.logs().some((l) => l.msg === 'configuration reloaded'), 10_000, 'the reload');
    const reloaded = proxy.logs().find((l) => l.msg === 'configuration reloaded') as { changed: string[] };
    assert.ok(reloaded.changed.includes('lockout_max_failures'), JSON.stringify(reloaded));
    assert.ok(reloaded.changed.includes('backend'), JSON.stringify(reloaded));
    const restart = proxy
      .logs()
      .find((l) => l.msg === 'these settings need a restart; keeping the running values') as
      { keys: string[] } | undefined;
    assert.deepEqual(restart?.keys, ['cache_mode']);

    // Now two failures lock alice: even her right passphrase is refused.
    assert.equal(await bind(proxy, 'alice', wrong), 49);
    assert.equal(await bind(proxy, 'alice', wrong), 49);
    assert.equal(await bind(proxy, 'alice', passphraseOf('t01')), 49);
    // The proxy still forwards: the first backend stays first.
    const search = await run('ldapsearch', [
      '-x',
      '-LLL',
      '-H',
      proxy.url(),
      '-b',
      SUFFIX,
      '-s',
      'base',
      'dn',
    ]);
    assert.equal(search.code, 0, search.stderr);
  } finally {
    await proxy?.stop();
    await slapd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
