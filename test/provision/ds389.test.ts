// token set and rewrap against a real 389 Directory Server (skipped, with the reason, if it cannot start here).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import type { KeyProvider } from '../../src/keys/index.js';
import { connectDirectory } from '../../src/directory/index.js';
import { swapValues } from '../../src/provision/entries.js';
import { DS_PEOPLE, DS_ROOT_DN, DS_ROOT_PASSWORD, tryStartDs389 } from '../helpers/ds389.js';
import type { Ds389 } from '../helpers/ds389.js';
import { TempDir } from '../schema/shared.js';
import { runCli } from '../schema/run-cli.js';
import {
  CERT_REPO,
  KEY_PEM,
  certRepositoryLdif,
  decryptStored,
  ds389TestSchema,
  openTestKey,
  readAttr,
  runToken,
} from './fixture.js';

describe('token set and rewrap on 389 Directory Server', { timeout: 180_000 }, () => {
  let ds: Ds389 | undefined;
  let skipReason = '';
  let key: KeyProvider;
  const tmp = new TempDir();
  let conn: string[] = [];
  const needDs = (t: TestContext): Ds389 | undefined => {
    if (!ds) t.skip(`389-DS unavailable: ${skipReason}`);
    return ds;
  };
  const read = (dn: string, attr: string): Promise<string[]> =>
    readAttr(ds?.url ?? '', DS_ROOT_DN, DS_ROOT_PASSWORD, dn, attr);

  before(async () => {
    key = await openTestKey();
    const started = await tryStartDs389();
    ds = started.ds;
    skipReason = started.skipReason ?? '';
    if (!ds) {
      console.log(`# 389-DS provisioning tests skipped: ${skipReason}`);
      return;
    }
    const pw = tmp.file('dm.pw', DS_ROOT_PASSWORD);
    conn = ['--url', ds.url, '--bind-dn', DS_ROOT_DN, '--password-file', pw];
    await ds.ldif('ldapmodify', ds389TestSchema());
    const installed = await runCli(['schema', 'install', ...conn]);
    assert.equal(installed.code, 0, installed.stderr);
    await ds.ldif(
      'ldapadd',
      `dn: uid=alice,${DS_PEOPLE}\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\nsn: A\n\n` +
        certRepositoryLdif(CERT_REPO, [{ serial: 4660n, metaInfo: ['requestId:12', 'revShrTok:OLDVALUE'] }]),
    );
  });
  after(async () => {
    await key?.close();
    await ds?.destroy();
    tmp.remove();
  });

  it('sets shrTok for a uid (extensibleObject added) and the token decrypts', async (t) => {
    if (!needDs(t)) return;
    const pass = tmp.file('alice.pass', 'Alice.Secret.1');
    const r = await runToken([
      'set',
      ...conn,
      '--uid',
      'alice',
      '--users-base',
      'dc=example,dc=com',
      '--passphrase-file',
      pass,
      '--key-pem',
      KEY_PEM,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const dn = `uid=alice,${DS_PEOPLE}`;
    assert.ok((await read(dn, 'objectClass')).map((c) => c.toLowerCase()).includes('extensibleobject'));
    const [value] = await read(dn, 'shrTok');
    assert.equal(await decryptStored(key, value ?? '', 'rsa-pkcs1v15'), 'Alice.Secret.1');
  });

  it('sets revShrTok for a serial with delete-old + add-new, keeping other metaInfo', async (t) => {
    if (!needDs(t)) return;
    const pass = tmp.file('rev.pass', 'Revoke.4660');
    const r = await runToken([
      'set',
      ...conn,
      '--serial',
      '4660',
      '--cert-repository-base',
      CERT_REPO,
      '--passphrase-file',
      pass,
      '--key-pem',
      KEY_PEM,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const metaInfo = await read(`cn=4660,${CERT_REPO}`, 'metaInfo');
    assert.ok(metaInfo.includes('requestId:12'));
    const rev = metaInfo.filter((v) => v.startsWith('revShrTok:'));
    assert.equal(rev.length, 1);
    assert.equal(await decryptStored(key, (rev[0] ?? '').slice(10), 'rsa-pkcs1v15'), 'Revoke.4660');
  });

  it('a stale old value makes the one-modify swap fail and changes nothing (no lost concurrent write)', async (t) => {
    const server = needDs(t);
    if (!server) return;
    const dn = `cn=4660,${CERT_REPO}`;
    const before = await read(dn, 'metaInfo');
    const client = await connectDirectory({
      url: server.url,
      bindDn: DS_ROOT_DN,
      password: DS_ROOT_PASSWORD,
    });
    try {
      await assert.rejects(
        swapValues(client, dn, 'metaInfo', before, ['revShrTok:SOMEONE-ELSES'], 'revShrTok:NEW'),
        (e: Error) => e.name === 'NoSuchAttributeError',
      );
    } finally {
      await client.unbind();
    }
    assert.deepEqual((await read(dn, 'metaInfo')).sort(), [...before].sort());
  });

  it('rewraps both tokens to OAEP', async (t) => {
    if (!needDs(t)) return;
    const dry = await runToken([
      'rewrap',
      ...conn,
      '--users-base',
      DS_PEOPLE,
      '--cert-repository-base',
      CERT_REPO,
      '--key-pem',
      KEY_PEM,
      '--dry-run',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: 2 tokens scanned, 2 would rewrap/);
    const r = await runToken([
      'rewrap',
      ...conn,
      '--users-base',
      DS_PEOPLE,
      '--cert-repository-base',
      CERT_REPO,
      '--key-pem',
      KEY_PEM,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 tokens scanned, 2 rewrapped to rsa-oaep-sha256, 0 already/);
    const [value] = await read(`uid=alice,${DS_PEOPLE}`, 'shrTok');
    assert.equal(await decryptStored(key, value ?? '', 'rsa-oaep-sha256'), 'Alice.Secret.1');
    const metaInfo = await read(`cn=4660,${CERT_REPO}`, 'metaInfo');
    assert.ok(metaInfo.includes('requestId:12'));
    const rev = metaInfo.filter((v) => v.startsWith('revShrTok:'));
    assert.equal(rev.length, 1);
    assert.equal(await decryptStored(key, (rev[0] ?? '').slice(10), 'rsa-oaep-sha256'), 'Revoke.4660');
  });
});
