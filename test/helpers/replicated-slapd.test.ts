import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startReplicatedPair } from './replicated-slapd.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE } from './slapd.js';
import { run, waitFor } from './run.js';

test('the replicated slapd pair converges in both directions', async () => {
  const [a, b] = await startReplicatedPair();
  try {
    const count = async (url: string, filter: string): Promise<number> => {
      const r = await run('ldapsearch', ['-x', '-LLL', '-H', url, '-b', PEOPLE, filter, 'dn']);
      return r.stdout.match(/^dn: /gm)?.length ?? 0;
    };
    await waitFor(async () => (await count(b.url, '(uid=user39)')) === 1, 20_000, 'initial replication to B');
    const modify = (url: string, uid: string, mail: string) =>
      run('ldapmodify', ['-x', '-H', url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
        input: `dn: uid=${uid},${PEOPLE}\nchangetype: modify\nreplace: mail\nmail: ${mail}\n`,
      });
    assert.equal((await modify(b.url, 'user1', 'changed-on-b@example.com')).code, 0);
    await waitFor(
      async () => (await count(a.url, '(mail=changed-on-b@example.com)')) === 1,
      10_000,
      'B to A',
    );
    assert.equal((await modify(a.url, 'user2', 'changed-on-a@example.com')).code, 0);
    await waitFor(
      async () => (await count(b.url, '(mail=changed-on-a@example.com)')) === 1,
      10_000,
      'A to B',
    );
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
});
