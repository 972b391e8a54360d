import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ChangeWatcher } from '../../src/directory/index.js';
import type { DirectoryChange } from '../../src/directory/index.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { freePort, sleep, waitFor } from '../helpers/run.js';
import { ldapAdd, setToken, startTokenSlapd, token } from '../verify/fixtures.js';

describe('change watcher (RFC 4533 refreshAndPersist on a real slapd with syncprov)', () => {
  let slapd: Slapd;
  let watcher: ChangeWatcher;
  const seen: DirectoryChange[] = [];
  const events: string[] = [];

  before(async () => {
    slapd = await startTokenSlapd();
    watcher = new ChangeWatcher({
      url: slapd.url,
      bindDn: SERVICE_DN,
      password: Buffer.from(SERVICE_PASSWORD),
      bases: [PEOPLE],
      reconnectDelayMs: 100,
    });
    watcher.on('change', (c: DirectoryChange) => seen.push(c));
    watcher.on('up', () => events.push('up'));
    watcher.on('down', () => events.push('down'));
    assert.equal(await watcher.start(), 'syncrepl');
    await waitFor(async () => Promise.resolve(watcher.active), 5000, 'refresh to finish');
  });
  after(async () => {
    watcher.close();
    await slapd.destroy();
  });

  test('a modify made directly on slapd arrives with the entry DN and entryUUID', async () => {
    seen.length = 0;
    await setToken(slapd.url, `uid=alice,${PEOPLE}`, token('t05').token);
    await waitFor(
      async () => Promise.resolve(seen.some((c) => c.dn === `uid=alice,${PEOPLE}`)),
      5000,
      'change',
    );
    assert.match(seen.find((c) => c.dn === `uid=alice,${PEOPLE}`)!.uuid ?? '', /^[0-9a-f]{32}$/);
  });

  test('renames and deletes arrive; entries outside the watched base do not', async () => {
    seen.length = 0;
    await ldapAdd(
      slapd.url,
      `dn: ou=Other,${SUFFIX}\nchangetype: modify\nreplace: description\ndescription: x\n`,
      ADMIN_DN,
      ADMIN_PASSWORD,
      true,
    );
    await ldapAdd(
      slapd.url,
      `dn: uid=carol,${PEOPLE}\nchangetype: modrdn\nnewrdn: uid=carol2\ndeleteoldrdn: 0\n`,
      ADMIN_DN,
      ADMIN_PASSWORD,
      true,
    );
    await ldapAdd(slapd.url, `dn: uid=user3,${PEOPLE}\nchangetype: delete\n`, ADMIN_DN, ADMIN_PASSWORD, true);
    await waitFor(
      async () => Promise.resolve(seen.some((c) => c.dn === `uid=user3,${PEOPLE}`)),
      5000,
      'delete',
    );
    assert.ok(
      seen.some((c) => c.dn === `uid=carol2,${PEOPLE}` && c.uuid),
      'rename seen under the new DN with its uuid',
    );
    assert.ok(!seen.some((c) => c.dn.startsWith('ou=Other')), 'no change outside the base');
  });

  test('a backend restart is reported (down) and the subscription resumes (up) and keeps delivering', async () => {
    events.length = 0;
    await slapd.restart();
    await waitFor(
      async () => Promise.resolve(events.includes('down') && watcher.active),
      10_000,
      'resubscribe',
    );
    seen.length = 0;
    await setToken(slapd.url, `uid=bob,${PEOPLE}`, token('t01').token);
    await waitFor(
      async () => Promise.resolve(seen.some((c) => c.dn === `uid=bob,${PEOPLE}`)),
      5000,
      'change after restart',
    );
    assert.deepEqual(events.slice(0, 2), ['down', 'up']);
  });
});

test('a backend without either mechanism is refused at start', async () => {
  const slapd = await startTokenSlapd({ syncprov: false });
  try {
    const w = new ChangeWatcher({ url: slapd.url, bases: [PEOPLE] });
    await assert.rejects(w.start(), /neither syncrepl nor persistent search/);
    w.close();
  } finally {
    await slapd.destroy();
  }
});

test('the watcher subscribes to the next backend when the first cannot be reached', async () => {
  const slapd = await startTokenSlapd();
  const w = new ChangeWatcher({
    url: `ldap://127.0.0.1:${await freePort()}`,
    fallbackUrls: [slapd.url],
    bindDn: SERVICE_DN,
    password: Buffer.from(SERVICE_PASSWORD),
    bases: [PEOPLE],
  });
  try {
    assert.equal(await w.start(), 'syncrepl');
    await waitFor(async () => Promise.resolve(w.active), 5000, 'subscription');
  } finally {
    w.close();
    await slapd.destroy();
  }
});

test('a backend that accepts but never answers makes start() fail in time, not hang', async () => {
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const { port } = silent.address() as AddressInfo;
  const w = new ChangeWatcher({ url: `ldap://127.0.0.1:${port}`, bases: [PEOPLE], operationTimeoutMs: 300 });
  try {
    await assert.rejects(w.start(), /did not answer in time/);
  } finally {
    w.close();
    silent.close();
  }
});

test('a base the server refuses to watch stops the watcher instead of resubscribing in a loop', async () => {
  const slapd = await startTokenSlapd();
  const w = new ChangeWatcher({
    url: slapd.url,
    bindDn: SERVICE_DN,
    password: Buffer.from(SERVICE_PASSWORD),
    bases: [PEOPLE, 'ou=missing,dc=example,dc=com'],
    reconnectDelayMs: 50,
  });
  const refused: { base: string; code: number }[] = [];
  w.on('refused', (r: { base: string; code: number }) => refused.push(r));
  try {
    await w.start();
    await waitFor(async () => Promise.resolve(refused.length > 0), 5000, 'refusal');
    assert.deepEqual(refused, [{ base: 'ou=missing,dc=example,dc=com', code: 32 }]);
    await sleep(300);
    assert.equal(w.active, false);
    assert.equal(refused.length, 1, 'no resubscription');
  } finally {
    w.close();
    await slapd.destroy();
  }
});
