// After a virtual bind, later operations reach the backend anonymously (default) or, with
// --virtual-bind-authz proxy, as the service DN carrying RFC 4370 proxied authorization for the entry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ADMIN_DN,
  ADMIN_PASSWORD,
  CONFIG_DN,
  CONFIG_PASSWORD,
  PEOPLE,
  SERVICE_DN,
  SERVICE_PASSWORD,
} from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { makeTestPki } from '../helpers/tls.js';
import type { TestPki } from '../helpers/tls.js';
import { run } from '../helpers/run.js';
import { ldapAdd, passphraseOf, startTokenSlapd, verificationArgs } from './fixtures.js';

let slapd: Slapd;
let pki: TestPki;
let dir: string;
const proxies: ProxyProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrtok-authz-'));
  writeFileSync(join(dir, 'svc.pw'), SERVICE_PASSWORD);
  writeFileSync(join(dir, 'alice.pw'), passphraseOf('t01'));
  [slapd, pki] = await Promise.all([startTokenSlapd(), makeTestPki()]);
  // The service account may act for anyone under ou=People (slapd authz-policy "to" + authzTo).
  await ldapAdd(
    slapd.url,
    'dn: cn=config\nchangetype: modify\nreplace: olcAuthzPolicy\nolcAuthzPolicy: to\n',
    CONFIG_DN,
    CONFIG_PASSWORD,
    true,
  );
  await ldapAdd(
    slapd.url,
    `dn: ${SERVICE_DN}\nchangetype: modify\nadd: authzTo\nauthzTo: dn.subtree:${PEOPLE}\n`,
    ADMIN_DN,
    ADMIN_PASSWORD,
    true,
  );
});
after(async () => {
  for (const p of proxies) await p.stop();
  await slapd?.destroy();
  pki?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function proxy(authz: 'anonymous' | 'proxy'): Promise<string> {
  const p = await startProxy({
    backends: [slapd.url],
    tlsCertPath: pki.certPath,
    tlsKeyPath: pki.keyPath,
    extraArgs: [
      ...verificationArgs({ passwordFile: join(dir, 'svc.pw') }),
      '--virtual-bind-authz',
      authz,
      '--log-level',
      'warn',
    ],
  });
  proxies.push(p);
  return p.listening[0]!;
}

/** As alice (virtual bind), set the description of `uid` over StartTLS; returns ldapmodify's exit code. */
async function setDescription(url: string, uid: string): Promise<{ code: number; err: string }> {
  const r = await run(
    'ldapmodify',
    ['-x', '-ZZ', '-H', url, '-D', 'uid=alice,cn=shared-token', '-y', join(dir, 'alice.pw')],
    {
      env: { ...process.env, LDAPTLS_CACERT: pki.caCertPath },
      input: `dn: uid=${uid},${PEOPLE}\nchangetype: modify\nreplace: description\ndescription: set by alice\n`,
    },
  );
  return { code: r.code ?? -1, err: r.stderr };
}

/** The entry's description as stored in the backend (read directly, not through the proxy). */
function storedDescription(uid: string): ReturnType<typeof run> {
  return run('ldapsearch', [
    '-x',
    '-LLL',
    '-H',
    slapd.url,
    '-b',
    `uid=${uid},${PEOPLE}`,
    '-s',
    'base',
    'description',
  ]);
}

test('authz proxy: operations act as the matched entry (self write allowed, others refused)', async () => {
  const url = await proxy('proxy');
  const self = await setDescription(url, 'alice');
  assert.equal(self.code, 0, self.err);
  const other = await setDescription(url, 'bob');
  assert.equal(other.code, 50, other.err);
  const who = await run(
    'ldapwhoami',
    ['-x', '-ZZ', '-H', url, '-D', 'uid=alice,cn=shared-token', '-y', join(dir, 'alice.pw')],
    {
      env: { ...process.env, LDAPTLS_CACERT: pki.caCertPath },
    },
  );
  assert.equal(who.stdout.trim(), `dn:uid=alice,${PEOPLE}`);
  const check = await storedDescription('alice');
  assert.match(check.stdout, /^description: set by alice$/m);
});

test('authz anonymous (default): operations after a virtual bind are anonymous at the backend', async () => {
  const url = await proxy('anonymous');
  // slapd refuses writes from anonymous connections with strongerAuthRequired (8).
  const r = await setDescription(url, 'bob');
  assert.equal(r.code, 8, r.err);
  const check = await storedDescription('bob');
  assert.doesNotMatch(check.stdout, /description/);
});
