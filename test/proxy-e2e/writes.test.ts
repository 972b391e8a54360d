// Write operations and the other ldap-utils through the proxy behave exactly as against slapd, and what they
// change is visible on slapd directly. Twin entries (p-* through the proxy, d-* directly) keep runs comparable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SUFFIX } from '../helpers/slapd.js';
import { assertSame, both, ldapTool, startStack } from './fixture.js';
import type { Stack } from './fixture.js';
import type { RunResult } from '../helpers/run.js';

let stack: Stack;
before(async () => {
  // the most verbose log level, so the secrets check at the end sees everything the proxy can log
  stack = await startStack({}, { extraArgs: ['--log-level', 'trace'] });
});
after(async () => {
  await stack?.stop();
});

const ADMIN = ['-x', '-D', ADMIN_DN, '-w', ADMIN_PASSWORD];
const person = (uid: string, extra = '') =>
  `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: Twin\nuserPassword: pw-${uid}\n${extra}`;

/** Runs the command built for name `p-<base>` through the proxy and `d-<base>` directly. */
async function twins(
  tool: string,
  base: string,
  args: (name: string) => string[],
  input?: (name: string) => string,
): Promise<{ direct: RunResult; proxied: RunResult }> {
  const direct = await ldapTool(tool, stack.slapd.url, args(`d-${base}`), { input: input?.(`d-${base}`) });
  const proxied = await ldapTool(tool, stack.proxy.url(), args(`p-${base}`), { input: input?.(`p-${base}`) });
  return { direct, proxied };
}

/** Twin outputs agree once the twin names are swapped. */
function assertTwins(r: { direct: RunResult; proxied: RunResult }, base: string): RunResult {
  const norm = (s: string) => s.replaceAll(`p-${base}`, `d-${base}`);
  assert.equal(r.proxied.code, r.direct.code, `exit code differs; proxied stderr: ${r.proxied.stderr}`);
  assert.equal(norm(r.proxied.stdout), r.direct.stdout);
  assert.equal(norm(r.proxied.stderr), r.direct.stderr);
  return r.direct;
}

/** What slapd itself holds for an entry (direct connection, as the rootdn). */
async function directRead(dn: string, ...attrs: string[]): Promise<RunResult> {
  return ldapTool('ldapsearch', stack.slapd.url, [...ADMIN, '-LLL', '-b', dn, '-s', 'base', ...attrs]);
}

test('ldapadd through the proxy behaves as direct and the entry lands on slapd', async () => {
  const r = assertTwins(
    await twins(
      'ldapadd',
      'add',
      () => ADMIN,
      (n) => person(n),
    ),
    'add',
  );
  assert.equal(r.code, 0);
  const seen = await directRead(`uid=p-add,${PEOPLE}`, 'sn');
  assert.equal(seen.code, 0, seen.stderr);
  assert.match(seen.stdout, /^sn: Twin$/m);
});

test('ldapadd of an existing entry gives the same alreadyExists (68)', async () => {
  const r = assertSame(await both(stack, 'ldapadd', ADMIN, { input: person('user1') }));
  assert.equal(r.code, 68);
});

test('ldapadd with a binary value stores the exact bytes', async () => {
  const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff));
  const extra = `jpegPhoto:: ${bytes.toString('base64')}\n`;
  assertTwins(
    await twins(
      'ldapadd',
      'bin',
      () => ADMIN,
      (n) => person(n, extra),
    ),
    'bin',
  );
  const seen = await directRead(`uid=p-bin,${PEOPLE}`, 'jpegPhoto');
  const b64 = seen.stdout.replace(/\n /g, '').match(/^jpegPhoto:: (\S+)$/m)?.[1];
  assert.ok(b64, seen.stdout);
  assert.ok(Buffer.from(b64, 'base64').equals(bytes));
});

test('ldapmodify (replace) through the proxy behaves as direct and is visible on slapd', async () => {
  const ldif = (n: string) =>
    `dn: uid=${n},${PEOPLE}\nchangetype: modify\nreplace: mail\nmail: ${n}@changed\n`;
  await twins(
    'ldapadd',
    'mod',
    () => ADMIN,
    (n) => person(n),
  );
  const r = assertTwins(await twins('ldapmodify', 'mod', () => ADMIN, ldif), 'mod');
  assert.equal(r.code, 0);
  assert.match((await directRead(`uid=p-mod,${PEOPLE}`, 'mail')).stdout, /^mail: p-mod@changed$/m);
});

test('ldapmodify as the user itself (self write) works through the proxy', async () => {
  const ldif = `dn: uid=user12,${PEOPLE}\nchangetype: modify\nreplace: description\ndescription: self-edit\n`;
  const r = await ldapTool(
    'ldapmodify',
    stack.proxy.url(),
    ['-x', '-D', `uid=user12,${PEOPLE}`, '-w', 'pass12'],
    {
      input: ldif,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match((await directRead(`uid=user12,${PEOPLE}`, 'description')).stdout, /^description: self-edit$/m);
});

test('ldapmodify with an undefined attribute gives the same error', async () => {
  const ldif = `dn: uid=user2,${PEOPLE}\nchangetype: modify\nadd: noSuchAttr\nnoSuchAttr: x\n`;
  const r = assertSame(await both(stack, 'ldapmodify', ADMIN, { input: ldif }));
  assert.notEqual(r.code, 0);
});

test('anonymous ldapmodify is refused the same way', async () => {
  const ldif = `dn: uid=user2,${PEOPLE}\nchangetype: modify\nreplace: cn\ncn: nope\n`;
  const r = assertSame(await both(stack, 'ldapmodify', ['-x'], { input: ldif }));
  assert.notEqual(r.code, 0);
});

test('several changes in one ldapmodify stream behave as direct', async () => {
  const ldif = (n: string) =>
    [
      person(n),
      `dn: uid=${n},${PEOPLE}\nchangetype: modify\nadd: description\ndescription: one\n-\nadd: mail\nmail: ${n}@x\n`,
      `dn: uid=${n},${PEOPLE}\nchangetype: delete\n`,
    ].join('\n');
  const r = assertTwins(await twins('ldapmodify', 'multi', () => [...ADMIN, '-a'], ldif), 'multi');
  assert.equal(r.code, 0);
  assert.equal((await directRead(`uid=p-multi,${PEOPLE}`)).code, 32);
});

test('ldapmodrdn through the proxy behaves as direct and slapd shows the new name', async () => {
  await twins(
    'ldapadd',
    'ren',
    () => ADMIN,
    (n) => person(n),
  );
  const r = assertTwins(
    await twins('ldapmodrdn', 'ren', (n) => [...ADMIN, '-r', `uid=${n},${PEOPLE}`, `uid=${n}-new`]),
    'ren',
  );
  assert.equal(r.code, 0);
  assert.equal((await directRead(`uid=p-ren-new,${PEOPLE}`)).code, 0);
  assert.equal((await directRead(`uid=p-ren,${PEOPLE}`)).code, 32);
});

test('ldapmodrdn with a new superior moves the entry on slapd', async () => {
  await twins(
    'ldapadd',
    'mv',
    () => ADMIN,
    (n) => person(n),
  );
  const r = assertTwins(
    await twins('ldapmodrdn', 'mv', (n) => [
      ...ADMIN,
      '-s',
      `ou=Groups,${SUFFIX}`,
      `uid=${n},${PEOPLE}`,
      `uid=${n}`,
    ]),
    'mv',
  );
  assert.equal(r.code, 0);
  assert.equal((await directRead(`uid=p-mv,ou=Groups,${SUFFIX}`)).code, 0);
});

test('ldapdelete through the proxy behaves as direct and the entry is gone on slapd', async () => {
  await twins(
    'ldapadd',
    'del',
    () => ADMIN,
    (n) => person(n),
  );
  const r = assertTwins(await twins('ldapdelete', 'del', (n) => [...ADMIN, `uid=${n},${PEOPLE}`]), 'del');
  assert.equal(r.code, 0);
  assert.equal((await directRead(`uid=p-del,${PEOPLE}`)).code, 32);
});

test('ldapdelete of a missing entry gives the same noSuchObject (32)', async () => {
  const r = assertSame(await both(stack, 'ldapdelete', [...ADMIN, `uid=ghost,${PEOPLE}`]));
  assert.equal(r.code, 32);
});

test('ldapcompare TRUE is identical (exit 6)', async () => {
  const r = assertSame(await both(stack, 'ldapcompare', ['-x', `uid=user3,${PEOPLE}`, 'cn:User 3']));
  assert.equal(r.code, 6);
});

test('ldapcompare FALSE is identical (exit 5)', async () => {
  const r = assertSame(await both(stack, 'ldapcompare', ['-x', `uid=user3,${PEOPLE}`, 'cn:User 4']));
  assert.equal(r.code, 5);
});

test('ldapcompare with a base64 value and an undefined attribute are identical', async () => {
  assertSame(await both(stack, 'ldapcompare', ['-x', `uid=user3,${PEOPLE}`, 'sn::TnVtYmVyMw==']));
  const r = assertSame(await both(stack, 'ldapcompare', ['-x', `uid=user3,${PEOPLE}`, 'noSuchAttr:x']));
  assert.notEqual(r.code, 0);
});

test('ldapwhoami anonymous, as a user and as the rootdn is identical', async () => {
  assert.equal(assertSame(await both(stack, 'ldapwhoami', ['-x'])).stdout.trim(), 'anonymous');
  const u = assertSame(await both(stack, 'ldapwhoami', ['-x', '-D', `uid=user4,${PEOPLE}`, '-w', 'pass4']));
  assert.equal(u.stdout.trim(), `dn:uid=user4,${PEOPLE}`);
  assertSame(await both(stack, 'ldapwhoami', ADMIN));
});

test('ldappasswd by the user through the proxy changes the password on slapd', async () => {
  const dn = `uid=user20,${PEOPLE}`;
  const r = await ldapTool('ldappasswd', stack.proxy.url(), [
    '-x',
    '-D',
    dn,
    '-w',
    'pass20',
    '-a',
    'pass20',
    '-s',
    'new20',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const direct = await ldapTool('ldappasswd', stack.slapd.url, [
    '-x',
    '-D',
    `uid=user21,${PEOPLE}`,
    '-w',
    'pass21',
    '-a',
    'pass21',
    '-s',
    'new21',
  ]);
  assert.equal(r.stdout, direct.stdout);
  assert.equal((await ldapTool('ldapwhoami', stack.slapd.url, ['-x', '-D', dn, '-w', 'new20'])).code, 0);
  assert.equal((await ldapTool('ldapwhoami', stack.slapd.url, ['-x', '-D', dn, '-w', 'pass20'])).code, 49);
});

test('ldappasswd with a server-generated password returns it through the proxy', async () => {
  const dn = `uid=user22,${PEOPLE}`;
  const r = await ldapTool('ldappasswd', stack.proxy.url(), [...ADMIN, dn]);
  assert.equal(r.code, 0, r.stderr);
  const pw = /^New password: (\S+)$/m.exec(r.stdout)?.[1];
  assert.ok(pw, r.stdout);
  assert.equal((await ldapTool('ldapwhoami', stack.slapd.url, ['-x', '-D', dn, '-w', pw])).code, 0);
});

test('ldappasswd with a wrong old password gives the same error', async () => {
  const dn = `uid=user23,${PEOPLE}`;
  const r = assertSame(await both(stack, 'ldappasswd', [...ADMIN, '-a', 'not-it', '-s', 'x', dn]));
  assert.notEqual(r.code, 0);
});

test('the proxy is still running after all writes', () => {
  assert.ok(stack.proxy.alive, stack.proxy.stderr);
});

test('no password used in these tests appears in the proxy log, even at trace level', () => {
  const log = stack.proxy.stderr;
  assert.ok(log.length > 0);
  for (const secret of [ADMIN_PASSWORD, 'pass12', 'pass20', 'new20', 'pass23', 'pw-p-add']) {
    assert.equal(log.includes(secret), false, `"${secret}" found in the proxy log`);
  }
});
