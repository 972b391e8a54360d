// The change watcher against a real 389 Directory Server: persistent search (2.16.840.1.113730.3.4.3)
// with Entry Change Notification controls, chosen automatically from the root DSE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeWatcher } from '../../src/directory/index.js';
import type { DirectoryChange } from '../../src/directory/index.js';
import { DS_PEOPLE, DS_ROOT_DN, DS_ROOT_PASSWORD, tryStartDs389 } from '../helpers/ds389.js';
import { waitFor } from '../helpers/run.js';

test('389-DS: add, modify, rename and delete arrive through a persistent search', async (t) => {
  const { ds, skipReason } = await tryStartDs389();
  if (!ds) {
    t.skip(skipReason);
    return;
  }
  const watcher = new ChangeWatcher({
    url: ds.url,
    bindDn: DS_ROOT_DN,
    password: Buffer.from(DS_ROOT_PASSWORD),
    bases: [DS_PEOPLE],
  });
  const seen: DirectoryChange[] = [];
  watcher.on('change', (c: DirectoryChange) => seen.push(c));
  try {
    assert.equal(await watcher.start(), 'psearch');
    assert.ok(watcher.active);
    const dn = `uid=pat,${DS_PEOPLE}`;
    const has = (pred: (c: DirectoryChange) => boolean, what: string) =>
      waitFor(async () => Promise.resolve(seen.some(pred)), 10_000, what);
    await ds.ldif('ldapadd', `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: pat\ncn: Pat\nsn: Pat\n`);
    await has((c) => c.dn.toLowerCase() === dn.toLowerCase(), 'add');
    seen.length = 0;
    await ds.ldif('ldapmodify', `dn: ${dn}\nchangetype: modify\nreplace: description\ndescription: x\n`);
    await has((c) => c.dn.toLowerCase() === dn.toLowerCase(), 'modify');
    seen.length = 0;
    await ds.ldif('ldapmodify', `dn: ${dn}\nchangetype: modrdn\nnewrdn: uid=pat2\ndeleteoldrdn: 1\n`);
    await has((c) => c.previousDn?.toLowerCase() === dn.toLowerCase(), 'rename with the previous DN');
    seen.length = 0;
    await ds.ldif('ldapmodify', `dn: uid=pat2,${DS_PEOPLE}\nchangetype: delete\n`);
    await has((c) => c.dn.toLowerCase() === `uid=pat2,${DS_PEOPLE}`.toLowerCase(), 'delete');
  } finally {
    watcher.close();
    await ds.destroy();
  }
});
