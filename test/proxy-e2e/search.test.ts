// Searches through the proxy and directly against slapd must give byte-identical ldapsearch output,
// exit codes and error messages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX } from '../helpers/slapd.js';
import { assertSame, both, startStack } from './fixture.js';
import type { Stack } from './fixture.js';

let stack: Stack;
// A referral object pointing at a closed loopback port: if anything chased it, it would fail visibly.
const REFERRAL_LDIF = `dn: ou=Remote,${SUFFIX}
objectClass: referral
objectClass: extensibleObject
ou: Remote
ref: ldap://127.0.0.1:1/ou=Remote,${SUFFIX}
`;

before(async () => {
  stack = await startStack({ extraLdif: REFERRAL_LDIF });
});
after(async () => {
  await stack?.stop();
});

const search = (...args: string[]) => both(stack, 'ldapsearch', ['-x', '-LLL', ...args]);

test('base-scope search of one user is byte-identical', async () => {
  const r = assertSame(await search('-b', `uid=user7,${PEOPLE}`, '-s', 'base'));
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^uid: user7$/m);
});

test('one-level search of People is byte-identical', async () => {
  const r = assertSame(await search('-b', PEOPLE, '-s', 'one', '(objectClass=*)'));
  assert.equal(r.stdout.match(/^dn: /gm)?.length, 41);
});

test('subtree search of the whole suffix is byte-identical', async () => {
  const r = assertSame(await search('-b', SUFFIX, '-s', 'sub'));
  assert.ok((r.stdout.match(/^dn: /gm)?.length ?? 0) >= 44);
});

test('attribute list (cn mail) is byte-identical', async () => {
  const r = assertSame(await search('-b', PEOPLE, '(uid=user1*)', 'cn', 'mail'));
  assert.match(r.stdout, /^mail: user13@example.com$/m);
  assert.doesNotMatch(r.stdout, /^sn: /m);
});

test('1.1 (no attributes) and operational attributes (+) are byte-identical', async () => {
  assertSame(await search('-b', PEOPLE, '(uid=user2)', '1.1'));
  const r = assertSame(await search('-b', `uid=user2,${PEOPLE}`, '-s', 'base', '+'));
  assert.match(r.stdout, /^entryUUID: /m);
});

test('types-only (-A) search is byte-identical', async () => {
  assertSame(await search('-A', '-b', PEOPLE, '(uid=user3)'));
});

test('substring and boolean filters are byte-identical', async () => {
  const r = assertSame(
    await search('-b', SUFFIX, '(&(objectClass=inetOrgPerson)(|(cn=User 1*)(sn=*9)))', 'uid'),
  );
  assert.match(r.stdout, /^uid: user19$/m);
});

test('binary jpegPhoto entry is byte-identical', async () => {
  const r = assertSame(await search('-b', `uid=photo,${PEOPLE}`, '-s', 'base', 'jpegPhoto'));
  assert.match(r.stdout, /^jpegPhoto:: \/9j\/4A/m);
});

test('binary value written to a file with -t is byte-identical', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-t-'));
  try {
    const r = await search('-t', '-T', dir, '-b', `uid=photo,${PEOPLE}`, '-s', 'base', 'jpegPhoto');
    assert.equal(r.proxied.code, 0, r.proxied.stderr);
    assert.equal(r.direct.code, 0, r.direct.stderr);
    const files = r.direct.stdout
      .match(/file:\/\/(\S+)/g)!
      .concat(r.proxied.stdout.match(/file:\/\/(\S+)/g)!);
    assert.equal(files.length, 2);
    const [a, b] = files.map((u) => readFileSync(u.slice('file://'.length)));
    assert.equal(a!.length, 260);
    assert.ok(a!.equals(b!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('root DSE is byte-identical', async () => {
  const r = assertSame(await search('-b', '', '-s', 'base', '+'));
  assert.match(r.stdout, /^namingContexts: dc=example,dc=com$/m);
});

test('paged results (-E pr=5/noprompt) are byte-identical', async () => {
  const r = assertSame(await search('-E', 'pr=5/noprompt', '-b', PEOPLE, '(uid=user*)', 'uid'));
  assert.equal(r.stdout.match(/^uid: /gm)?.length, 40);
  assert.match(r.stdout, /pagedresults: cookie=/);
});

test('size limit exceeded (-z 3) gives the same exit code and output', async () => {
  const r = assertSame(await search('-z', '3', '-b', PEOPLE, '(uid=user*)', 'uid'));
  assert.equal(r.code, 4);
  assert.match(r.stderr, /Size limit exceeded/);
});

test('noSuchObject gives the same exit code and stderr message', async () => {
  const r = assertSame(await search('-b', `ou=Nowhere,${SUFFIX}`, '(objectClass=*)'));
  assert.equal(r.code, 32);
  assert.match(r.stderr, /No such object/);
});

test('bad filter is rejected the same way', async () => {
  const r = assertSame(await search('-b', SUFFIX, '(uid=user1'));
  assert.notEqual(r.code, 0);
});

test('authenticated search as the service account is byte-identical', async () => {
  const r = assertSame(
    await search('-D', SERVICE_DN, '-w', SERVICE_PASSWORD, '-b', PEOPLE, '(uid=user5)', 'userPassword'),
  );
  assert.match(r.stdout, /^userPassword:: /m);
});

test('anonymous search cannot read userPassword, same as direct', async () => {
  const r = assertSame(await search('-b', PEOPLE, '(uid=user5)', 'userPassword'));
  assert.doesNotMatch(r.stdout, /userPassword/);
});

test('wrong password gives invalidCredentials (49) the same way', async () => {
  const r = assertSame(await search('-D', `uid=user5,${PEOPLE}`, '-w', 'wrong', '-b', PEOPLE));
  assert.equal(r.code, 49);
});

test('unsupported critical control (server-side sort) gives the same error', async () => {
  const r = assertSame(await search('-E', '!sss=uid', '-b', PEOPLE, '(uid=user*)', 'uid'));
  assert.notEqual(r.code, 0);
});

test('search as the rootdn with manageDsaIT control is byte-identical', async () => {
  assertSame(await search('-M', '-D', ADMIN_DN, '-w', ADMIN_PASSWORD, '-b', SUFFIX, '-s', 'one'));
});

test('continuation references are passed through, not chased', async () => {
  const r = assertSame(await search('-b', SUFFIX, '(ou=*)', 'ou'));
  assert.match(r.stdout, /^# refldap:\/\/127\.0\.0\.1:1\/ou=Remote,dc=example,dc=com\?\?sub$/m);
});

test('a referral result (10) for a base under the referral object is passed through', async () => {
  const r = assertSame(await search('-b', `cn=x,ou=Remote,${SUFFIX}`, '-s', 'base'));
  assert.equal(r.code, 10);
  assert.match(r.stdout + r.stderr, /ldap:\/\/127\.0\.0\.1:1\//);
});

test('manageDsaIT (-M) shows the referral object itself, identically', async () => {
  const r = assertSame(await search('-M', '-b', `ou=Remote,${SUFFIX}`, '-s', 'base', 'ref'));
  assert.match(r.stdout, /^ref: ldap:\/\/127\.0\.0\.1:1\//m);
});

test('the proxy is still running after all searches', () => {
  assert.ok(stack.proxy.alive, stack.proxy.stderr);
});
