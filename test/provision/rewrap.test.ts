// token rewrap of a mixed population (PKCS#1 v1.5 and OAEP, user entries and a cert record) on a real slapd.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { KeyProvider } from '../../src/keys/index.js';
import { createToken, formatToken } from '../../src/token/index.js';
import { ADMIN_DN, ADMIN_PASSWORD } from '../helpers/slapd.js';
import {
  CERT_REPO,
  KEY_PEM,
  certPublicKey,
  decryptStored,
  openTestKey,
  readAttr,
  runToken,
} from './fixture.js';
import { startProvisionSlapd } from './slapd-fixture.js';
import { runCliOnTerminal } from '../schema/run-cli.js';
import type { ProvisionSlapd } from './slapd-fixture.js';

const OU = 'ou=Rewrap,dc=example,dc=com';
const pub = certPublicKey();
const token = (pass: string, oaep: boolean, key = pub): string =>
  formatToken(createToken(Buffer.from(pass), key, oaep ? 'rsa-oaep-sha256' : 'rsa-pkcs1v15'), {
    oneline: true,
  });

// 6 PKCS#1 v1.5 users (one stored in Dogtag's 76-column CRLF layout), 4 OAEP users, 1 token for another key.
const users = Array.from({ length: 10 }, (_, i) => ({ uid: `rw${i}`, pass: `pass-rw-${i}`, oaep: i >= 6 }));
const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;

function ldif(): string {
  const out = [`dn: ${OU}\nobjectClass: organizationalUnit\nou: Rewrap\n`];
  for (const u of users) {
    const value =
      u.uid === 'rw0'
        ? formatToken(createToken(Buffer.from(u.pass), pub, 'rsa-pkcs1v15'))
        : token(u.pass, u.oaep);
    out.push(
      `dn: uid=${u.uid},${OU}\nobjectClass: inetOrgPerson\nobjectClass: extensibleObject\nuid: ${u.uid}\ncn: ${u.uid}\nsn: R\nshrTok:: ${Buffer.from(value).toString('base64')}\n`,
    );
  }
  out.push(
    `dn: uid=foreign,${OU}\nobjectClass: inetOrgPerson\nobjectClass: extensibleObject\nuid: foreign\ncn: f\nsn: F\nshrTok: ${token('other', false, foreignKey)}\n`,
  );
  return out.join('\n');
}

describe('token rewrap to OAEP', () => {
  let env: ProvisionSlapd;
  let key: KeyProvider;
  const read = (dn: string, attr: string): Promise<string[]> =>
    readAttr(env.slapd.url, ADMIN_DN, ADMIN_PASSWORD, dn, attr);
  const snapshot = async (): Promise<string[]> => [
    ...(await Promise.all(
      [...users.map((u) => u.uid), 'foreign'].map(
        async (uid) => (await read(`uid=${uid},${OU}`, 'shrTok'))[0] ?? '',
      ),
    )),
    ...(await read(`cn=9001,${CERT_REPO}`, 'metaInfo')).sort(),
  ];
  const args = (): string[] => [
    'rewrap',
    ...env.conn,
    '--users-base',
    OU,
    '--cert-repository-base',
    CERT_REPO,
    '--to',
    'rsa-oaep-sha256',
    '--key-pem',
    KEY_PEM,
  ];

  before(async () => {
    env = await startProvisionSlapd(
      [
        { serial: 9001n, metaInfo: ['requestId:5', `revShrTok:${token('revoke-9001', false)}`] },
        { serial: 9002n, metaInfo: ['requestId:6'] },
      ],
      '',
      ldif(),
    );
    key = await openTestKey();
  });
  after(async () => {
    await key?.close();
    await env?.cleanup();
  });

  it('--dry-run counts what would change and writes nothing', async () => {
    const before = await snapshot();
    const r = await runToken([...args(), '--dry-run']);
    assert.equal(r.code, 1, 'the foreign token is a failure to report');
    assert.match(
      r.stdout,
      /^dry run: 12 tokens scanned, 7 would rewrap to rsa-oaep-sha256, 4 already rsa-oaep-sha256, 1 failed$/m,
    );
    assert.match(
      r.stderr,
      /problem: uid=foreign,ou=Rewrap,dc=example,dc=com \(shrTok\): token does not decrypt with this key \((unwrap|decrypt)\); left unchanged/,
    );
    assert.deepEqual(await snapshot(), before);
  });

  it('draws a progress bar when run on a terminal', async () => {
    const r = await runCliOnTerminal(['token', ...args(), '--dry-run']);
    assert.match(r.stdout, /\rrewrap \(dry run\) \[#{30}\] 12\/12 100% failed 1/);
    assert.match(r.stdout, /dry run: 12 tokens scanned/);
  });

  it('rewraps the PKCS#1 v1.5 tokens; each decrypts with OAEP to the same passphrase; others untouched', async () => {
    const foreignBefore = await read(`uid=foreign,${OU}`, 'shrTok');
    const oaepBefore = await read(`uid=rw7,${OU}`, 'shrTok');
    const r = await runToken(args());
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^12 tokens scanned, 7 rewrapped to rsa-oaep-sha256, 4 already rsa-oaep-sha256, 1 failed$/m,
    );
    for (const u of users) {
      const [value] = await read(`uid=${u.uid},${OU}`, 'shrTok');
      assert.ok(value && !/\s/.test(value), `${u.uid} is one line`);
      assert.equal(await decryptStored(key, value, 'rsa-oaep-sha256'), u.pass, u.uid);
      await assert.rejects(decryptStored(key, value, 'rsa-pkcs1v15'), `${u.uid} no longer PKCS#1 v1.5`);
    }
    assert.deepEqual(await read(`uid=rw7,${OU}`, 'shrTok'), oaepBefore, 'OAEP tokens are not rewritten');
    assert.deepEqual(
      await read(`uid=foreign,${OU}`, 'shrTok'),
      foreignBefore,
      'undecryptable tokens are left alone',
    );
    const metaInfo = await read(`cn=9001,${CERT_REPO}`, 'metaInfo');
    assert.ok(metaInfo.includes('requestId:5'));
    const rev = metaInfo.filter((v) => v.startsWith('revShrTok:'));
    assert.equal(rev.length, 1);
    assert.equal(await decryptStored(key, (rev[0] ?? '').slice(10), 'rsa-oaep-sha256'), 'revoke-9001');
    assert.deepEqual(await read(`cn=9002,${CERT_REPO}`, 'metaInfo'), ['requestId:6']);
  });

  it('a second run finds nothing left to rewrap', async () => {
    const r = await runToken(args());
    assert.match(
      r.stdout,
      /12 tokens scanned, 0 rewrapped to rsa-oaep-sha256, 11 already rsa-oaep-sha256, 1 failed/,
    );
  });

  it('refuses to run without a key (usage error, exit 2)', async () => {
    const r = await runToken(['rewrap', ...env.conn, '--users-base', OU]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /a key is required/);
  });
});
