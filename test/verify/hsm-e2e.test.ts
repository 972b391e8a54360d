// The proxy with the vectors' key imported into a real SoftHSM2 token: verification through PKCS#11, and
// the token disappearing under the running proxy gives unavailable (52), never invalidCredentials.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeVerifyRequest } from '../../src/verify/index.js';
import { PEOPLE, SERVICE_PASSWORD } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { createSoftHsmToken } from '../helpers/softhsm.js';
import type { SoftHsmToken } from '../helpers/softhsm.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { run, waitFor } from '../helpers/run.js';
import { KEY_PEM, passphraseOf, startTokenSlapd, verificationArgs } from './fixtures.js';

const HERE = new URL('.', import.meta.url).pathname;
let slapd: Slapd;
let pki: TestPki;
let hsm: SoftHsmToken;
let proxy: ProxyProcess;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrtok-hsm-e2e-'));
  writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
  [slapd, pki, hsm] = await Promise.all([
    startTokenSlapd(),
    makeTestPki(),
    createSoftHsmToken({ importKeyPem: KEY_PEM, setProcessEnv: false }),
  ]);
  proxy = await startProxy({
    backends: [slapd.url],
    tlsCertPath: pki.certPath,
    tlsKeyPath: pki.keyPath,
    env: hsm.env,
    extraArgs: [
      ...verificationArgs({ passwordFile: join(dir, 'svc.pw'), hsm, verifierDn: `uid=user1,${PEOPLE}` }),
      '--log-level',
      'warn',
    ],
  });
});
after(async () => {
  await proxy?.stop();
  await slapd?.destroy();
  await hsm?.destroy();
  pki?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function whoami(uid: string, password: Buffer): Promise<{ code: number; out: string; err?: string }> {
  const pwFile = join(dir, 'bind.pw');
  writeFileSync(pwFile, password);
  const r = await run(
    'ldapwhoami',
    ['-x', '-ZZ', '-H', proxy.listening[0]!, '-D', `uid=${uid},cn=shared-token`, '-y', pwFile],
    {
      env: { ...process.env, LDAPTLS_CACERT: pki.caCertPath },
    },
  );
  return r.code === 0
    ? { code: 0, out: r.stdout.trim() }
    : { code: r.code ?? -1, out: r.stdout.trim(), err: r.stderr };
}

test('virtual binds verified through SoftHSM; a removed token gives 52; a cached token needs no HSM', async () => {
  const first = await whoami('alice', passphraseOf('t01'));
  assert.deepEqual(first, { code: 0, out: `dn:uid=alice,${PEOPLE}` }, first.err);
  assert.equal((await whoami('bob', Buffer.from('wrong'))).code, 49);
  await hsm.removeToken();
  try {
    // carol's token was never decrypted: the HSM is needed and cannot answer.
    assert.equal((await whoami('carol', passphraseOf('t06'))).code, 52);
    const py = await run('/usr/bin/python3', [
      join(HERE, 'extop-client.py'),
      proxy.listening[0]!,
      pki.caCertPath,
      `uid=user1,${PEOPLE}`,
      'pass1',
      encodeVerifyRequest({ subject: { identification: 'carol' }, passphrase: passphraseOf('t06') }).toString(
        'hex',
      ),
    ]);
    assert.equal((JSON.parse(py.stdout) as { code: number }).code, 52, py.stderr);
    // alice's token bytes are unchanged since their last decryption (strict mode): no HSM operation needed.
    assert.equal((await whoami('alice', passphraseOf('t01'))).code, 0);
  } finally {
    await hsm.restoreToken();
  }
  await waitFor(async () => (await whoami('carol', passphraseOf('t06'))).code === 0, 20_000, 'HSM recovery');
  // Outages did not count as failures: carol is not locked.
  assert.equal((await whoami('carol', passphraseOf('t06'))).code, 0);
});
