import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_DN, ADMIN_PASSWORD, startSlapd, USER_COUNT, PEOPLE } from './slapd.js';
import { run } from './run.js';

test('the test slapd starts with the default DIT and answers real clients', async () => {
  const slapd = await startSlapd();
  try {
    const r = await run('ldapsearch', [
      '-x',
      '-LLL',
      '-H',
      slapd.url,
      '-b',
      PEOPLE,
      '-s',
      'one',
      '(uid=user*)',
      'uid',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/^uid: user\d+$/gm)?.length, USER_COUNT);
    const who = await run('ldapwhoami', ['-x', '-H', slapd.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD]);
    assert.equal(who.stdout.trim(), `dn:${ADMIN_DN}`);
  } finally {
    await slapd.destroy();
  }
});
