// token set and rewrap with the issuance-protection key in a real SoftHSM2 token (decryption in the HSM).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KeyProvider } from '../../src/keys/index.js';
import { createToken, formatToken } from '../../src/token/index.js';
import { ADMIN_DN, ADMIN_PASSWORD } from '../helpers/slapd.js';
import { createSoftHsmToken } from '../helpers/softhsm.js';
import type { SoftHsmToken } from '../helpers/softhsm.js';
import { runCli } from '../schema/run-cli.js';
import { KEY_PEM, certPublicKey, decryptStored, openTestKey, readAttr } from './fixture.js';
import { startProvisionSlapd } from './slapd-fixture.js';
import type { ProvisionSlapd } from './slapd-fixture.js';

const OU = 'ou=Hsm,dc=example,dc=com';
const users = ['h0', 'h1', 'h2'];

describe('provisioning with the key in SoftHSM2', () => {
  let env: ProvisionSlapd;
  let hsm: SoftHsmToken;
  let key: KeyProvider;
  const hsmFlags = (): string[] => [
    '--pkcs11-module',
    hsm.module,
    '--pkcs11-token',
    hsm.tokenLabel,
    '--pkcs11-pin-file',
    hsm.pinFile,
    '--key-label',
    hsm.keyLabel,
  ];
  const read = async (uid: string): Promise<string> =>
    (await readAttr(env.slapd.url, ADMIN_DN, ADMIN_PASSWORD, `uid=${uid},${OU}`, 'shrTok'))[0] ?? '';

  before(async () => {
    hsm = await createSoftHsmToken({ importKeyPem: KEY_PEM, setProcessEnv: false });
    const pub = certPublicKey();
    const entries = users.map(
      (uid) =>
        `dn: uid=${uid},${OU}\nobjectClass: inetOrgPerson\nobjectClass: extensibleObject\nuid: ${uid}\ncn: ${uid}\nsn: H\nshrTok: ${formatToken(createToken(Buffer.from(`pass-${uid}`), pub, 'rsa-pkcs1v15'), { oneline: true })}\n`,
    );
    env = await startProvisionSlapd(
      [],
      '',
      [`dn: ${OU}\nobjectClass: organizationalUnit\nou: Hsm\n`, ...entries].join('\n'),
    );
    key = await openTestKey();
  });
  after(async () => {
    await key?.close();
    await env?.cleanup();
    await hsm?.destroy();
  });

  it('rewrap decrypts in the HSM and moves every token to OAEP', async () => {
    const r = await runCli(['token', 'rewrap', ...env.conn, '--users-base', OU, ...hsmFlags()], {
      env: hsm.env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /3 tokens scanned, 3 rewrapped to rsa-oaep-sha256, 0 already/);
    for (const uid of users)
      assert.equal(await decryptStored(key, await read(uid), 'rsa-oaep-sha256'), `pass-${uid}`);
  });

  it('with the token gone, rewrap fails with one clear line and changes nothing', async () => {
    const before = await Promise.all(users.map(read));
    await hsm.removeToken();
    try {
      const r = await runCli(
        ['token', 'rewrap', ...env.conn, '--users-base', OU, '--to', 'rsa-pkcs1v15', ...hsmFlags()],
        {
          env: hsm.env,
        },
      );
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^shrtok-proxy: /);
      assert.ok(!r.stderr.includes('1234-test'), 'no PIN in the message');
    } finally {
      await hsm.restoreToken();
    }
    assert.deepEqual(await Promise.all(users.map(read)), before);
  });

  it('token set with the HSM key (no --cert) verifies each token in the HSM before writing', async () => {
    const pass = env.tmp.file('h0.pass', 'Hsm.Pass.0');
    const r = await runCli(
      [
        'token',
        'set',
        ...env.conn,
        '--uid',
        'h0',
        '--users-base',
        OU,
        '--passphrase-file',
        pass,
        '--oaep',
        ...hsmFlags(),
      ],
      { env: hsm.env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rsa-oaep-sha256; decrypted with the key before writing, read back/);
    assert.equal(await decryptStored(key, await read('h0'), 'rsa-oaep-sha256'), 'Hsm.Pass.0');
  });
});
