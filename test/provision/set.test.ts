// token set (single entry) against a real slapd: uid and serial targets, --generate, and refusals.
import assert from 'node:assert/strict';
import { statSync, readFileSync, existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { KeyProvider } from '../../src/keys/index.js';
import { runCommand } from '../../src/cli/command.js';
import { run } from '../helpers/run.js';
import { makeTestPki } from '../helpers/tls.js';
import { command as tokenCommand } from '../../src/cli/token.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, startSlapd } from '../helpers/slapd.js';
import { CERT_PEM, CERT_REPO, KEY_PEM, decryptStored, openTestKey, readAttr, runToken } from './fixture.js';
import { startProvisionSlapd } from './slapd-fixture.js';
import type { ProvisionSlapd } from './slapd-fixture.js';

const DUPLICATES = `dn: ou=Other,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Other\n\ndn: uid=twin,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: twin\ncn: Twin A\nsn: A\n\ndn: uid=twin,ou=Other,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: twin\ncn: Twin B\nsn: B\n`;

describe('token set against OpenLDAP', () => {
  let env: ProvisionSlapd;
  let key: KeyProvider;
  const attr = (dn: string, name: string): Promise<string[]> =>
    readAttr(env.slapd.url, ADMIN_DN, ADMIN_PASSWORD, dn, name);

  before(async () => {
    env = await startProvisionSlapd(
      [
        {
          serial: 4660n,
          metaInfo: ['requestId:12', 'revShrTok:OLDVALUE', 'profileId:caFullCMCSharedTokenCert'],
        },
        { serial: 77n, metaInfo: ['requestId:13'] },
      ],
      DUPLICATES,
    );
    key = await openTestKey();
  });
  after(async () => {
    await key?.close();
    await env?.cleanup();
  });

  it('sets shrTok for a uid from --cert, adds extensibleObject, and the token decrypts to the passphrase', async () => {
    const pass = env.tmp.file('user2.pass', 'Secret.123\n');
    const r = await runToken([
      'set',
      ...env.conn,
      '--uid',
      'user2',
      '--users-base',
      'dc=example,dc=com',
      '--passphrase-file',
      pass,
      '--cert',
      CERT_PEM,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^shrTok set for uid=user2 on uid=user2,ou=People,dc=example,dc=com \(rsa-pkcs1v15; read back\)$/m,
    );
    assert.ok(!r.stdout.includes('Secret.123') && !r.stderr.includes('Secret.123'));
    const dn = `uid=user2,${PEOPLE}`;
    assert.ok((await attr(dn, 'objectClass')).includes('extensibleObject'));
    const [value] = await attr(dn, 'shrTok');
    assert.ok(value && /^[A-Za-z0-9+/]+=*$/.test(value), 'one line of base64');
    assert.equal(await decryptStored(key, value, 'rsa-pkcs1v15'), 'Secret.123');
  });

  it('--generate --oaep with the key: 0600 file, nothing on the terminal, decrypts with OAEP only', async () => {
    const out = `${env.tmp.path}/user3.generated`;
    const r = await runToken([
      'set',
      ...env.conn,
      '--uid',
      'user3',
      '--users-base',
      PEOPLE,
      '--generate',
      '--length',
      '32',
      '--out',
      out,
      '--key-pem',
      KEY_PEM,
      '--oaep',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(rsa-oaep-sha256; decrypted with the key before writing, read back\)/);
    assert.match(r.stdout, /passphrase written to .*user3\.generated \(mode 0600\)/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const passphrase = readFileSync(out, 'utf8').trimEnd();
    assert.match(passphrase, /^[A-Za-z0-9]{32}$/);
    assert.ok(!r.stdout.includes(passphrase) && !r.stderr.includes(passphrase), 'never printed');
    const [value] = await attr(`uid=user3,${PEOPLE}`, 'shrTok');
    assert.equal(await decryptStored(key, value ?? '', 'rsa-oaep-sha256'), passphrase);
    await assert.rejects(decryptStored(key, value ?? '', 'rsa-pkcs1v15'));
    // An existing --out file is never overwritten, and the entry keeps its token.
    const again = await runToken([
      'set',
      ...env.conn,
      '--uid',
      'user3',
      '--users-base',
      PEOPLE,
      '--generate',
      '--out',
      out,
      '--cert',
      CERT_PEM,
    ]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /--out .*user3\.generated exists; it is never overwritten/);
    assert.equal(readFileSync(out, 'utf8').trimEnd(), passphrase);
    assert.deepEqual(await attr(`uid=user3,${PEOPLE}`, 'shrTok'), [value]);
  });

  it('sets revShrTok for a serial (0x-hex in, decimal DN), replacing the old one and keeping other metaInfo', async () => {
    const pass = env.tmp.file('rev.pass', 'Revoke.Me.42');
    const r = await runToken([
      'set',
      ...env.conn,
      '--serial',
      '0x1234',
      '--cert-repository-base',
      CERT_REPO,
      '--passphrase-file',
      pass,
      '--key-pem',
      KEY_PEM,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /metaInfo revShrTok set for serial 4660 on cn=4660,ou=certificateRepository/);
    const metaInfo = await attr(`cn=4660,${CERT_REPO}`, 'metaInfo');
    assert.deepEqual(metaInfo.filter((v) => !v.startsWith('revShrTok:')).sort(), [
      'profileId:caFullCMCSharedTokenCert',
      'requestId:12',
    ]);
    const rev = metaInfo.filter((v) => v.startsWith('revShrTok:'));
    assert.equal(rev.length, 1);
    assert.notEqual(rev[0], 'revShrTok:OLDVALUE');
    assert.equal(
      await decryptStored(key, (rev[0] ?? '').slice('revShrTok:'.length), 'rsa-pkcs1v15'),
      'Revoke.Me.42',
    );
    // A record without an earlier value just gains one.
    const first = await runToken([
      'set',
      ...env.conn,
      '--serial',
      '77',
      '--cert-repository-base',
      CERT_REPO,
      '--passphrase-file',
      pass,
      '--cert',
      CERT_PEM,
    ]);
    assert.equal(first.code, 0, first.stderr);
    const rec77 = await attr(`cn=77,${CERT_REPO}`, 'metaInfo');
    assert.equal(rec77.length, 2);
    assert.ok(rec77.includes('requestId:13'));
  });

  it('refuses an unknown uid, a uid held by two entries, and a missing cert record (exit 1, nothing written)', async () => {
    const pass = env.tmp.file('x.pass', 'whatever-pass');
    const base = [
      'set',
      ...env.conn,
      '--users-base',
      'dc=example,dc=com',
      '--passphrase-file',
      pass,
      '--cert',
      CERT_PEM,
    ];
    const none = await runToken([...base, '--uid', 'nobody']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no entry has uid=nobody under dc=example,dc=com/);
    const twins = await runToken([...base, '--uid', 'twin']);
    assert.equal(twins.code, 1);
    assert.match(twins.stderr, /2 entries have uid=twin/);
    assert.deepEqual(await attr(`uid=twin,${PEOPLE}`, 'shrTok'), []);
    const injected = await runToken([...base, '--uid', 'user*']);
    assert.equal(injected.code, 1);
    assert.match(injected.stderr, /no entry has uid=user\*/, 'the uid is escaped, not a wildcard');
    const noRecord = await runToken([
      'set',
      ...env.conn,
      '--serial',
      '999',
      '--cert-repository-base',
      CERT_REPO,
      '--passphrase-file',
      pass,
      '--cert',
      CERT_PEM,
    ]);
    assert.equal(noRecord.code, 1);
    assert.match(noRecord.stderr, /entry cn=999,ou=certificateRepository.* does not exist/);
  });

  it('says to install the schema when the server does not know shrTok', async () => {
    const bare = await startSlapd({ syncprov: false });
    try {
      const pw = env.tmp.file('bare.pw', ADMIN_PASSWORD);
      const pass = env.tmp.file('bare.pass', 'whatever-pass');
      const r = await runToken([
        'set',
        '--url',
        bare.url,
        '--bind-dn',
        ADMIN_DN,
        '--password-file',
        pw,
        '--uid',
        'user1',
        '--users-base',
        PEOPLE,
        '--passphrase-file',
        pass,
        '--cert',
        CERT_PEM,
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /does not know the shrTok attribute: run `shrtok-proxy schema install` first/);
    } finally {
      await bare.destroy();
    }
  });

  it('usage errors exit 2 with one line', async () => {
    // A refused --generate must not create its --out file.
    const refusedOut = `${env.tmp.path}/refused-out`;
    const cases: Array<[string[], RegExp]> = [
      [
        ['set', ...env.conn, '--uid', 'a', '--serial', '1', '--cert', CERT_PEM],
        /exactly one of --uid or --serial/,
      ],
      [
        ['set', ...env.conn, '--uid', 'a', '--users-base', PEOPLE, '--generate', '--cert', CERT_PEM],
        /--generate needs --out/,
      ],
      [
        [
          'set',
          ...env.conn,
          '--uid',
          'a',
          '--users-base',
          PEOPLE,
          '--passphrase-file',
          '/nonexistent',
          '--cert',
          CERT_PEM,
        ],
        /cannot read passphrase file \/nonexistent: ENOENT/,
      ],
      [
        [
          'set',
          ...env.conn,
          '--uid',
          'a',
          '--users-base',
          PEOPLE,
          '--generate',
          '--out',
          refusedOut,
          '--length',
          '4',
          '--cert',
          CERT_PEM,
        ],
        /--length: 4 is below the minimum 12/,
      ],
      [
        ['set', ...env.conn, '--uid', 'a', '--users-base', PEOPLE, '--passphrase-file', KEY_PEM],
        /give --cert ISSUANCE.pem or a key/,
      ],
      [
        [
          'set',
          ...env.conn,
          '--serial',
          'abc',
          '--cert-repository-base',
          CERT_REPO,
          '--passphrase-file',
          KEY_PEM,
          '--cert',
          CERT_PEM,
        ],
        /serial "abc" is not a decimal/,
      ],
    ];
    // --cert must be an RSA certificate, and the key flags must hold the same key when both are given.
    const ec = await makeTestPki();
    const other = `${env.tmp.path}/other-rsa.pem`;
    const made = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${env.tmp.path}/other.key`,
      '-out',
      other,
      '-subj',
      '/CN=other',
      '-days',
      '1',
    ]);
    assert.equal(made.code, 0, made.stderr);
    const pass = env.tmp.file('u.pass', 'some-passphrase');
    const single = ['set', ...env.conn, '--uid', 'user5', '--users-base', PEOPLE, '--passphrase-file', pass];
    const badHeader = env.tmp.file('bad.csv', 'user,passphrase\nalice,x\n');
    cases.push(
      [
        ['set', ...env.conn, '--from-csv', '/nonexistent.csv', '--cert', CERT_PEM],
        /cannot read \/nonexistent\.csv: ENOENT/,
      ],
      [
        ['set', ...env.conn, '--from-csv', badHeader, '--cert', CERT_PEM],
        /unknown column "user" \(columns: uid, serial, passphrase_file\)/,
      ],
      [[...single, '--cert', ec.certPath], /--cert .*: the issuance-protection key must be RSA/],
      [[...single, '--cert', other, '--key-pem', KEY_PEM], /--cert does not match the key/],
    );
    // In-process through the real command tree (the same runner main uses); one case as a real process too.
    for (const [args, message] of cases) {
      let stderr = '';
      const code = await runCommand(tokenCommand, args, { out: () => undefined, err: (t) => (stderr += t) });
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
      assert.equal(stderr.trim().split('\n').length, 1);
    }
    const [firstArgs, firstMessage] = cases[0] ?? [[], /x/];
    ec.destroy();
    const r = await runToken(firstArgs);
    assert.equal(r.code, 2);
    assert.match(r.stderr, firstMessage);
    assert.equal(existsSync(refusedOut), false);
  });
});
