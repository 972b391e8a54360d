// TLS on both sides of the proxy: StartTLS and ldaps:// listeners with a throwaway CA, backend StartTLS
// verified against --backend-ca, and a backend certificate that does not verify as a hard error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DN, CONFIG_PASSWORD, PEOPLE } from '../helpers/slapd.js';
import { freePort, run, sleep, waitFor } from '../helpers/run.js';
import { PROXY_BIN, startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { makeTestPki } from '../helpers/tls.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { RawClient, bindRequest, searchRequest } from './raw-ldap.js';
import type { TestPki } from '../helpers/tls.js';
import { ldapTool, runPython, startStack } from './fixture.js';
import type { Stack } from './fixture.js';

let pki: TestPki;
let otherPki: TestPki;
let stack: Stack;
const extraProxies: ProxyProcess[] = [];

before(async () => {
  pki = await makeTestPki();
  otherPki = await makeTestPki();
  stack = await startStack(
    {},
    { listen: ['ldap', 'ldaps'], tlsCertPath: pki.certPath, tlsKeyPath: pki.keyPath },
  );
  // slapd itself offers StartTLS with the same test CA, for the backend-TLS tests
  const r = await ldapTool('ldapmodify', stack.slapd.url, ['-x', '-D', CONFIG_DN, '-w', CONFIG_PASSWORD], {
    input: `dn: cn=config
changetype: modify
replace: olcTLSCACertificateFile
olcTLSCACertificateFile: ${pki.caCertPath}
-
replace: olcTLSCertificateFile
olcTLSCertificateFile: ${pki.certPath}
-
replace: olcTLSCertificateKeyFile
olcTLSCertificateKeyFile: ${pki.keyPath}
`,
  });
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  for (const p of extraProxies) await p.stop();
  await stack?.stop();
  pki?.destroy();
  otherPki?.destroy();
});

const trustTestCa = () => ({ LDAPTLS_CACERT: pki.caCertPath, LDAPTLS_REQCERT: 'demand' });
const SEARCH = ['-x', '-LLL', '-b', PEOPLE, '(uid=user1*)', 'cn', 'mail'];

async function directPlain(): Promise<Buffer> {
  const r = await ldapTool('ldapsearch', stack.slapd.url, SEARCH);
  assert.equal(r.code, 0, r.stderr);
  return r.stdoutBytes;
}

test('StartTLS (-ZZ) on the ldap:// listener gives the same entries as slapd', async () => {
  const r = await ldapTool('ldapsearch', stack.proxy.url('ldap'), ['-ZZ', ...SEARCH], { env: trustTestCa() });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdoutBytes.equals(await directPlain()));
});

test('StartTLS with a bound user and ldapwhoami works', async () => {
  const r = await ldapTool(
    'ldapwhoami',
    stack.proxy.url('ldap'),
    ['-ZZ', '-x', '-D', `uid=user5,${PEOPLE}`, '-w', 'pass5'],
    { env: trustTestCa() },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `dn:uid=user5,${PEOPLE}`);
});

test('StartTLS fails when the client does not trust the proxy certificate', async () => {
  const r = await ldapTool('ldapsearch', stack.proxy.url('ldap'), ['-ZZ', ...SEARCH], {
    env: { LDAPTLS_CACERT: otherPki.caCertPath, LDAPTLS_REQCERT: 'demand' },
  });
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
});

test('ldaps:// listener gives the same entries as slapd', async () => {
  const r = await ldapTool('ldapsearch', stack.proxy.url('ldaps'), SEARCH, { env: trustTestCa() });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdoutBytes.equals(await directPlain()));
});

test('ldaps:// listener serves the binary jpegPhoto byte-identically', async () => {
  const args = ['-x', '-LLL', '-b', `uid=photo,${PEOPLE}`, '-s', 'base', 'jpegPhoto'];
  const viaTls = await ldapTool('ldapsearch', stack.proxy.url('ldaps'), args, { env: trustTestCa() });
  const direct = await ldapTool('ldapsearch', stack.slapd.url, args);
  assert.equal(viaTls.code, 0, viaTls.stderr);
  assert.ok(viaTls.stdoutBytes.equals(direct.stdoutBytes));
});

test('ldaps:// listener refuses a TLS 1.1 handshake', async () => {
  const r = await run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${stack.proxy.port('ldaps')}`,
      '-tls1_1',
      '-cipher',
      'DEFAULT@SECLEVEL=0',
    ],
    { timeoutMs: 15_000 },
  );
  assert.notEqual(r.code, 0);
  // the handshake failed: no cipher was agreed and no certificate was sent
  assert.match(r.stdout, /Cipher is \(NONE\)/);
});

test('ldaps:// listener negotiates TLS 1.2 or later with the test certificate', async () => {
  const r = await run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${stack.proxy.port('ldaps')}`,
      '-CAfile',
      pki.caCertPath,
      '-verify_return_error',
    ],
    { timeoutMs: 15_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Verify return code: 0 \(ok\)/);
  assert.match(r.stdout, /TLSv1\.[23]/);
});

test('python-ldap StartTLS then bind through the proxy works', async () => {
  const src = `
import json, sys, ldap
c = ldap.initialize(sys.argv[1])
c.set_option(ldap.OPT_X_TLS_CACERTFILE, sys.argv[2])
c.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
c.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
c.start_tls_s()
c.simple_bind_s('uid=user9,${PEOPLE}', 'pass9')
print(json.dumps(c.whoami_s()))
`;
  const r = await runPython(src, [stack.proxy.url('ldap'), pki.caCertPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json, `dn:uid=user9,${PEOPLE}`);
});

test('backend StartTLS verified against --backend-ca serves searches', async () => {
  const p = await startProxy({
    backends: [stack.slapd.url],
    backendStartTls: true,
    backendCaPath: pki.caCertPath,
  });
  extraProxies.push(p);
  const r = await ldapTool('ldapsearch', p.url(), SEARCH);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdoutBytes.equals(await directPlain()));
});

test('backend certificate that does not verify is a hard error, not a plain-text fallback', async () => {
  const p = await startProxy({
    backends: [stack.slapd.url],
    backendStartTls: true,
    backendCaPath: otherPki.caCertPath,
  });
  extraProxies.push(p);
  const r = await ldapTool('ldapsearch', p.url(), SEARCH);
  assert.equal(r.code, 52, `expected unavailable (52), got ${r.code}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.ok(p.alive);
});

test('requests that arrive in separate reads while the backend connection is set up are each forwarded intact', async () => {
  // The backend's StartTLS answer is delayed, so both requests wait for the connection; the first must
  // not be a view of the read buffer that the second read overwrote.
  const slow = await FaultProxy.start({ port: stack.slapd.port });
  slow.set({ latencyMs: 300 }, 'down');
  const p = await startProxy({ backends: [slow.url], backendStartTls: true, backendCaPath: pki.caCertPath });
  extraProxies.push(p);
  const client = await RawClient.open(p.port());
  try {
    client.write(bindRequest(1, 'uid=user3,' + PEOPLE, 'pass3'));
    await sleep(100);
    client.write(searchRequest(2, PEOPLE, 2, ['uid', 'user4']));
    const bind = await client.next(10_000);
    assert.deepEqual([bind?.id, bind?.opTag, bind?.resultCode], [1, 0x61, 0]);
    const entry = await client.next(10_000);
    assert.deepEqual([entry?.id, entry?.opTag], [2, 0x64]);
    assert.ok(entry?.raw.includes(Buffer.from(`uid=user4,${PEOPLE}`)));
    const done = await client.next(10_000);
    assert.deepEqual([done?.id, done?.opTag, done?.resultCode], [2, 0x65, 0]);
  } finally {
    client.socket.destroy();
    await slow.stop();
  }
});

test('StartTLS on a proxy without a certificate is refused with a result and the session stays usable', async () => {
  const p = await startProxy({ backends: [stack.slapd.url] });
  extraProxies.push(p);
  const strict = await ldapTool('ldapsearch', p.url(), ['-ZZ', ...SEARCH], { env: trustTestCa() });
  assert.notEqual(strict.code, 0);
  assert.match(strict.stderr, /ldap_start_tls: .*\((2|52)\)/);
  // -Z: StartTLS may fail, then the same connection carries on in the clear
  const lax = await ldapTool('ldapsearch', p.url(), ['-Z', ...SEARCH], { env: trustTestCa() });
  assert.equal(lax.code, 0, lax.stderr);
  assert.ok(lax.stdoutBytes.equals(await directPlain()));
});

test('serve refuses to start when the TLS certificate file is missing', async () => {
  const missing = `${otherPki.dir}/missing.pem`;
  const r = await run(
    process.execPath,
    [
      PROXY_BIN,
      'serve',
      '--listen',
      `ldaps://127.0.0.1:${await freePort()}`,
      '--backend',
      stack.slapd.url,
      '--tls-cert',
      missing,
      '--tls-key',
      missing,
    ],
    { timeoutMs: 20_000 },
  );
  assert.ok(r.code !== null && r.code !== 0, `exit ${r.code} signal ${r.signal}`);
  assert.match(r.stderr, /missing\.pem|tls/i);
});

test('SIGHUP reloads the listener certificate without dropping connections', async () => {
  const fresh = await makeTestPki();
  try {
    copyFileSync(pki.certPath, `${fresh.dir}/live.pem`);
    copyFileSync(pki.keyPath, `${fresh.dir}/live.key`);
    const proxy = await startProxy({
      backends: [stack.slapd.url],
      listen: ['ldaps'],
      tlsCertPath: `${fresh.dir}/live.pem`,
      tlsKeyPath: `${fresh.dir}/live.key`,
    });
    extraProxies.push(proxy);
    const flag = `${fresh.dir}/swap`;
    const py = runPython(SIGHUP_CLIENT, [proxy.url('ldaps'), pki.caCertPath, fresh.caCertPath, flag], 40_000);
    await waitFor(() => existsSync(flag), 20_000, 'python client ready');
    copyFileSync(fresh.certPath, `${fresh.dir}/live.pem`);
    copyFileSync(fresh.keyPath, `${fresh.dir}/live.key`);
    proxy.signal('SIGHUP');
    writeFileSync(`${flag}.done`, '');
    const r = await py;
    assert.equal(r.code, 0, r.stderr);
    // the connection opened before the reload keeps working; a new one verifies with the new CA only
    assert.deepEqual(r.json, {
      before: `dn:uid=user2,${PEOPLE}`,
      old_after: `dn:uid=user2,${PEOPLE}`,
      new: '',
    });
    assert.ok(proxy.alive, proxy.stderr);
  } finally {
    fresh.destroy();
  }
});

const SIGHUP_CLIENT = `
import json, sys, os, time, ldap
url, old_ca, new_ca, flag = sys.argv[1:5]
def tls_conn(ca):
    c = ldap.initialize(url)
    c.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    c.set_option(ldap.OPT_X_TLS_CACERTFILE, ca)
    c.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    c.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    return c
old = tls_conn(old_ca)
old.simple_bind_s('uid=user2,${PEOPLE}', 'pass2')
before = old.whoami_s()
open(flag, 'w').close()
deadline = time.time() + 20
while not os.path.exists(flag + '.done') and time.time() < deadline:
    time.sleep(0.05)
new = None
for _ in range(100):
    try:
        n = tls_conn(new_ca)
        n.simple_bind_s()
        new = n.whoami_s()
        break
    except ldap.LDAPError:
        time.sleep(0.1)
print(json.dumps({'before': before, 'old_after': old.whoami_s(), 'new': new}))
`;

test('ldaps:// backends are verified against --backend-ca: trusted CA serves, another CA gets 52', async () => {
  // the same slapd (TLS settings are already in its cn=config), restarted with an extra ldaps:// listener
  const ldapsPort = await freePort();
  await stack.slapd.stop();
  const slapd = spawn(
    '/usr/sbin/slapd',
    [
      '-F',
      join(stack.slapd.dir, 'slapd.d'),
      '-h',
      `${stack.slapd.url}/ ldaps://127.0.0.1:${ldapsPort}/`,
      '-d',
      '0',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => slapd.once('exit', () => resolve()));
  try {
    await waitFor(
      async () => (await ldapTool('ldapwhoami', stack.slapd.url, ['-x'])).code === 0,
      15_000,
      'slapd',
    );
    const good = await startProxy({
      backends: [`ldaps://127.0.0.1:${ldapsPort}`],
      backendCaPath: pki.caCertPath,
    });
    extraProxies.push(good);
    const r = await ldapTool('ldapsearch', good.url(), SEARCH);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdoutBytes.equals(await directPlain()));
    const bad = await startProxy({
      backends: [`ldaps://127.0.0.1:${ldapsPort}`],
      backendCaPath: otherPki.caCertPath,
    });
    extraProxies.push(bad);
    const refused = await ldapTool('ldapsearch', bad.url(), SEARCH);
    assert.equal(refused.code, 52, refused.stdout + refused.stderr);
    assert.equal(refused.stdout, '');
  } finally {
    slapd.kill('SIGTERM');
    await exited;
    await stack.slapd.start();
  }
});

test('the proxies are still running after the TLS tests', () => {
  assert.ok(stack.proxy.alive, stack.proxy.stderr);
  for (const p of extraProxies) assert.ok(p.alive, p.stderr);
});
